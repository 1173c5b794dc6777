"""Small real documents for the public-site tests: a DOCX (python-docx); PDFs come from
``tests.pdfs.pdf_bytes``."""

from __future__ import annotations

import io

import docx


def make_docx(*paragraphs: str) -> bytes:
    document = docx.Document()
    document.add_heading("Kvalitetsberättelse", level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
