"""Text extraction from uploads: DOCX, PDF, TXT/CSV, ODT/ODS, XLSX; failures give ""."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import pytest
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

from portal.documents import text as text_module
from portal.documents.text import (
    DOCX,
    ODS,
    ODT,
    PDF,
    XLSX,
    ExtractionStatus,
    extract,
    extract_text,
    is_supported,
)
from portal.pii import PersonalDataKind, find_personal_data
from tests.pdfs import pdf_bytes

PNR = "19121212-1212"  # Skatteverket's fictitious example


# --- builders ----------------------------------------------------------------------


def make_docx() -> bytes:
    document = docx.Document()
    document.add_heading("Avvikelserapport", level=1)
    document.add_paragraph(f"Brukare {PNR} föll i badrummet.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Kontaktperson"
    table.cell(0, 1).text = "anna.andersson@exempel.se"
    table.cell(1, 0).text = "Telefon"
    table.cell(1, 1).text = "070-123 45 67"
    inner = table.cell(1, 1).add_table(rows=1, cols=1)
    inner.cell(0, 0).text = "Inre tabell"
    section = document.sections[0]
    section.header.paragraphs[0].text = "Sidhuvud Omsorg AB"
    section.footer.paragraphs[0].text = "Sidfot 08-123 456 78"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_zip(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return buffer.getvalue()


ODF_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
)


def make_odt() -> bytes:
    content = f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document-content {ODF_NS} office:version="1.3"><office:body><office:text>
<text:h text:outline-level="1">Åtgärdsplan</text:h>
<text:p>Brukare <text:span>{PNR[:8]}</text:span>-{PNR[9:]} bor<text:s text:c="3"/>på
boendet.<text:tab/>Slut<text:line-break/>rad två</text:p>
<table:table><table:table-row><table:table-cell>
<text:p>anna@exempel.se</text:p>
</table:table-cell></table:table-row></table:table>
</office:text></office:body></office:document-content>"""
    styles = f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document-styles {ODF_NS}>
<office:styles><style:style style:name="x"/></office:styles>
<office:master-styles><style:master-page style:name="Standard">
<style:header><text:p>Sidhuvud 08-123 456 78</text:p></style:header>
</style:master-page></office:master-styles></office:document-styles>"""
    return make_zip(
        {"mimetype": ODT, "content.xml": content, "styles.xml": styles, "meta.xml": "<x/>"}
    )


def make_ods() -> bytes:
    content = f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document-content {ODF_NS}><office:body><office:spreadsheet>
<table:table table:name="Blad1">
<table:table-row><table:table-cell><text:p>Namn</text:p></table:table-cell>
<table:table-cell><text:p>Personnummer</text:p></table:table-cell></table:table-row>
<table:table-row><table:table-cell><text:p>Tolvan</text:p></table:table-cell>
<table:table-cell><text:p>{PNR}</text:p></table:table-cell></table:table-row>
</table:table></office:spreadsheet></office:body></office:document-content>"""
    return make_zip({"mimetype": ODS, "content.xml": content})


def make_xlsx() -> bytes:
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    shared = (
        f'<?xml version="1.0" encoding="UTF-8"?><sst {ns} count="2" uniqueCount="2">'
        "<si><t>Namn</t></si>"
        "<si><r><t>Tolvan </t></r><r><t>Tolvansson</t></r><rPh><t>FONETIK</t></rPh></si>"
        "</sst>"
    )
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet {ns}><sheetData>'
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
        '<row r="2"><c r="A2"><v>191212121212</v></c>'
        '<c r="B2" t="inlineStr"><is><t>anna@exempel.se</t></is></c>'
        '<c r="C2" t="s"><v>99</v></c></row>'
        "</sheetData></worksheet>"
    )
    return make_zip({"xl/sharedStrings.xml": shared, "xl/worksheets/sheet1.xml": sheet})


