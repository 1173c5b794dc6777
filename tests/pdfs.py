"""The one PDF builder of the tests: small real PDFs, made on the spot."""

from __future__ import annotations

import io

from pypdf import PdfReader, PdfWriter


def pdf_bytes(*pages: str, password: str | None = None) -> bytes:
    """A small real PDF: one A4 page per argument, its lines (split on newlines) in
    Helvetica (WinAnsi, so Swedish letters work), and one empty page when no text is
    given. The same arguments give the same bytes.

    With ``password`` the PDF is encrypted (AES-256, with an owner password besides) and
    opens only with that user password; ``password=""`` encrypts it with an empty user
    password, which every reader opens without asking.
    """
    pages = pages or ("",)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(len(pages))), len(pages)),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for index, page in enumerate(pages):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * index)
        )
        ops = [b"BT", b"/F1 12 Tf", b"14 TL", b"72 770 Td"]
        for line in page.split("\n") if page else []:
            escaped = line.encode("cp1252")
            for char in (b"\\", b"(", b")"):
                escaped = escaped.replace(char, b"\\" + char)
            ops.append(b"(" + escaped + b") Tj T*")
        ops.append(b"ET")
        stream = b"\n".join(ops)
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
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
    if password is None:
        return bytes(out)
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(bytes(out))))
    writer.encrypt(user_password=password, owner_password="ägare", algorithm="AES-256")
    encrypted = io.BytesIO()
    writer.write(encrypted)
    return encrypted.getvalue()
