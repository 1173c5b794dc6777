"""Shared layout of every generated document: request letter, receipt, follow-up plan and
the yearly report on strategic agreements.

Each is A4 (the follow-up plan's wide table: A4 landscape) in Swedish (``sv-SE`` on the
document defaults, the Normal style and the core properties) and starts with a
letterhead: the logo (``PORTAL_LETTERHEAD_LOGO``, when set), the municipality and the
committee on the left, the date and the registration number on the right. Every page
has a footer with the committee's postal address, telephone and e-mail and "Sida 1 av 3"
(simple PAGE and NUMPAGES fields that Word and LibreOffice compute when they lay the
document out); the pages after the first have a running header instead of the
letterhead. There is no table of contents: nothing asks the reader to update fields.

Tables get their column widths from their content (:mod:`portal.documents._fit`): in
the table grid and in every cell, summing to the text width, with a fixed layout so
that Word and LibreOffice keep them.
"""

from __future__ import annotations

import functools
import io
import logging
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.image.exceptions import (
    InvalidImageStreamError,
    UnexpectedEndOfFileError,
    UnrecognizedImageError,
)
from docx.image.image import Image
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Emu, Mm, Pt, RGBColor, Twips
from docx.text.paragraph import Paragraph
from flask import current_app
from flask_babel import force_locale

from portal import municipalities
from portal.documents._fit import CELL_PADDING, fit_columns, text_twips

log = logging.getLogger(__name__)

LANGUAGE = "sv-SE"
FONT = "Calibri"  # Carlito on Linux has the same metrics
MONO_FONT = "Courier New"  # Liberation Mono on Linux has the same metrics
INK = RGBColor(0x1A, 0x1A, 0x1A)
MUTED = RGBColor(0x59, 0x59, 0x59)
SHADE = "EDEDED"  # header row and label column of tables
MARGIN = Cm(2.5)
LOGO_HEIGHT = Cm(1.8)
LOGO_MAX_WIDTH = Cm(7)
TABLE_TEXT = "Tabelltext"
LETTERHEAD = "Brevhuvud"


def in_swedish(build):
    """Build a document in Swedish whatever the page's language: the labels of the codes
    it names are rendered from the label table under the Swedish locale."""

    @functools.wraps(build)
    def swedish(*args, **kwargs):
        with force_locale("sv"):
            return build(*args, **kwargs)

    return swedish


@dataclass(frozen=True)
class Sender:
    """Who a document is from: the letterhead, the running header and the footer."""

    municipality: str
    committee: str
    postal_address: str = ""
    phone: str = ""
    email: str = ""
    logo: str = ""

    @classmethod
    def of(cls, committee) -> Sender:
        config = current_app.config
        return cls(
            municipality=municipalities.current_name(),
            committee=committee.name,
            postal_address=committee.postal_address or "",
            phone=committee.phone or "",
            email=committee.email or "",
            logo=config.get("LETTERHEAD_LOGO") or "",
        )


def new_document(
    *,
    title: str,
    committee,
    dated: date,
    reference: str | None = None,
    subject: str = "",
    landscape: bool = False,
) -> Document:
    """An empty A4 document from ``committee`` with its letterhead, dated ``dated``.

    ``reference`` is the registration number (diarienummer), when the document has one.
    """
    sender = Sender.of(committee)
    document = Document()
    props = document.core_properties
    props.title, props.subject = title, subject
    props.author = f"{sender.committee}, {sender.municipality}"
    props.language = LANGUAGE
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = (
        (Mm(297), Mm(210)) if landscape else (Mm(210), Mm(297))
    )
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, MARGIN)
    section.header_distance = section.footer_distance = Cm(1.2)
    width = text_width(section)
    _styles(document, width)
    section.different_first_page_header_footer = True
    _running_header(section.header, sender, f"Dnr {reference}" if reference else title)
    for footer in (section.first_page_footer, section.footer):
        _footer(footer, sender, width)
    _letterhead(document, sender, dated, reference)
    return document


def text_width(section) -> int:
    """The width between the margins, in twips."""
    return Emu(section.page_width - section.left_margin - section.right_margin).twips


def add_title(document: Document, title: str, subtitle: str = "") -> None:
    document.add_paragraph(title, style="Title")
    if subtitle:
        document.add_paragraph(subtitle, style="Subtitle")


def add_table(
    document: Document,
    header: Sequence[str],
    rows: Iterable[Sequence],
    mono: dict[int, int] | None = None,
):
    """A table with a header row repeated on every page, column widths from the content.

    A value is a text (its lines become paragraphs), None (empty) or a pair of a text and
    a note in italics beneath it. ``mono`` maps a column to the lines its monospace
    text may take (a SHA-256 in two lines).
    """
    return _table(document, [list(header), *map(list, rows)], header=True, mono=mono)


