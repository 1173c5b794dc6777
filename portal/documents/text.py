"""Plain text out of uploaded documents, for search and the personal-data guard.

Formats: DOCX (python-docx: body with tables, text boxes and tracked
deletions, headers, footers, footnotes, endnotes, comments), PDF (pypdf, every
page), TXT/CSV/TSV (UTF-8 with or without BOM, UTF-16 with BOM, else cp1252,
else latin-1), ODT/ODS (``content.xml`` and the header/footer styles) and XLSX
(shared strings and cell values). Images and anything else give no text.

Everything is bounded: the text is capped at :data:`MAX_TEXT_CHARS`, zip
containers are checked for their unpacked size before anything is read, PDFs
for their page count. Nothing here raises on a malformed or hostile file: the
result says what happened (:class:`Extraction`), and :func:`extract_text`
returns ``""`` for what could not be read.

Callers that *guard* something (the publication check) should use
:func:`extract` and treat a result that is not :attr:`Extraction.complete`, or
an empty text from a PDF (a scanned image without a text layer), as "not
checked" rather than "clean".
"""

from __future__ import annotations

import codecs
import logging
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from enum import StrEnum
from typing import IO

import docx
from lxml import etree
from pypdf import PdfReader

__all__ = [
    "MAX_TEXT_CHARS",
    "Extraction",
    "ExtractionStatus",
    "extract",
    "extract_text",
    "is_supported",
]

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 2_000_000
# A non-seekable stream is spooled to a temporary file up to this size.
MAX_INPUT_BYTES = 256 * 1024 * 1024
# Sum of the unpacked sizes of a zip container's members (zip-bomb guard).
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
# One XML part that is parsed as a whole tree (python-docx does so for DOCX).
MAX_XML_PART_BYTES = 64 * 1024 * 1024
MAX_ZIP_MEMBERS = 10_000
MAX_PDF_PAGES = 5_000

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
PDF = "application/pdf"
TEXT_TYPES = frozenset({"text/plain", "text/csv", "application/csv", "text/tab-separated-values"})

Source = str | os.PathLike[str] | IO[bytes]


class ExtractionStatus(StrEnum):
    OK = "ok"
    PARTIAL = "partial"  # text capped, or some pages/parts could not be read
    UNSUPPORTED = "unsupported"  # no text extraction for this type (images, ...)
    FAILED = "failed"  # malformed, encrypted or too large: no text


@dataclass(frozen=True, slots=True)
class Extraction:
    """The text of a document and how far it could be read; ``detail`` is for logs."""

    text: str
    status: ExtractionStatus
    detail: str = ""

    @property
    def complete(self) -> bool:
        """The whole document was read: nothing in it went unseen."""
        return self.status is ExtractionStatus.OK


def extract_text(stream_or_path: Source, content_type: str) -> str:
    """The plain text of a document, ``""`` if there is none or it cannot be read.

    A seekable stream is read from its start; it is not closed.
    """
    return extract(stream_or_path, content_type).text


def extract(
    stream_or_path: Source, content_type: str, *, max_chars: int = MAX_TEXT_CHARS
) -> Extraction:
    """Like :func:`extract_text`, with the status of the extraction."""
    media_type, charset = _parse_content_type(content_type)
    reader = _READERS.get(media_type)
    if reader is None:
        return Extraction("", ExtractionStatus.UNSUPPORTED, f"no text from {media_type or '?'}")
    sink = _Sink(max_chars)
    try:
        with ExitStack() as stack:
            fh = _open_seekable(stream_or_path, stack)
            reader(fh, sink, charset)
    except _Full:
        pass
    except Exception as exc:  # whatever a parser raises on a hostile file
        log.debug("text extraction of %s failed", media_type, exc_info=True)
        return Extraction("", ExtractionStatus.FAILED, f"{type(exc).__name__}: {exc}"[:300])
    text = sink.text()
    if sink.truncated:
        return Extraction(text, ExtractionStatus.PARTIAL, f"text capped at {max_chars} characters")
    if sink.problems:
        return Extraction(text, ExtractionStatus.PARTIAL, "; ".join(sink.problems)[:300])
    return Extraction(text, ExtractionStatus.OK)