class NonSeekable(io.RawIOBase):
    """A stream that can only be read forward, like an object-store response."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer) -> int:  # type: ignore[override]
        chunk = self._inner.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


# --- DOCX ----------------------------------------------------------------------------


def test_docx_paragraphs_tables_headers_and_footers() -> None:
    result = extract(io.BytesIO(make_docx()), DOCX)
    assert result.status is ExtractionStatus.OK and result.complete
    text = result.text
    for expected in (
        "Avvikelserapport",
        f"Brukare {PNR} föll i badrummet.",
        "Kontaktperson",
        "anna.andersson@exempel.se",
        "070-123 45 67",
        "Inre tabell",
        "Sidhuvud Omsorg AB",
        "Sidfot 08-123 456 78",
    ):
        assert expected in text
    kinds = {hit.kind for hit in find_personal_data(text)}
    assert kinds == {
        PersonalDataKind.PERSONNUMMER,
        PersonalDataKind.EMAIL,
        PersonalDataKind.PHONE,
    }


def test_docx_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "rapport.docx"
    path.write_bytes(make_docx())
    assert PNR in extract_text(path, DOCX)
    assert PNR in extract_text(str(path), DOCX)


def test_docx_non_breaking_hyphen_and_tracked_deletion() -> None:
    document = docx.Document()
    run = document.add_paragraph().add_run("19121212")
    run._r.append(parse_xml(f"<w:noBreakHyphen {nsdecls('w')}/>"))
    run._r.append(parse_xml(f"<w:t {nsdecls('w')}>1212</w:t>"))
    deleted = parse_xml(
        f'<w:del {nsdecls("w")} w:id="1" w:author="x" w:date="2026-01-01T00:00:00Z">'
        "<w:r><w:delText>raderat 121212+1212</w:delText></w:r></w:del>"
    )
    document.add_paragraph("Kvar: ")._p.append(deleted)
    buffer = io.BytesIO()
    document.save(buffer)
    text = extract_text(buffer, DOCX)
    assert "19121212-1212" in text
    assert "raderat 121212+1212" in text
    assert len([h for h in find_personal_data(text) if h.is_identity_number]) == 2


def test_docx_text_capped() -> None:
    document = docx.Document()
    for index in range(200):
        document.add_paragraph(f"Stycke {index} " + "text " * 20)
    buffer = io.BytesIO()
    document.save(buffer)
    result = extract(buffer, DOCX, max_chars=1000)
    assert result.status is ExtractionStatus.PARTIAL and not result.complete
    assert len(result.text) == 1000
    assert result.text.startswith("Stycke 0 ")


# --- PDF ----------------------------------------------------------------------------


def test_pdf_all_pages() -> None:
    pdf = pdf_bytes("Sida ett: Åsa Öberg (brukare)", f"Sida två\nPersonnummer {PNR}")
    result = extract(io.BytesIO(pdf), PDF)
    assert result.status is ExtractionStatus.OK
    assert "Åsa Öberg (brukare)" in result.text
    assert f"Personnummer {PNR}" in result.text
    assert result.text.index("Sida ett") < result.text.index("Sida två")
    assert [h.kind for h in find_personal_data(result.text)] == [PersonalDataKind.PERSONNUMMER]


def test_pdf_readable_with_an_empty_user_password() -> None:
    pdf = pdf_bytes(f"Hemligt {PNR}", password="")
    assert PNR in extract_text(io.BytesIO(pdf), PDF)


def test_pdf_with_a_password_cannot_be_read() -> None:
    pdf = pdf_bytes(f"Hemligt {PNR}", password="lösen")
    result = extract(io.BytesIO(pdf), PDF)
    assert result.status is ExtractionStatus.FAILED
    assert result.text == ""
    assert "encrypted" in result.detail


def test_pdf_page_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text_module, "MAX_PDF_PAGES", 1)
    result = extract(io.BytesIO(pdf_bytes("Första", "Andra")), PDF)
    assert result.status is ExtractionStatus.PARTIAL
    assert "Första" in result.text and "Andra" not in result.text
    assert "1 of 2 pages" in result.detail


def test_pdf_without_text_is_empty_but_ok() -> None:
    result = extract(io.BytesIO(pdf_bytes("")), PDF)
    assert result.status is ExtractionStatus.OK
    assert result.text.strip() == ""


# --- plain text -----------------------------------------------------------------------

SWEDISH = f"Åsa Öberg; {PNR}; ”citat” – €5\nRäksmörgås;ÅÄÖ åäö\n"


@pytest.mark.parametrize("content_type", ["text/plain", "text/csv"])
@pytest.mark.parametrize(
    "encoded",
    [
        pytest.param(SWEDISH.encode("utf-8"), id="utf-8"),
        pytest.param(b"\xef\xbb\xbf" + SWEDISH.encode("utf-8"), id="utf-8 with BOM"),
        pytest.param(SWEDISH.encode("cp1252"), id="cp1252"),
        pytest.param(SWEDISH.encode("utf-16"), id="utf-16 with BOM"),
    ],
)
def test_plain_text_encodings(encoded: bytes, content_type: str) -> None:
    result = extract(io.BytesIO(encoded), content_type)
    assert result.status is ExtractionStatus.OK
    assert result.text == SWEDISH


def test_latin1_without_cp1252_meaning_falls_back_to_latin1() -> None:
    # 0x81 is unassigned in cp1252: neither UTF-8 nor cp1252 decodes it.
    assert extract_text(io.BytesIO(b"Gr\xe4s \x81 x"), "text/plain") == "Gräs \x81 x"


@pytest.mark.parametrize(
    ("content_type", "encoded", "expected"),
    [
        ("text/plain; charset=iso-8859-1", "Åsa – €".encode("cp1252"), "Åsa – €"),
        ("text/csv; charset=utf-8", "Åsa".encode("cp1252"), "Åsa"),
        ('Text/CSV; Charset="ISO-8859-15"', "Åsa €".encode("iso-8859-15"), "Åsa €"),
        ("text/plain; charset=nonsense", "Åsa".encode(), "Åsa"),
    ],
)
def test_declared_charset(content_type: str, encoded: bytes, expected: str) -> None:
    assert extract_text(io.BytesIO(encoded), content_type) == expected


def test_plain_text_capped_without_breaking_a_character() -> None:
    data = ("å" * 50).encode("utf-8")
    result = extract(io.BytesIO(data), "text/plain", max_chars=10)
    assert result.status is ExtractionStatus.PARTIAL
    assert result.text == "å" * 10


def test_plain_text_at_exactly_the_cap_is_complete() -> None:
    result = extract(io.BytesIO(b"x" * 10), "text/plain", max_chars=10)
    assert result.status is ExtractionStatus.OK and result.text == "x" * 10


def test_a_seekable_stream_is_read_from_its_start() -> None:
    stream = io.BytesIO(f"Pnr {PNR}".encode())
    stream.read()
    assert extract_text(stream, "text/plain") == f"Pnr {PNR}"


@pytest.mark.parametrize(
    ("make", "content_type"),
    [
        (make_docx, DOCX),
        (lambda: pdf_bytes(PNR), PDF),
        (lambda: f"{PNR}\n".encode(), "text/csv"),
    ],
)
def test_non_seekable_streams(make, content_type: str) -> None:
    stream = NonSeekable(make())
    assert PNR in extract_text(stream, content_type)
    assert not stream.closed


# --- ODF and XLSX ------------------------------------------------------------------------


def test_odt_text_spaces_tables_and_header() -> None:
    result = extract(io.BytesIO(make_odt()), ODT)
    assert result.status is ExtractionStatus.OK
    lines = result.text.splitlines()
    assert lines[0] == "Åtgärdsplan"
    assert f"Brukare {PNR} bor   på" in result.text
    assert "boendet.\tSlut\nrad två" in result.text
    assert "anna@exempel.se" in lines
    assert "Sidhuvud 08-123 456 78" in lines
    assert {h.kind for h in find_personal_data(result.text)} == {
        PersonalDataKind.PERSONNUMMER,
        PersonalDataKind.EMAIL,
        PersonalDataKind.PHONE,
    }


def test_ods_cells() -> None:
    text = extract_text(io.BytesIO(make_ods()), ODS)
    assert "Tolvan" in text and PNR in text


def test_xlsx_shared_inline_and_numeric_cells() -> None:
    result = extract(io.BytesIO(make_xlsx()), XLSX)
    assert result.status is ExtractionStatus.OK
    assert result.text.splitlines() == [
        "Namn\tTolvan Tolvansson",
        "191212121212\tanna@exempel.se",
    ]
    assert "FONETIK" not in result.text
    assert [h.kind for h in find_personal_data(result.text)] == [
        PersonalDataKind.PERSONNUMMER,
        PersonalDataKind.EMAIL,
    ]


# --- no text, and failures ------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["image/png", "image/jpeg", "application/msword", "application/octet-stream", "", "x"],
)
def test_unsupported_types_give_no_text(content_type: str) -> None:
    result = extract(io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\0" * 100), content_type)
    assert result.status is ExtractionStatus.UNSUPPORTED
    assert result.text == ""
    assert not is_supported(content_type)


@pytest.mark.parametrize("content_type", [DOCX, PDF, ODT, ODS, XLSX, "text/plain; charset=utf-8"])
def test_supported_types(content_type: str) -> None:
    assert is_supported(content_type)


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        pytest.param(b"not a zip at all", DOCX, id="docx: garbage"),
        pytest.param(_truncated(make_docx()), DOCX, id="docx: truncated"),
        pytest.param(make_zip({"word/document.xml": "<x/>"}), DOCX, id="docx: not OPC"),
        pytest.param(make_odt(), DOCX, id="docx: an ODT"),
        pytest.param(b"", DOCX, id="docx: empty"),
        pytest.param(b"%PDF-1.4\n garbage", PDF, id="pdf: garbage"),
        pytest.param(b"not a pdf", PDF, id="pdf: no header"),
        pytest.param(_truncated(pdf_bytes("x " * 500)), PDF, id="pdf: truncated"),
        pytest.param(b"", PDF, id="pdf: empty"),
        pytest.param(b"PK\x03\x04 broken", ODT, id="odt: broken zip"),
        pytest.param(make_zip({"mimetype": ODT}), ODT, id="odt: no content.xml"),
        pytest.param(make_zip({"content.xml": "<unclosed"}), ODT, id="odt: bad XML"),
        pytest.param(make_zip({"a.xml": "<x/>"}), XLSX, id="xlsx: no sheets"),
        pytest.param(make_docx(), XLSX, id="xlsx: a DOCX"),
    ],
)
def test_malformed_files_give_empty_text(data: bytes, content_type: str) -> None:
    result = extract(io.BytesIO(data), content_type)
    assert result.text == ""
    assert result.status is ExtractionStatus.FAILED
    assert result.detail
    assert extract_text(io.BytesIO(data), content_type) == ""


def test_external_entities_are_not_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("HEMLIGT")
    content = (
        f'<!DOCTYPE office:document-content [<!ENTITY e SYSTEM "{secret.as_uri()}">]>'
        f"<office:document-content {ODF_NS}><office:body><office:text>"
        "<text:p>före &e; efter</text:p></office:text></office:body></office:document-content>"
    )
    text = extract_text(io.BytesIO(make_zip({"content.xml": content})), ODT)
    assert "HEMLIGT" not in text


def test_missing_file_gives_empty_text(tmp_path: Path) -> None:
    result = extract(tmp_path / "finns-inte.pdf", PDF)
    assert (result.text, result.status) == ("", ExtractionStatus.FAILED)


def test_zip_bomb_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text_module, "MAX_UNPACKED_BYTES", 10_000)
    small = make_zip({"content.xml": "<x/>", "pad.bin": "0" * 9_000})
    assert extract(io.BytesIO(small), ODT).status is ExtractionStatus.OK
    for data, content_type in (
        (make_zip({"content.xml": "<x/>", "pad.bin": "0" * 20_000}), ODT),
        (make_zip({"xl/worksheets/sheet1.xml": "<x/>", "pad.bin": "0" * 20_000}), XLSX),
        (make_docx(), DOCX),
    ):
        result = extract(io.BytesIO(data), content_type)
        assert result.status is ExtractionStatus.FAILED
        assert "unpacked" in result.detail


def test_oversized_xml_part_in_docx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text_module, "MAX_XML_PART_BYTES", 100)
    result = extract(io.BytesIO(make_docx()), DOCX)
    assert result.status is ExtractionStatus.FAILED
    assert "bytes" in result.detail