def add_facts(document: Document, facts: Sequence[tuple[str, str]]):
    """A two-column table of label and value."""
    return _table(document, [[label, value or "–"] for label, value in facts], labels=True)


def add_text(document: Document, text: str, empty: str = "–") -> None:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    for line in lines or [empty]:
        document.add_paragraph(line)


def to_bytes(document: Document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# --- styles -------------------------------------------------------------------------------


def _styles(document: Document, width: int) -> None:
    # python-docx's template carries Word 2010's copy of the styles (en-US); Word and
    # LibreOffice read styles.xml, which is the one set up here.
    for rid, relationship in list(document.part.rels.items()):
        if relationship.reltype.endswith("/stylesWithEffects"):
            document.part.drop_rel(rid)
    styles = document.styles
    defaults = styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _fonts(defaults, FONT)
    _lang(defaults)
    theme_language = document.settings.element.find(qn("w:themeFontLang"))
    if theme_language is not None:
        theme_language.set(qn("w:val"), LANGUAGE)
    normal = styles["Normal"]
    _restyle(normal, size=11, after=6)
    _lang(normal.element.get_or_add_rPr())
    for level, size, before in ((1, 15, 18), (2, 12.5, 14), (3, 11, 10)):
        heading = styles[f"Heading {level}"]
        _restyle(heading, size=size, bold=True, color=INK, before=before, after=4)
    title, subtitle = styles["Title"], styles["Subtitle"]
    for style, unwanted in ((title, "w:pBdr"), (subtitle, "w:numPr")):
        _drop(style.element.pPr, unwanted)  # the rule under the title, a stray list number
        _drop(style.element.rPr, "w:spacing")  # letter spacing
    _restyle(title, size=20, bold=True, color=INK, after=2)
    _restyle(subtitle, size=12, italic=False, color=MUTED, after=14)
    for name, size in (("Header", 8.5), ("Footer", 8)):
        _restyle(styles[name], size=size, color=MUTED)
        _right_tab(styles[name], width)
    for name, size, after in ((TABLE_TEXT, 10, 1), (LETTERHEAD, 11, 0)):
        style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = normal
        _restyle(style, size=size, before=after, after=after)
        style.paragraph_format.line_spacing = 1.0
    _right_tab(styles[LETTERHEAD], width)


def _restyle(style, *, size, bold=None, italic=None, color=None, before=None, after=None):
    _fonts(style.element.get_or_add_rPr(), FONT)
    style.font.size = Pt(size)
    if bold is not None:
        style.font.bold = bold
    if italic is not None:
        style.font.italic = italic
    if color is not None:
        style.font.color.rgb = color
    if before is not None:
        style.paragraph_format.space_before = Pt(before)
    if after is not None:
        style.paragraph_format.space_after = Pt(after)


def _fonts(rpr, name: str) -> None:
    """``name`` for every script, without the theme fonts that Word would prefer to it."""
    fonts = rpr.get_or_add_rFonts()
    for attribute in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"):
        fonts.attrib.pop(qn(f"w:{attribute}"), None)
    for attribute in ("ascii", "hAnsi", "eastAsia", "cs"):
        fonts.set(qn(f"w:{attribute}"), name)


def _lang(rpr) -> None:
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.insert_element_before(lang, "w:eastAsianLayout", "w:specVanish", "w:oMath")
    lang.set(qn("w:val"), LANGUAGE)


def _drop(parent, tag: str) -> None:
    if parent is not None:
        for element in parent.findall(qn(tag)):
            parent.remove(element)


def _right_tab(style, width: int) -> None:
    tabs = style.paragraph_format.tab_stops
    tabs.clear_all()
    tabs.add_tab_stop(Twips(width), WD_TAB_ALIGNMENT.RIGHT)


# --- letterhead, running header, footer ---------------------------------------------------


def _letterhead(document: Document, sender: Sender, dated: date, reference: str | None) -> None:
    _logo(document, sender)
    left = [sender.municipality, sender.committee]
    right = [f"Datum: {dated.isoformat()}"]
    if reference:
        right.append(f"Diarienummer: {reference}")
    for number in range(max(len(left), len(right))):
        paragraph = document.add_paragraph(style=LETTERHEAD)
        text = left[number] if number < len(left) else ""
        run = paragraph.add_run(text)
        if number == 0:
            run.bold, run.font.size = True, Pt(14)
        if number < len(right):
            paragraph.add_run(f"\t{right[number]}").font.size = Pt(10)
    _bottom_border(paragraph)
    paragraph.paragraph_format.space_after = Pt(18)


_IMAGE_ERRORS = (UnrecognizedImageError, InvalidImageStreamError, UnexpectedEndOfFileError)


def _logo(document: Document, sender: Sender) -> None:
    """The configured logo above the municipality's name; a warning, not an error, when the
    file is missing or not a PNG or JPEG (the letterhead then has the name only)."""
    if not sender.logo:
        return
    try:
        with open(sender.logo, "rb") as file:
            signature = file.read(8)
        if not signature.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")):
            raise UnrecognizedImageError("not a PNG or JPEG file")
        image = Image.from_file(sender.logo)
    except (OSError, *_IMAGE_ERRORS) as error:
        log.warning("PORTAL_LETTERHEAD_LOGO %s left out of the letterhead: %s", sender.logo, error)
        return
    height = LOGO_HEIGHT
    width = Emu(int(height * image.px_width / image.px_height))
    if width > LOGO_MAX_WIDTH:
        width = LOGO_MAX_WIDTH
        height = Emu(int(width * image.px_height / image.px_width))
    paragraph = document.add_paragraph(style=LETTERHEAD)
    paragraph.paragraph_format.space_after = Pt(8)
    shape = paragraph.add_run().add_picture(sender.logo, width=width, height=height)
    shape._inline.docPr.set("descr", f"{sender.municipality}s logotyp")


def _running_header(header, sender: Sender, right: str) -> None:
    paragraph = header.paragraphs[0]
    paragraph.style = "Header"
    paragraph.add_run(f"{sender.municipality} · {sender.committee}\t{right}")
    _bottom_border(paragraph, color="A6A6A6")


def _footer(footer, sender: Sender, width: int) -> None:
    """The committee and its contact details, and the page number, in one row."""
    columns = [(sender.committee, sender.municipality)]
    for label, value in (
        ("Postadress", sender.postal_address),
        ("Telefon", sender.phone),
        ("E-post", sender.email),
    ):
        if value:
            columns.append((label, value))
    page = "Sida 99 av 99"  # the widest the page number gets, for the column's width
    fit = fit_columns(
        [[f"{label}\n{value}"] for label, value in columns] + [[page]], width, sizes=(8, 7.5, 7)
    )
    table = footer.add_table(0, len(columns) + 1, Twips(width))
    _grid(table, fit.widths, width)
    _rule_above(table)
    cells = table.add_row().cells
    for cell, (label, value), column_width in zip(cells, columns, fit.widths, strict=False):
        cell.width = Twips(column_width)
        first = cell.paragraphs[0]
        first.style = "Footer"
        first.add_run(label).bold = True
        for line in value.splitlines():
            cell.add_paragraph(line, style="Footer")
    cells[-1].width = Twips(fit.widths[-1])
    number = cells[-1].paragraphs[0]
    number.style = "Footer"
    number.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    number.add_run("Sida ")
    _field(number, "PAGE", "1")
    number.add_run(" av ")
    _field(number, "NUMPAGES", "1")
    for cell in cells:
        cell.paragraphs[0].paragraph_format.space_before = Pt(4)  # air under the rule
        for run in (r for p in cell.paragraphs for r in p.runs):
            run.font.size = Pt(fit.size)


def _field(paragraph: Paragraph, instruction: str, shown: str) -> None:
    """A simple field (``w:fldSimple``), computed by Word and LibreOffice on layout."""
    run = paragraph.add_run(shown)
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), f" {instruction} ")
    run._r.addprevious(field)
    field.append(run._r)