def is_supported(content_type: str) -> bool:
    """Whether text can be extracted from this content type at all."""
    return _parse_content_type(content_type)[0] in _READERS


# --- plumbing ----------------------------------------------------------------


class _Full(Exception):
    """Raised by the sink when the text cap is reached, to stop reading early."""


class _TooLarge(ValueError):
    pass


class _Sink:
    """Collects text up to a cap."""

    def __init__(self, max_chars: int) -> None:
        self.remaining = max_chars
        self.parts: list[str] = []
        self.truncated = False
        self.problems: list[str] = []

    def add(self, s: str) -> None:
        if len(s) > self.remaining:
            self.parts.append(s[: self.remaining])
            self.remaining = 0
            self.truncated = True
            raise _Full
        self.parts.append(s)
        self.remaining -= len(s)

    def line(self, s: str) -> None:
        if s.strip():
            self.add(s.rstrip() + "\n")

    def text(self) -> str:
        return "".join(self.parts)


def _parse_content_type(content_type: str) -> tuple[str, str | None]:
    media_type, *params = (content_type or "").split(";")
    charset = None
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower() or None
    return media_type.strip().lower(), charset


def _open_seekable(source: Source, stack: ExitStack) -> IO[bytes]:
    if isinstance(source, str | os.PathLike):
        return stack.enter_context(open(source, "rb"))
    if _seekable(source):
        source.seek(0)
        return source
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    stack.enter_context(spool)  # closed (and deleted) with the stack
    copied = 0
    while chunk := source.read(1024 * 1024):
        copied += len(chunk)
        if copied > MAX_INPUT_BYTES:
            raise _TooLarge(f"stream larger than {MAX_INPUT_BYTES} bytes")
        spool.write(chunk)
    spool.seek(0)
    return spool  # type: ignore[return-value]


def _seekable(stream: IO[bytes]) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, OSError, ValueError):
        return False


# --- plain text ----------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _read_plain(fh: IO[bytes], sink: _Sink, charset: str | None) -> None:
    # Enough bytes for the cap in any encoding, and one more to know it was cut.
    limit = sink.remaining * 4 + 4
    data = fh.read(limit + 1)
    cut = len(data) > limit
    data = data[:limit]
    sink.add(_decode(data, charset, final=not cut).replace("\x00", ""))
    if cut:
        sink.truncated = True


def _decode(data: bytes, charset: str | None, *, final: bool) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _decode_with(data[len(bom) :], encoding, final=final, errors="replace")
    declared = _codec_name(charset)
    # A declared ASCII/Latin-1/UTF-8 adds nothing to the default order (and
    # "iso-8859-1" from a sniffer usually means cp1252 anyway).
    candidates = [] if declared in (None, *_DEFAULT_FAMILY) else [declared]
    candidates += ["utf-8", "cp1252"]
    for encoding in candidates:
        try:
            return _decode_with(data, encoding, final=final, errors="strict")
        except UnicodeDecodeError:
            continue
    # latin-1 maps every byte: the last resort never fails.
    return data.decode("latin-1")


def _decode_with(data: bytes, encoding: str, *, final: bool, errors: str) -> str:
    # Incremental, so a multi-byte character cut by the read limit is not an error.
    return codecs.getincrementaldecoder(encoding)(errors=errors).decode(data, final=final)


_DEFAULT_FAMILY = ("ascii", "utf-8", "iso8859-1", "cp1252")


def _codec_name(charset: str | None) -> str | None:
    if not charset:
        return None
    try:
        return codecs.lookup(charset).name
    except LookupError:
        return None


# --- PDF -------------------------------------------------------------------------


def _read_pdf(fh: IO[bytes], sink: _Sink, _charset: str | None) -> None:
    reader = PdfReader(fh, strict=False)
    if reader.is_encrypted and not reader.decrypt(""):
        raise ValueError("encrypted PDF")
    pages = reader.pages
    count = len(pages)
    if count > MAX_PDF_PAGES:
        sink.problems.append(f"only the first {MAX_PDF_PAGES} of {count} pages read")
    failed = 0
    for index in range(min(count, MAX_PDF_PAGES)):
        try:
            page_text = pages[index].extract_text()
        except Exception:  # one broken page must not hide the others
            failed += 1
            continue
        sink.add(page_text.rstrip() + "\n" if page_text.strip() else "")
    if failed:
        sink.problems.append(f"{failed} of {count} pages could not be read")


