"""Every generated document looks like a municipality's: A4, Swedish (sv-SE), a letterhead
with the configured logo and the committee's contact details, page numbers, no table of
contents, and tables whose columns are as wide as their content needs, in the table grid
and in every cell, summing to the text width. Each document is made through the real
pages, checked with python-docx and rendered with LibreOffice (the test fails, saying
what to install, when it is missing)."""

from __future__ import annotations

import math
import re
import struct
import zlib
from datetime import date
from string import hexdigits

import pypdf
import pytest
import sqlalchemy as sa
from docx.oxml.ns import qn

from portal.documents import _fit
from portal.documents import _layout as layout
from portal.documents._layout import MONO_FONT, new_document, to_bytes
from portal.extensions import db
from portal.models import AuditEvent, Committee, Submission, SubmissionKind
from tests.admin.conftest import quality_fields
from tests.admin.helpers import answer, make_docx, reopen
from tests.admin.test_documents import (
    follow_up_plan_docx,
    simple_fields,
    yearly_report_docx,
)
from tests.documents_render import libreoffice_pdfs
from tests.pdfs import pdf_bytes

CONTACT = {
    "postal_address": "Box 100\n123 45 Exempelby",
    "phone": "0123-45 60 00",
    "email": "von@exempelby.example",
}
A4_MM = (210, 297)
CELL_MARGINS = 2 * 108  # twips: the left and right cell margins of "Table Grid"


