"""What a file really is, from its content: the allow-list and the refusals.

The browser's Content-Type and the name's extension are never trusted; the
extension only has to agree with the content. Each refusal carries its own
message (Swedish source, translated when raised), an HTTP status and a short code.
"""

from __future__ import annotations

import codecs
import os
import re
import struct
import zipfile
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from storage.names import split_extension

ALLOWED_TEXT = _l(
    "Tillåtna filtyper är PDF, Word (.docx), Excel (.xlsx), OpenDocument (.odt, .ods), "
    "PNG, JPEG, text (.txt) och CSV."
)


@dataclass(frozen=True)
class FileType:
    """An allowed type: short name, MIME type, extensions (canonical first), Swedish label."""

    name: str
    mime: str
    extensions: tuple[str, ...]
    label: str  # lazy: translated when read

    @property
    def extension(self) -> str:
        return self.extensions[0]


PDF = FileType("pdf", "application/pdf", (".pdf",), _l("en PDF-fil"))
DOCX = FileType(
    "docx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    (".docx",),
    _l("ett Word-dokument (.docx)"),
)
XLSX = FileType(
    "xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    (".xlsx",),
    _l("en Excel-fil (.xlsx)"),
)
ODT = FileType(
    "odt",
    "application/vnd.oasis.opendocument.text",
    (".odt",),
    _l("ett OpenDocument-textdokument (.odt)"),
)
ODS = FileType(
    "ods",
    "application/vnd.oasis.opendocument.spreadsheet",
    (".ods",),
    _l("ett OpenDocument-kalkylark (.ods)"),
)
PNG = FileType("png", "image/png", (".png",), _l("en PNG-bild"))
JPEG = FileType("jpeg", "image/jpeg", (".jpg", ".jpeg", ".jpe", ".jfif"), _l("en JPEG-bild"))
TXT = FileType("txt", "text/plain", (".txt", ".text"), _l("en textfil"))
CSV = FileType("csv", "text/csv", (".csv",), _l("en CSV-fil"))
ALLOWED = (PDF, DOCX, XLSX, ODT, ODS, PNG, JPEG, TXT, CSV)


class TypeRefused(Exception):
    """The file is not one the portal takes; ``message`` is for the user."""

    def __init__(self, message: str, status: int = 415, code: str = "type"):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


MACRO_EXTENSIONS = {
    ".docm": ".docx",
    ".dotm": ".docx",
    ".xlsm": ".xlsx",
    ".xltm": ".xlsx",
    ".xlsb": ".xlsx",
    ".xlam": ".xlsx",
    ".pptm": ".pdf",
    ".potm": ".pdf",
    ".ppsm": ".pdf",
}
SCRIPT_EXTENSIONS = {
    ".js",
    ".jse",
    ".mjs",
    ".vbs",
    ".vbe",
    ".wsf",
    ".wsh",
    ".bat",
    ".cmd",
    ".ps1",
    ".psm1",
    ".sh",
    ".bash",
    ".zsh",
    ".py",
    ".pl",
    ".rb",
    ".php",
    ".hta",
    ".reg",
    ".scr",
    ".lnk",
    ".exe",
    ".dll",
    ".com",
    ".msi",
    ".jar",
    ".applescript",
    ".command",
    ".desktop",
}


class _Refusal:
    """A refusal template; calling it gives a fresh exception (never re-raise one instance)."""

    def __init__(self, message, status: int = 415, code: str = "type"):
        self.message, self.status, self.code = message, status, code

    def __call__(self) -> TypeRefused:
        return TypeRefused(str(self.message), self.status, self.code)


def _macro(suggested: str) -> TypeRefused:
    return TypeRefused(
        _(
            "Filen är en makroaktiverad Office-fil och kan inte tas emot. "
            "Spara den som %(suggested)s utan makron och försök igen.",
            suggested=suggested,
        ),
        422,
        "macro",
    )


