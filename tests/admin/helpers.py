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
    db.session.flush()
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


def make_pdf(*lines: str) -> bytes:
    """A one-page PDF with Helvetica text (WinAnsi), small enough to read at a glance."""
    ops = [b"BT", b"/F1 12 Tf", b"14 TL", b"72 770 Td"]
    for line in lines:
        escaped = line.encode("cp1252").replace(b"\\", b"\\\\").replace(b"(", b"\\(")
        ops.append(b"(" + escaped.replace(b")", b"\\)") + b") Tj T*")
    ops.append(b"ET")
    stream = b"\n".join(ops)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def reopen(data: bytes) -> docx.Document:
    return docx.Document(io.BytesIO(data))


def docx_text(document: docx.Document) -> str:
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)
