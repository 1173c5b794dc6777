"""Shared layout of the staff documents (follow-up plan, yearly report): a title page with the
municipality's name, a table of contents field, running header and page numbers.

Fields (TOC, PAGE, NUMPAGES) are real Word fields; ``updateFields`` asks Word to fill
them when the document opens, and LibreOffice computes them when it lays the
document out (also when it converts to PDF).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import date

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.text.paragraph import Paragraph

MONTHS = (
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
)


def long_date(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def new_document(
    *, title: str, subtitle: str, municipality: str, author: str, landscape: bool = False
) -> Document:
    document = Document()
    props = document.core_properties
    props.title, props.author, props.subject = title, author, subtitle
    props.language = "sv-SE"
    normal = document.styles["Normal"]
    normal.font.name = "Calibri"
    normal.font.size = Pt(11)
    _language(document, "sv-SE")
    section = document.sections[0]
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = section.page_height, section.page_width
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(2.2))
    section.different_first_page_header_footer = True

    header = section.header.paragraphs[0]
    header.text = f"{municipality} · {title}"
    header.style = document.styles["Header"]
    footer = section.footer.paragraphs[0]
    footer.style = document.styles["Footer"]
    footer.add_run("Sida ")
    add_field(footer, "PAGE", "1")
    footer.add_run(" av ")
    add_field(footer, "NUMPAGES", "1")

    first = document.add_paragraph()
    first.add_run(municipality).bold = True
    document.add_paragraph(author)
    document.add_paragraph(style="Title").add_run(title)
    document.add_paragraph(style="Subtitle").add_run(subtitle)
    _update_fields_on_open(document)
    return document


def add_toc(document: Document, heading: str = "Innehåll") -> None:
    document.add_paragraph(heading, style="TOC Heading")
    paragraph = document.add_paragraph()
    add_field(
        paragraph,
        'TOC \\o "1-2" \\h \\z \\u',
        "Innehållsförteckningen visas när fälten uppdateras (i Word: högerklicka och välj "
        "Uppdatera fält).",
    )
    paragraph.add_run().add_break(WD_BREAK.PAGE)


def add_field(paragraph: Paragraph, instruction: str, placeholder: str = "") -> None:
    """A complex field (begin, instruction, separate, cached result, end) in ``paragraph``."""

    def char(kind: str):
        run = paragraph.add_run()
        element = OxmlElement("w:fldChar")
        element.set(qn("w:fldCharType"), kind)
        if kind == "begin":
            element.set(qn("w:dirty"), "true")
        run._r.append(element)

    char("begin")
    run = paragraph.add_run()
    text = OxmlElement("w:instrText")
    text.set(qn("xml:space"), "preserve")
    text.text = f" {instruction} "
    run._r.append(text)
    char("separate")
    paragraph.add_run(placeholder)
    char("end")


def add_table(
    document: Document,
    header: Sequence[str],
    rows: Iterable[Sequence],
    widths: Sequence[float] | None = None,
):
    table = document.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    head = table.rows[0]
    _repeat_header(head)
    for cell, text in zip(head.cells, header, strict=True):
        cell.text = ""
        cell.paragraphs[0].add_run(str(text)).bold = True
    for values in rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, values, strict=True):
            cell.text = "" if value is None else str(value)
    if widths:
        for row in table.rows:
            for cell, width in zip(row.cells, widths, strict=False):
                cell.width = Cm(width)
    return table


def add_facts(document: Document, facts: Sequence[tuple[str, str]]):
    """A two-column table of label and value."""
    table = document.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, value in facts:
        cells = table.add_row().cells
        cells[0].text = ""
        cells[0].paragraphs[0].add_run(label).bold = True
        cells[1].text = value or "–"
        cells[0].width, cells[1].width = Cm(5), Cm(11)
    return table


def add_text(document: Document, text: str, empty: str = "–") -> None:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    for line in lines or [empty]:
        document.add_paragraph(line)


def to_bytes(document: Document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _repeat_header(row) -> None:
    properties = row._tr.get_or_add_trPr()
    element = OxmlElement("w:tblHeader")
    element.set(qn("w:val"), "true")
    properties.append(element)


def _update_fields_on_open(document: Document) -> None:
    settings = document.settings.element
    element = OxmlElement("w:updateFields")
    element.set(qn("w:val"), "true")
    settings.append(element)


def _language(document: Document, tag: str) -> None:
    rpr = document.styles["Normal"].element.get_or_add_rPr()
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), tag)
    rpr.append(lang)