EXECUTABLE = _Refusal(
    _l(
        "Filen är ett program (en körbar fil) och kan inte tas emot. %(allowed)s",
        allowed=ALLOWED_TEXT,
    ),
    415,
    "executable",
)
SCRIPT = _Refusal(
    _l(
        "Filen är ett skript eller program och kan inte tas emot. %(allowed)s", allowed=ALLOWED_TEXT
    ),
    415,
    "script",
)
ARCHIVE = _Refusal(
    _l(
        "Filen är ett komprimerat arkiv (till exempel .zip, .rar, .7z eller .gz) och kan inte "
        "tas emot. Packa upp arkivet och ladda upp filerna var för sig."
    ),
    415,
    "archive",
)
MARKUP = _Refusal(
    _l("HTML-, SVG- och XML-filer kan inte tas emot. Spara innehållet som PDF och försök igen."),
    415,
    "markup",
)
LEGACY_OFFICE = _Refusal(
    _l(
        "Filen är i ett äldre Office-format (.doc, .xls eller .ppt) som inte tas emot. "
        "Spara den som .docx eller .xlsx och försök igen."
    ),
    415,
    "legacy_office",
)
PRESENTATION = _Refusal(
    _l(
        "Presentationer och mallar tas inte emot. Spara filen som PDF (eller som .docx/.xlsx) "
        "och försök igen."
    ),
    415,
    "not_allowed",
)
IMAGE_FORMAT = _Refusal(
    _l("Bildformatet tas inte emot. Spara bilden som PNG eller JPEG och försök igen."),
    415,
    "image_format",
)
RTF = _Refusal(
    _l("RTF-filer tas inte emot. Spara dokumentet som .docx eller PDF och försök igen."),
    415,
    "not_allowed",
)
UNKNOWN = _Refusal(
    _l("Filtypen känns inte igen eller tas inte emot. %(allowed)s", allowed=ALLOWED_TEXT),
    415,
    "unknown",
)
ENCRYPTED = _Refusal(
    _l(
        "Filen är lösenordsskyddad eller krypterad och kan därför inte granskas. "
        "Spara en version utan lösenord och försök igen."
    ),
    422,
    "encrypted",
)
ENCRYPTED_PDF = _Refusal(
    _l(
        "PDF-filen är lösenordsskyddad eller krypterad och kan därför inte granskas. "
        "Spara en version utan lösenord eller skydd och försök igen."
    ),
    422,
    "encrypted",
)
DAMAGED = _Refusal(
    _l("Filen är skadad och kan inte läsas. Skapa eller exportera den på nytt och försök igen."),
    422,
    "damaged",
)
UNPACKS_TOO_LARGE = _Refusal(
    _l(
        "Filen blir orimligt stor när den packas upp (den ser ut som en så kallad zip-bomb) och "
        "kan därför inte granskas. Spara dokumentet på nytt och försök igen."
    ),
    422,
    "unpacks_too_large",
)
EMPTY = _Refusal(_l("Filen är tom. Välj en fil med innehåll och försök igen."), 422, "empty")

_EXECUTABLE_MAGIC = (
    b"MZ",
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
    b"\x00asm",
    b"dex\n",
    b"L\x00\x00\x00\x01\x14\x02\x00",  # Windows shortcut (.lnk)
)
_ARCHIVE_MAGIC = (
    b"Rar!\x1a\x07",
    b"7z\xbc\xaf\x27\x1c",
    b"\x1f\x8b",
    b"BZh",
    b"\xfd7zXZ\x00",
    b"\x28\xb5\x2f\xfd",
    b"MSCF",
    b"ISc(",
    b"LZIP",
    b"\x60\xea",
    b"xar!",
    b"070707",
    b"070701",
    b"070702",
    b"!<arch>",
    b"\x04\x22\x4d\x18",
    b"\x1f\x9d",
    b"\x1f\xa0",
)
_IMAGE_MAGIC = (
    b"GIF87a",
    b"GIF89a",
    b"II*\x00",
    b"MM\x00*",
    b"BM",
    b"8BPS",
    b"\x00\x00\x01\x00",
    b"\x00\x00\x00\x0cjP  ",
    b"\xff\x0a",
)
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_TEXT_CONTROLS = re.compile(rb"[\x00-\x08\x0b\x0e-\x19\x1b-\x1f\x7f]")
_TEXT_CONTROLS_STR = re.compile(r"[\x00-\x08\x0b\x0e-\x19\x1b-\x1f\x7f]")
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
_MAX_MEMBER = 1024 * 1024  # the small parts read from an Office file
_MAX_ZIP_ENTRIES = 20000
# A zip bomb: more than this unpacked, at a ratio no real document reaches (XML packs ~10:1).
_MAX_UNPACKED = 256 * 1024 * 1024
_MAX_RATIO = 50