# --- zip containers --------------------------------------------------------------

_XML_PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
}


def _checked_zip(fh: IO[bytes]) -> zipfile.ZipFile:
    zf = zipfile.ZipFile(fh)
    members = zf.infolist()
    if len(members) > MAX_ZIP_MEMBERS:
        raise _TooLarge(f"{len(members)} zip members")
    unpacked = sum(m.file_size for m in members)
    if unpacked > MAX_UNPACKED_BYTES:
        raise _TooLarge(f"{unpacked} bytes unpacked")
    return zf


def _iterparse(
    zf: zipfile.ZipFile, name: str, tags: Iterable[str], events: tuple[str, ...] = ("end",)
) -> Iterator[tuple[str, etree._Element]]:
    with zf.open(name) as member:
        yield from etree.iterparse(member, events=events, tag=list(tags), **_XML_PARSER_OPTIONS)


def _release(el: etree._Element) -> None:
    """Free a processed element and its earlier siblings during iterparse."""
    el.clear(keep_tail=True)
    parent = el.getparent()
    while parent is not None and el.getprevious() is not None:
        del parent[0]


# --- DOCX ------------------------------------------------------------------------

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_WML = "application/vnd.openxmlformats-officedocument.wordprocessingml."
_DOCX_STORY_PARTS = tuple(
    _WML + kind + "+xml" for kind in ("header", "footer", "footnotes", "endnotes", "comments")
)
_DOCX_TEXT = {_W + "t", _W + "delText"}
_DOCX_CHARS = {
    _W + "tab": "\t",
    _W + "ptab": "\t",
    _W + "br": "\n",
    _W + "cr": "\n",
    # Typed as Ctrl+Shift+- a hyphen is an element, not a character, e.g. in 191212‑1212.
    _W + "noBreakHyphen": "-",
}


def _read_docx(fh: IO[bytes], sink: _Sink, _charset: str | None) -> None:
    with _checked_zip(fh) as zf:
        for member in zf.infolist():
            if member.filename.endswith(".xml") and member.file_size > MAX_XML_PART_BYTES:
                raise _TooLarge(f"{member.filename}: {member.file_size} bytes")
    fh.seek(0)
    main = docx.Document(fh).part  # refuses anything but a WordprocessingML document
    others = [
        part
        for part in main.package.iter_parts()
        if part is not main and part.content_type in _DOCX_STORY_PARTS
    ]
    for part in [main, *others]:
        element = getattr(part, "element", None)
        if element is None:
            element = etree.fromstring(part.blob, etree.XMLParser(**_XML_PARSER_OPTIONS))
        _emit_paragraphs(element, _W + "p", _render_docx, sink)


def _render_docx(el: etree._Element, out: list[str]) -> None:
    tag = el.tag
    if tag in _DOCX_TEXT:
        out.append(el.text or "")
    elif tag in _DOCX_CHARS:
        out.append(_DOCX_CHARS[tag])
    elif tag == _MC_FALLBACK:
        return  # the same content as the mc:Choice next to it
    else:
        nested = tag == _W + "p"
        if nested:
            out.append("\n")
        for child in el:
            _render_docx(child, out)
        if nested:
            out.append("\n")


def _emit_paragraphs(
    root: etree._Element,
    paragraph_tag: str,
    render: Callable[[etree._Element, list[str]], None],
    sink: _Sink,
) -> None:
    """Emit each outermost paragraph of a parsed tree as a line."""
    for paragraph in root.iter(paragraph_tag):
        if next(paragraph.iterancestors(paragraph_tag), None) is not None:
            continue  # rendered within its outer paragraph
        out: list[str] = []
        for child in paragraph:
            render(child, out)
        sink.line("".join(out))


# --- ODF (ODT, ODS) --------------------------------------------------------------