def png(width: int, height: int) -> bytes:
    """A small PNG logo (a dark band with a light stripe), made without an image library."""
    rows = b"".join(
        b"\x00" + (b"\xf0\xf0\xf0" if height // 3 <= y < height // 2 else b"\x1f\x3a\x5f") * width
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def app_config(app_config, tmp_path):
    logo = tmp_path / "logo.png"
    logo.write_bytes(png(240, 80))
    return {**app_config, "LETTERHEAD_LOGO": str(logo)}


def generated(w, make, browser, app) -> dict[str, tuple[bytes, Committee, str | None]]:
    """Every kind of document, made through the real pages: (bytes, committee, diarienummer)."""
    admin = browser(w.admin)
    saved = admin.post(
        f"/handlaggare/namnder/{w.committee_x.id}/andra",
        data={"name": w.committee_x.name, "code": w.committee_x.code, **CONTACT},
    )
    assert saved.status_code == 302
    committee = w.committee_x
    documents = {
        "plan": (follow_up_plan_docx(w, browser, app), committee, None),
        "report": (yearly_report_docx(w, make, browser, app), committee, None),
    }
    # The action plan of the yearly report's finding, with its measures.
    plan = db.session.scalar(sa.select(Submission).filter_by(kind=SubmissionKind.ACTION_PLAN))
    provider = browser(w.user_a)
    documents["plan_receipt"] = (
        provider.get(f"/utforare/arenden/{plan.id}/kvitto/1.docx").get_data(),
        committee,
        plan.registration_number,
    )
    fields = quality_fields()
    fields[1].help_text = "Till exempel brukarråd, enkäter och synpunktshantering."
    (sub,) = make.info_request(
        committee, [w.org_a], w.reviewer_x, fields=fields, title="Kvalitetsredovisning 2026"
    )
    db.session.commit()
    letter = browser(w.reviewer_x).get(
        f"/handlaggare/begaranden/{sub.request_id}/brev/{w.org_a.id}.docx"
    )
    documents["letter"] = (letter.get_data(), committee, sub.request.registration_number)
    keys = [f.key for f in sub.request.fields]
    answer(
        sub,
        w.user_a,
        {keys[0]: "142", keys[1]: "Brukarråd varannan månad.", keys[3]: "Anna Berg"},
        files=[
            (keys[2], "Kvalitetsberättelse 2026 för hemtjänsten.pdf", pdf_bytes("Kvalitet")),
            (keys[2], "Bilaga.docx", make_docx("Bilaga")),
        ],
    )
    documents["receipt"] = (
        provider.get(f"/utforare/arenden/{sub.id}/kvitto/1.docx").get_data(),
        committee,
        sub.registration_number,
    )
    return documents


def test_every_document_is_a4_swedish_with_letterhead_and_fitted_tables(
    w, make, browser, app, tmp_path
):
    documents = generated(w, make, browser, app)
    assert set(documents) == {"plan", "report", "plan_receipt", "letter", "receipt"}
    for name, (data, committee, reference) in documents.items():
        document = reopen(data)
        check_page(document, landscape=name == "plan")
        check_language(document)
        check_letterhead(document, app.config["MUNICIPALITY"], committee, reference)
        check_page_numbers_and_no_toc(document)
        width = text_width(document)
        section = document.sections[0]
        tables = [*document.tables, *section.footer.tables, *section.first_page_footer.tables]
        assert len(tables) >= 3, name
        for table in tables:
            check_widths(table, width)
        if name == "receipt":
            check_hashes(document, sub_hashes(document))
    check_rendering(documents, app.config["MUNICIPALITY"], tmp_path)


# --- python-docx --------------------------------------------------------------------------


def check_page(document, *, landscape: bool) -> None:
    for section in document.sections:
        size = (section.page_width.mm, section.page_height.mm)
        assert [round(s, 1) for s in sorted(size)] == list(A4_MM), size
        assert (size[0] > size[1]) is landscape
        assert section.orientation == (1 if landscape else 0)


def check_language(document) -> None:
    """sv-SE on the document defaults and the Normal style, and no other language on any
    style, paragraph or run of any part; the core properties say sv-SE too."""
    assert document.core_properties.language == "sv-SE"
    defaults = document.styles.element.find(qn("w:docDefaults"))
    assert defaults.find(f".//{qn('w:lang')}").get(qn("w:val")) == "sv-SE"
    normal = document.styles["Normal"].element
    assert normal.rPr.find(qn("w:lang")).get(qn("w:val")) == "sv-SE"
    theme_language = document.settings.element.find(qn("w:themeFontLang"))
    assert theme_language.get(qn("w:val")) == "sv-SE"
    for part in document.part.package.iter_parts():
        if str(part.partname).endswith(".xml"):
            found = set(re.findall(rb'<w:lang [^>]*w:val="([^"]+)"', part.blob))
            assert found <= {b"sv-SE"}, (part.partname, found)


def check_letterhead(document, municipality: str, committee: Committee, reference) -> None:
    logo, first, second = document.paragraphs[:3]
    (picture,) = logo._p.iter(qn("wp:docPr"))
    assert picture.get("descr") == f"{municipality}s logotyp"
    assert first.text.startswith(f"{municipality}\tDatum: ")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", first.text.rsplit(" ", 1)[1])
    assert second.text.startswith(committee.name)
    if reference:
        assert second.text == f"{committee.name}\tDiarienummer: {reference}"
    section = document.sections[0]
    assert section.page_width.mm < 300
    assert section.different_first_page_header_footer
    assert section.header.paragraphs[0].text.startswith(f"{municipality} · {committee.name}\t")
    for footer in (section.first_page_footer, section.footer):
        text = "\n".join(c.text for t in footer.tables for r in t.rows for c in r.cells)
        for expected in (
            committee.name,
            municipality,
            "Postadress\nBox 100\n123 45 Exempelby",
            "Telefon\n0123-45 60 00",
            "E-post\nvon@exempelby.example",
        ):
            assert expected in text, expected


def check_page_numbers_and_no_toc(document) -> None:
    section = document.sections[0]
    for footer in (section.first_page_footer, section.footer):
        assert simple_fields(footer._element) == ["PAGE", "NUMPAGES"]
    body = document.element.body
    assert list(body.iter(qn("w:instrText"))) == [] and list(body.iter(qn("w:fldChar"))) == []
    assert not [p for p in document.paragraphs if p.style.name.startswith("TOC")]
    assert not [b for b in body.iter(qn("w:br")) if b.get(qn("w:type")) == "page"]
    assert document.settings.element.find(qn("w:updateFields")) is None


def text_width(document) -> int:
    section = document.sections[0]
    return round((section.page_width - section.left_margin - section.right_margin) / 635)


def check_widths(table, total: int) -> None:
    """A fixed layout of the text width, a grid summing to it, the same width in every cell,
    and no word wider than its cell."""
    properties = table._tbl.tblPr
    assert properties.find(qn("w:tblLayout")).get(qn("w:type")) == "fixed"
    width = properties.find(qn("w:tblW"))
    assert (width.get(qn("w:type")), int(width.get(qn("w:w")))) == ("dxa", total)
    grid = [int(c.get(qn("w:w"))) for c in table._tbl.tblGrid.iter(qn("w:gridCol"))]
    assert sum(grid) == total and min(grid) > CELL_MARGINS, grid
    for row in table.rows:
        cells = row._tr.tc_lst
        assert [tc.tcPr.tcW.get(qn("w:type")) for tc in cells] == ["dxa"] * len(grid)
        assert [int(tc.tcPr.tcW.get(qn("w:w"))) for tc in cells] == grid
        for cell, cell_width in zip(row.cells, grid, strict=True):
            for run in (r for p in cell.paragraphs for r in p.runs):
                if run.font.name == MONO_FONT:
                    continue  # a SHA-256: wraps by design, see check_hashes
                size = (run.font.size or cell.paragraphs[0].style.font.size).pt
                for word in re.split(r"[ \t\n]+", run.text):
                    assert _fit.text_twips(word, size) <= cell_width - CELL_MARGINS, word


def sub_hashes(document) -> list[str]:
    return [
        row.cells[2].text
        for table in document.tables
        if [c.text for c in table.rows[0].cells] == ["Fil", "Storlek", "SHA-256"]
        for row in table.rows[1:]
    ]


def check_hashes(document, hashes: list[str]) -> None:
    """Each SHA-256 in a monospace cell that holds its 64 hex digits in two lines."""
    assert len(hashes) == 2
    table = next(t for t in document.tables if t.rows[0].cells[0].text == "Fil")
    for row in table.rows[1:]:
        cell = row.cells[2]
        assert len(cell.text) == 64 and set(cell.text) <= set(hexdigits)
        (run,) = cell.paragraphs[0].runs
        assert run.font.name == "Courier New"
        room = int(cell._tc.tcPr.tcW.get(qn("w:w"))) - CELL_MARGINS
        per_line = math.floor(room / (0.6 * run.font.size.pt * 20))  # 0.6 em a character
        assert 32 <= per_line < 64, per_line
        assert math.ceil(64 / per_line) == 2
        assert run.font.size.pt >= 8


# --- LibreOffice ------------------------------------------------------------------------


def check_rendering(documents: dict, municipality: str, tmp_path) -> None:
    """Rendered by LibreOffice, with Calibri's and Courier New's metric twins (Carlito,
    Liberation Mono): A4 pages numbered "Sida n av N", the letterhead, every word of every
    table whole on one line and each SHA-256 in two lines (``libreoffice_pdfs`` fails the
    test, saying what to install, when LibreOffice or those fonts are missing)."""
    pdfs = libreoffice_pdfs({name: data for name, (data, _, _) in documents.items()}, tmp_path)
    for name, (data, committee, _) in documents.items():
        reader = pypdf.PdfReader(pdfs[name])
        pages = [page.extract_text() for page in reader.pages]
        for page in reader.pages:
            size = sorted((float(page.mediabox.width), float(page.mediabox.height)))
            assert [round(s / 72 * 25.4) for s in size] == list(A4_MM), name
        for number, text in enumerate(pages, 1):
            assert f"Sida {number} av {len(pages)}" in text, (name, number)
        text = "\n".join(pages).replace("\u00a0", " ")
        assert municipality in pages[0] and committee.name in pages[0], name
        # A word broken in a cell is missing once from the PDF's text (running text may
        # break after a hyphen, so only the tables' words are counted).
        document = reopen(data)
        hashes = set(sub_hashes(document))
        cells = [
            cell.text.replace("\u00a0", " ")
            for table in document.tables
            for row in table.rows
            for cell in row.cells
            if cell.text not in hashes
        ]
        words = {word for cell in cells for word in re.split(r"\s+", cell) if len(word) >= 4}
        assert words, name
        in_tables = "\n".join(cells)
        for word in words:
            assert text.count(word) >= in_tables.count(word), f"{name}: {word!r} broken"
        for sha in hashes:
            assert any(sha[:k] in text and sha[k:] in text for k in range(32, 64)), sha


# --- configuration and the committee form -------------------------------------------------


def test_committee_contact_details_are_edited_on_the_committee_form(w, browser):
    admin = browser(w.admin)
    url = f"/handlaggare/namnder/{w.committee_x.id}/andra"
    form = admin.get(url).get_data(as_text=True)
    for label in ("Postadress", "Telefon", "E-post"):
        assert f">{label}<" in form, label
    base = {"name": w.committee_x.name, "code": w.committee_x.code}
    wrong = admin.post(url, data={**base, **CONTACT, "email": "von at exempelby"})
    assert "Ange en giltig e-postadress." in wrong.get_data(as_text=True)
    messy = " Box 100 \r\n\r\n 123 45 Exempelby "
    saved = admin.post(url, data={**base, **CONTACT, "postal_address": messy})
    assert saved.status_code == 302
    committee = db.session.get(Committee, w.committee_x.id)
    assert (committee.postal_address, committee.phone, committee.email) == (
        CONTACT["postal_address"],
        CONTACT["phone"],
        CONTACT["email"],
    )
    event = db.session.scalars(
        sa.select(AuditEvent).filter_by(action="committee.update").order_by(AuditEvent.id.desc())
    ).first()
    assert event.detail["changes"]["phone"] == [None, "0123-45 60 00"]
    emptied = admin.post(url, data={**base, "postal_address": " ", "phone": "", "email": ""})
    assert emptied.status_code == 302
    committee = db.session.get(Committee, w.committee_x.id)
    assert (committee.postal_address, committee.phone, committee.email) == (None, None, None)


@pytest.mark.parametrize("content", [b"GIF89a not a PNG", None])
def test_a_bad_logo_file_leaves_the_name_only(app, w, tmp_path, caplog, monkeypatch, content):
    """A missing file or one that is not PNG or JPEG: the name only, and a warning."""
    # Alembic's fileConfig, run when the suite migrated its database, disabled the loggers
    # that existed then.
    monkeypatch.setattr(layout.log, "disabled", False)
    logo = tmp_path / "logo.gif"
    if content is not None:
        logo.write_bytes(content)
    app.config["LETTERHEAD_LOGO"] = str(logo)
    document = new_document(title="Prov", committee=w.committee_x, dated=date(2026, 12, 7))
    document = reopen(to_bytes(document))
    assert document.paragraphs[0].text.startswith(f"{app.config['MUNICIPALITY']}\tDatum: ")
    assert list(document.element.body.iter(qn("wp:docPr"))) == []
    assert "PORTAL_LETTERHEAD_LOGO" in caplog.text


# --- the column widths --------------------------------------------------------------------


def test_columns_are_as_wide_as_their_longest_word_and_fill_the_width():
    columns = [
        ["Nr", "1", "2"],
        ["Uppgift", "Beskriv arbetet med delaktighet och inflytande för brukarna"],
        ["Svarsform", "Verksamhetsuppföljning"],
    ]
    fit = _fit.fit_columns(columns, 9000)
    assert sum(fit.widths) == 9000 and fit.size == 10
    for texts, width in zip(columns, fit.widths, strict=True):
        longest = max(_fit.longest_word(t, fit.size) for t in texts)
        assert longest + _fit.CELL_PADDING <= width
    # Too narrow for the longest words at 10 pt: a smaller size.
    narrow = _fit.fit_columns(columns, 3600)
    assert narrow.size < 10 and sum(narrow.widths) == 3600
    # A monospace column keeps the width of half its text, the rest goes to the others.
    sha = "a" * 64
    fit = _fit.fit_columns(
        [["Fil", "rapport.pdf"], ["SHA-256", sha]], 9000, sizes=(8,), mono={1: 2}
    )
    assert fit.widths[1] == _fit.mono_width(["SHA-256", sha], 8, 2)
    assert fit.widths[0] == 9000 - fit.widths[1]