def sniff(path: str | os.PathLike, display_name: str) -> FileType:
    """Return the allowed type of the file at ``path`` or raise :class:`TypeRefused`."""
    size = os.path.getsize(path)
    if size == 0:
        raise EMPTY()
    extension = split_extension(display_name)[1].lower()
    if extension in MACRO_EXTENSIONS:
        raise _macro(MACRO_EXTENSIONS[extension])
    with open(path, "rb") as handle:
        head = handle.read(16384)
    kind = _detect(path, head)
    if kind.name in (TXT.name, CSV.name):
        return _text_for_extension(kind, extension)
    if extension and extension not in kind.extensions:
        raise _mismatch(extension, kind, kind.extension)
    return kind


def _mismatch(extension: str, kind: FileType, expected: str) -> TypeRefused:
    return TypeRefused(
        _(
            "Filnamnet slutar på %(extension)s men filen är %(kind)s. Kontrollera att du har "
            "valt rätt fil, eller ändra filändelsen till %(expected)s och försök igen.",
            extension=extension,
            kind=kind.label,
            expected=expected,
        ),
        422,
        "extension_mismatch",
    )


def _detect(path, head: bytes) -> FileType:
    if head.startswith(_EXECUTABLE_MAGIC):
        raise EXECUTABLE()
    if head.startswith(b"#!"):
        raise SCRIPT()
    if b"%PDF-" in head[:1024]:
        return _check_pdf(path)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return _zip_kind(path)
    if head.startswith(_OLE2):
        raise _ole2_refusal(path)
    if head.startswith(_ARCHIVE_MAGIC) or head[257:262] == b"ustar":
        raise ARCHIVE()
    if (
        head.startswith(_IMAGE_MAGIC)
        or head[8:12] in (b"WEBP", b"AVI ")
        or (head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"avif", b"mif1", b"heif"))
    ):
        raise IMAGE_FORMAT()
    if head.startswith(b"{\\rtf"):
        raise RTF()
    return _text_kind(path, head)


def _check_pdf(path) -> FileType:
    from pypdf import PdfReader

    try:
        reader = PdfReader(path, strict=False)
        encrypted = reader.is_encrypted
    except Exception:  # pypdf raises many kinds on garbage; all mean "cannot read it"
        raise DAMAGED() from None
    if encrypted:
        raise ENCRYPTED_PDF()
    return PDF


def _zip_entry_count(path) -> int | None:
    """Entries announced by the end-of-central-directory record (None when not found)."""
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        handle.seek(max(0, size - 65557))
        tail = handle.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 12 > len(tail):
        return None
    return struct.unpack("<H", tail[at + 10 : at + 12])[0]


def _zip_kind(path) -> FileType:
    count = _zip_entry_count(path)
    if count is not None and count > _MAX_ZIP_ENTRIES:
        raise ARCHIVE()
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            names = {info.filename.lower(): info for info in infos}
            if any(info.flag_bits & 0x1 for info in infos):
                raise ENCRYPTED()
            unpacked = sum(info.file_size for info in infos)
            if unpacked > _MAX_UNPACKED and unpacked > _MAX_RATIO * os.path.getsize(path):
                raise UNPACKS_TOO_LARGE()
            if "[content_types].xml" in names:
                return _ooxml_kind(archive, names)
            if infos and infos[0].filename == "mimetype":
                return _odf_kind(archive, names)
    except zipfile.BadZipFile:
        raise DAMAGED() from None
    raise ARCHIVE()


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    if info.file_size > _MAX_MEMBER:
        raise DAMAGED()
    try:
        return archive.read(info)[:_MAX_MEMBER]
    except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError):
        raise DAMAGED() from None