_TEXT_NS = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_OFFICE_NS = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_ODF_PARAGRAPHS = (_TEXT_NS + "p", _TEXT_NS + "h")


def _read_odf(fh: IO[bytes], sink: _Sink, _charset: str | None) -> None:
    with _checked_zip(fh) as zf:
        names = set(zf.namelist())
        if "content.xml" not in names:
            raise ValueError("no content.xml")
        _emit_odf(zf, "content.xml", sink)
        if "styles.xml" in names:
            # Headers and footers live in the master pages of styles.xml.
            _emit_odf(zf, "styles.xml", sink, within=_OFFICE_NS + "master-styles")


def _emit_odf(zf: zipfile.ZipFile, name: str, sink: _Sink, within: str | None = None) -> None:
    depth = 0
    tags = [*_ODF_PARAGRAPHS, within] if within else _ODF_PARAGRAPHS
    inside = within is None
    for event, el in _iterparse(zf, name, tags, events=("start", "end")):
        if el.tag == within:
            inside = event == "start"
            continue
        if event == "start":
            depth += 1
            continue
        depth -= 1
        if depth == 0:
            if inside:
                out: list[str] = []
                _render_odf(el, out)
                sink.line("".join(out))
            _release(el)


def _render_odf(el: etree._Element, out: list[str]) -> None:
    if el.text:
        out.append(el.text)
    for child in el:
        tag = child.tag
        if tag == _TEXT_NS + "s":
            out.append(" " * _int_attr(child, _TEXT_NS + "c", default=1, limit=1000))
        elif tag == _TEXT_NS + "tab":
            out.append("\t")
        elif tag == _TEXT_NS + "line-break":
            out.append("\n")
        elif tag in _ODF_PARAGRAPHS:
            out.append("\n")
            _render_odf(child, out)
            out.append("\n")
        elif isinstance(tag, str):
            _render_odf(child, out)
        if child.tail:
            out.append(child.tail)


def _int_attr(el: etree._Element, name: str, *, default: int, limit: int) -> int:
    try:
        return max(0, min(int(el.get(name, default)), limit))
    except ValueError:
        return default


# --- XLSX ------------------------------------------------------------------------


def _read_xlsx(fh: IO[bytes], sink: _Sink, _charset: str | None) -> None:
    with _checked_zip(fh) as zf:
        names = zf.namelist()
        shared = _xlsx_shared_strings(zf, sink.remaining) if "xl/sharedStrings.xml" in names else []
        sheets = sorted(
            (n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml")),
            key=lambda n: (len(n), n),
        )
        if not sheets:
            raise ValueError("no worksheets")
        for sheet in sheets:
            for _event, row in _iterparse(zf, sheet, ["{*}row"]):
                sink.line("\t".join(_xlsx_row(row, shared)))
                _release(row)


def _xlsx_shared_strings(zf: zipfile.ZipFile, budget: int) -> list[str]:
    strings: list[str] = []
    for _event, si in _iterparse(zf, "xl/sharedStrings.xml", ["{*}si"]):
        text = "".join(
            t.text or "" for child in si if _local(child) in ("t", "r") for t in child.iter("{*}t")
        )
        budget -= len(text)
        # Beyond the cap the cells are never emitted anyway; keep the indexes right.
        strings.append(text if budget >= 0 else "")
        _release(si)
    return strings


def _xlsx_row(row: etree._Element, shared: list[str]) -> Iterator[str]:
    for cell in row:
        if _local(cell) != "c":
            continue
        kind = cell.get("t")
        if kind == "inlineStr":
            yield "".join(t.text or "" for t in cell.iter("{*}t"))
            continue
        value = next((v.text or "" for v in cell if _local(v) == "v"), "")
        if kind == "s":
            try:
                yield shared[int(value)]
            except (ValueError, IndexError):
                continue
        elif value:
            yield value


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


_READERS: dict[str, Callable[[IO[bytes], _Sink, str | None], None]] = {
    PDF: _read_pdf,
    DOCX: _read_docx,
    ODT: _read_odf,
    ODS: _read_odf,
    XLSX: _read_xlsx,
    **{media_type: _read_plain for media_type in TEXT_TYPES},
}