# --- tables -------------------------------------------------------------------------------


def _table(document: Document, rows: list[list], *, header=False, labels=False, mono=None):
    if not rows:
        return None
    width = text_width(document.sections[-1])
    columns = [[_plain(row[i]) for row in rows] for i in range(len(rows[0]))]
    fit = fit_columns(columns, width, mono=mono)
    table = document.add_table(rows=0, cols=len(rows[0]))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    _grid(table, fit.widths, width)
    mono = mono or {}
    for number, values in enumerate(rows):
        row = table.add_row()
        if _short(values, fit):
            _keep_together(row)
        heading = header and number == 0
        if heading:
            _repeat_header(row)
        for column, (cell, value) in enumerate(zip(row.cells, values, strict=True)):
            cell.width = Twips(fit.widths[column])
            strong = heading or (labels and column == 0)
            _fill(cell, value, fit.size, bold=strong, mono=column in mono and not heading)
            if strong:
                _shade(cell)
    # Air between the table and what follows (Word has no spacing after a table).
    spacer = document.add_paragraph()
    spacer.paragraph_format.space_before = spacer.paragraph_format.space_after = Pt(0)
    spacer.paragraph_format.line_spacing = Pt(8)
    return table


def _short(values, fit) -> bool:
    """Whether the row takes at most a dozen lines, so that keeping it on one page (no
    fragment of a row at the foot of a page) never asks for more than a page."""
    lines = 0
    for value, width in zip(values, fit.widths, strict=True):
        room = max(width - CELL_PADDING, 1)
        texts = _plain(value).splitlines() or [""]
        cell = sum(max(1, math.ceil(text_twips(t, fit.size) / room)) for t in texts)
        lines = max(lines, cell)
    return lines <= 12


