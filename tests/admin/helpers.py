"""Building blocks for the staff tests: answers with real files, documents with known text."""

from __future__ import annotations

import io

import docx
from werkzeug.datastructures import FileStorage

from portal import workflow
from portal.attachments import accept_upload
from portal.extensions import db
from portal.models import Attachment, Submission, User

# Skatteverket's fictitious example numbers: valid checksums.
PERSONNUMMER = "19121212-1212"
PERSONNUMMER_SHORT = "811218-9876"
SAMORDNINGSNUMMER = "701063-2391"
BAD_CHECKSUM = "811218-9877"


def upload(user: User, filename: str, data: bytes, slot: str = "") -> Attachment:
    """A file through the real upload pipeline (spool, scan, sniff, store)."""
    return accept_upload(
        FileStorage(stream=io.BytesIO(data), filename=filename), uploader=user, slot=slot
    )


def answer(
    submission: Submission, author: User, answers: dict | None = None, files=()
) -> Submission:
    """Save and submit ``answers`` and ``files`` ((slot, name, bytes)) as ``author``; commits."""
    draft = workflow.save_draft(submission, author, answers or {})
    for slot, name, data in files:
        upload(author, name, data, slot).version = draft
    db.session.commit()  # the scan jobs run at commit; only clean files may be sent
    workflow.submit(submission, author)
    db.session.commit()
    return submission


def make_docx(*paragraphs: str) -> bytes:
    document = docx.Document()
    document.add_heading("Kvalitetsberättelse", level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def reopen(data: bytes) -> docx.Document:
    return docx.Document(io.BytesIO(data))


def docx_text(document: docx.Document) -> str:
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)