def _ooxml_kind(archive: zipfile.ZipFile, names: dict) -> FileType:
    types = _read_member(archive, names["[content_types].xml"]).lower()
    is_sheet = b"spreadsheetml" in types or b"ms-excel" in types
    if b"macroenabled" in types or any(n.endswith("vbaproject.bin") for n in names):
        raise _macro(".xlsx" if is_sheet else ".docx")
    if b"wordprocessingml.document.main+xml" in types:
        return DOCX
    if b"spreadsheetml.sheet.main+xml" in types:
        return XLSX
    if b"presentationml" in types or b"template.main+xml" in types:
        raise PRESENTATION()
    raise UNKNOWN()


def _odf_kind(archive: zipfile.ZipFile, names: dict) -> FileType:
    mimetype = _read_member(archive, names["mimetype"]).strip()
    if any(n.startswith(("basic/", "scripts/")) for n in names):
        raise _macro(".odt" if mimetype.endswith(b".text") else ".ods")
    manifest = names.get("meta-inf/manifest.xml")
    if manifest is not None and b"encryption-data" in _read_member(archive, manifest):
        raise ENCRYPTED()
    if mimetype == ODT.mime.encode():
        return ODT
    if mimetype == ODS.mime.encode():
        return ODS
    if mimetype.startswith(b"application/vnd.oasis.opendocument."):
        raise PRESENTATION()
    raise ARCHIVE()


def _ole2_refusal(path) -> TypeRefused:
    """Old binary Office, or a password-protected new one (which is also OLE2)."""
    encryption = "EncryptionInfo".encode("utf-16-le")
    vba = "_VBA_PROJECT".encode("utf-16-le")
    overlap = max(len(encryption), len(vba))
    tail = b""
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            window = tail + chunk
            if encryption in window:
                return ENCRYPTED()
            if vba in window:
                return _macro(".docx eller .xlsx")
            tail = window[-overlap:]
    return LEGACY_OFFICE()


def _text_kind(path, head: bytes) -> FileType:
    """TXT when the whole file is text in UTF-8 (with or without BOM), UTF-16 or Windows-1252."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        if not _is_utf16(path):
            raise UNKNOWN()
        charset = "utf-16"
    elif _is_utf8(path):
        charset = "utf-8"
    elif _is_cp1252(path):
        charset = "windows-1252"
    else:
        raise UNKNOWN()
    start = head.decode(charset, "replace")[:2048].lstrip("\ufeff \t\r\n")
    if start.startswith("<"):
        raise MARKUP()
    return FileType(TXT.name, f"text/plain; charset={charset}", TXT.extensions, TXT.label)


def _text_for_extension(kind: FileType, extension: str) -> FileType:
    charset = kind.mime.split("charset=", 1)[1]
    if extension in CSV.extensions:
        return FileType(CSV.name, f"text/csv; charset={charset}", CSV.extensions, CSV.label)
    if extension in ("", *TXT.extensions):
        return kind
    if extension in SCRIPT_EXTENSIONS:
        raise SCRIPT()
    if extension in (".html", ".htm", ".xhtml", ".svg", ".xml", ".xsl", ".xslt"):
        raise MARKUP()
    raise _mismatch(extension, kind, ".txt eller .csv")


def _chunks(path):
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            yield chunk


def _is_utf8(path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for chunk in _chunks(path):
            if _TEXT_CONTROLS.search(chunk):
                return False
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _is_utf16(path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-16")()
    try:
        for chunk in _chunks(path):
            if _TEXT_CONTROLS_STR.search(decoder.decode(chunk)):
                return False
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _is_cp1252(path) -> bool:
    return not any(
        _TEXT_CONTROLS.search(chunk) or _CP1252_UNDEFINED.search(chunk) for chunk in _chunks(path)
    )