def _keep_together(row) -> None:
    element = OxmlElement("w:cantSplit")
    row._tr.get_or_add_trPr().insert_element_before(
        element, "w:trHeight", "w:tblHeader", "w:tblCellSpacing", "w:jc", "w:hidden"
    )


def _plain(value) -> str:
    if isinstance(value, tuple):
        return "\n".join(str(part) for part in value if part)
    return "" if value is None else str(value)


def _fill(cell, value, size: float, *, bold: bool, mono: bool) -> None:
    text, note = value if isinstance(value, tuple) else (value, "")
    lines = ("" if text is None else str(text)).splitlines() or [""]
    paragraphs = [cell.paragraphs[0], *(cell.add_paragraph() for _ in lines[1:])]
    runs = [_run(p, line) for p, line in zip(paragraphs, lines, strict=True)]
    if note:
        paragraphs.append(cell.add_paragraph())
        runs.append(_run(paragraphs[-1], note))
        runs[-1].italic = True
    for paragraph in paragraphs:
        paragraph.style = TABLE_TEXT
    for run in runs:
        run.font.size = Pt(size)
        run.bold = bold or None
        if mono:
            run.font.name = MONO_FONT


_WORD_HYPHEN = re.compile(r"(?<=\w)-(?=\w)")


def _run(paragraph: Paragraph, text: str):
    """A run of ``text`` where a hyphen inside a word (2026-03-31, AVT-VON-001, E-post) is a
    non-breaking one: the columns are measured with such words whole."""
    first, *rest = _WORD_HYPHEN.split(text)
    run = paragraph.add_run(first)
    for part in rest:
        run._r.append(OxmlElement("w:noBreakHyphen"))
        run._r.add_t(part)
    return run


def _grid(table, widths: Sequence[int], total: int) -> None:
    """Fixed layout, the table's width and its grid: Word and LibreOffice keep them."""
    table.autofit = False
    table_width = table._tbl.tblPr.find(qn("w:tblW"))
    table_width.set(qn("w:type"), "dxa")
    table_width.set(qn("w:w"), str(total))
    for column, width in zip(table.columns, widths, strict=True):
        column.width = Twips(width)


def _rule_above(table) -> None:
    """A rule above the table and no other borders; no cell margins left and right, so
    the rule and the text line up with the margins (the widths keep air between columns)."""
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        border = OxmlElement(f"w:{side}")
        border.set(qn("w:val"), "nil")
        borders.append(border)
    rule = borders[0]
    for name, value in (("val", "single"), ("sz", "4"), ("space", "0"), ("color", "A6A6A6")):
        rule.set(qn(f"w:{name}"), value)
    margins = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        margin = OxmlElement(f"w:{side}")
        margin.set(qn("w:w"), "0")
        margin.set(qn("w:type"), "dxa")
        margins.append(margin)
    properties = table._tbl.tblPr
    properties.insert_element_before(borders, "w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook")
    properties.insert_element_before(margins, "w:tblLook", "w:tblCaption", "w:tblDescription")


def _shade(cell) -> None:
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), SHADE)
    cell._tc.get_or_add_tcPr().insert_element_before(
        shading, "w:noWrap", "w:tcMar", "w:textDirection", "w:tcFitText", "w:vAlign", "w:hideMark"
    )


def _repeat_header(row) -> None:
    properties = row._tr.get_or_add_trPr()
    element = OxmlElement("w:tblHeader")
    element.set(qn("w:val"), "true")
    properties.append(element)


def _bottom_border(paragraph: Paragraph, color: str = "808080") -> None:
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for name, value in (("val", "single"), ("sz", "6"), ("space", "4"), ("color", color)):
        bottom.set(qn(f"w:{name}"), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().insert_element_before(borders, *_AFTER_PBDR)


_AFTER_PBDR = (
    "w:shd",
    "w:tabs",
    "w:suppressAutoHyphens",
    "w:kinsoku",
    "w:wordWrap",
    "w:overflowPunct",
    "w:topLinePunct",
    "w:autoSpaceDE",
    "w:autoSpaceDN",
    "w:bidi",
    "w:adjustRightInd",
    "w:snapToGrid",
    "w:spacing",
    "w:ind",
    "w:contextualSpacing",
    "w:mirrorIndents",
    "w:suppressOverlap",
    "w:jc",
    "w:textDirection",
    "w:textAlignment",
    "w:textboxTightWrap",
    "w:outlineLvl",
    "w:divId",
    "w:cnfStyle",
    "w:rPr",
    "w:sectPr",
    "w:pPrChange",
)
