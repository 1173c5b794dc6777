"""The receipt of a submitted version as a Word document: who, when, what, and the
SHA-256 of every attached file, so the provider can show exactly what the
municipality received."""

from __future__ import annotations

import io

from docx import Document
from docx.shared import Pt
from flask import current_app

from portal.dates import local
from portal.models import SubmissionKind, SubmissionVersion
from portal.models.base import utcnow
from portal.provider.answers import answer_rows, format_file_size, kind_label, measures_of


def moment(value) -> str:
    """A UTC timestamp as Swedish local time, ``2026-11-23 kl. 14:05``."""
    return local(value).strftime("%Y-%m-%d kl. %H:%M")


def _rows(document, rows: list[tuple[str, str]]) -> None:
    table = document.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, value in rows:
        cells = table.add_row().cells
        cells[0].text = ""
        cells[0].paragraphs[0].add_run(label).bold = True
        cells[1].text = value


def receipt(version: SubmissionVersion) -> bytes:
    """The receipt of ``version`` (which must be submitted) as .docx bytes."""
    if version.submitted_at is None:
        raise ValueError("only a submitted version has a receipt")
    submission = version.submission
    provider = submission.provider
    municipality = current_app.config["MUNICIPALITY"]
    submitter = version.submitted_by

    document = Document()
    document.core_properties.title = f"Kvitto {submission.registration_number}"
    document.core_properties.author = municipality
    document.core_properties.subject = submission.title
    document.styles["Normal"].font.name = "Calibri"
    document.styles["Normal"].font.size = Pt(11)

    document.add_heading("Kvitto på inlämning", level=1)
    document.add_paragraph(
        f"{municipality} har tagit emot följande från {provider.name}. "
        "Spara kvittot: kontrollsummorna (SHA-256) visar att filerna kommunen tog emot är "
        "identiska med era."
    )
    what = kind_label(submission.kind)
    if version.number > 1:
        what += f", version {version.number}"
    rows = [
        ("Diarienummer", submission.registration_number or "–"),
        ("Ärende", submission.title),
        ("Typ", what),
        ("Nämnd", submission.committee.name),
        ("Utförare", f"{provider.name} ({provider.org_number})"),
        ("Inskickad", moment(version.submitted_at)),
        (
            "Inskickad av",
            f"{submitter.name or submitter.email} <{submitter.email}>" if submitter else "–",
        ),
    ]
    if submission.request is not None:
        rows.insert(3, ("Svar på begäran", submission.request.registration_number))
    if submission.deviation is not None:
        rows.insert(3, ("Gäller avvikelse", submission.deviation.registration_number or "–"))
    _rows(document, rows)

    answers = [r for r in answer_rows(submission, version) if not r.is_file]
    if answers:
        document.add_heading("Lämnade uppgifter", level=2)
        _rows(document, [(r.label, r.text) for r in answers])
    if submission.kind == SubmissionKind.ACTION_PLAN:
        document.add_heading("Åtgärder", level=2)
        table = document.add_table(rows=1, cols=5)
        table.style = "Table Grid"
        for cell, text in zip(
            table.rows[0].cells,
            ("Åtgärd", "Ansvarig", "Klar senast", "Status", "Genomförd"),
            strict=True,
        ):
            cell.text = ""
            cell.paragraphs[0].add_run(text).bold = True
        for measure in measures_of(version):
            cells = table.add_row().cells
            cells[0].text = measure.description
            cells[1].text = measure.owner
            cells[2].text = measure.due
            cells[3].text = measure.status_label
            cells[4].text = measure.done_on or ""
    if version.note:
        document.add_heading("Kommentar till kommunen", level=2)
        document.add_paragraph(version.note)

    document.add_heading("Bifogade filer", level=2)
    if version.attachments:
        table = document.add_table(rows=1, cols=3)
        table.style = "Table Grid"
        for cell, text in zip(table.rows[0].cells, ("Fil", "Storlek", "SHA-256"), strict=True):
            cell.text = ""
            cell.paragraphs[0].add_run(text).bold = True
        for attachment in version.attachments:
            cells = table.add_row().cells
            cells[0].text = attachment.display_name
            cells[1].text = format_file_size(attachment.size)
            cells[2].text = attachment.sha256
    else:
        document.add_paragraph("Inga filer bifogades.")

    document.add_paragraph(f"Kvittot skapades {moment(utcnow())} av Insyn, {municipality}.").runs[
        0
    ].italic = True
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
