"""Real files of every kind the tests need, made on the spot (no binary fixtures in git)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import docx
from pypdf import PdfReader, PdfWriter

EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SIGNATURE = "Insyn.Test.EICAR"

DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def pdf_bytes(*pages: str, password: str | None = None) -> bytes:
    """A small real PDF, the one PDF builder of the tests: one A4 page per argument, its
    lines (split on newlines) in Helvetica (WinAnsi, so Swedish letters work), and one
    empty page when no text is given. The same arguments give the same bytes.

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


def docx_bytes(text: str = "Åtgärdsplan för hemtjänsten i Exempelby.") -> bytes:
    document = docx.Document()
    document.add_heading("Åtgärdsplan", level=1)
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def with_zip_member(data: bytes, name: str, content: bytes) -> bytes:
    """``data`` (a zip) with one more member."""
    out = io.BytesIO(data)
    with zipfile.ZipFile(out, "a") as archive:
        archive.writestr(name, content)
    return out.getvalue()


def zip_bytes(members: dict[str, bytes], *, first: str | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        if first is not None:
            archive.writestr(
                zipfile.ZipInfo(first), members[first], compress_type=zipfile.ZIP_STORED
            )
        for name, content in members.items():
            if name != first:
                archive.writestr(name, content)
    return out.getvalue()


def xlsx_bytes(*, macro: bool = False) -> bytes:
    main = "application/vnd.ms-excel.sheet.macroEnabled.main+xml" if macro else XLSX_MAIN
    types = (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Override PartName="/xl/workbook.xml" '
        f'ContentType="{main}"/></Types>'
    ).encode()
    return zip_bytes({"[Content_Types].xml": types, "xl/workbook.xml": b"<workbook/>"})


def odf_bytes(
    mimetype: str = "application/vnd.oasis.opendocument.text",
    *,
    extra: dict[str, bytes] | None = None,
) -> bytes:
    members = {
        "mimetype": mimetype.encode(),
        "content.xml": b'<?xml version="1.0"?><office:document-content/>',
        "META-INF/manifest.xml": b'<?xml version="1.0"?><manifest:manifest/>',
        **(extra or {}),
    }
    return zip_bytes(members, first="mimetype")


def png_bytes(width: int = 2, height: int = 2) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def jpeg_bytes() -> bytes:
    return (
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        + b"\x00" * 64
        + b"\xff\xd9"
    )


def sparse_file(path: Path, size: int, *, head: bytes = b"") -> Path:
    """A file of ``size`` bytes that costs no disk: ``head`` and then a hole of zeros."""
    with open(path, "wb") as handle:
        handle.write(head)
        handle.truncate(size)
    return path


def multipart_body(
    path: Path,
    file_size: int,
    *,
    filename: str = "stor.txt",
    field: str = "file",
    boundary: str = "insyn-boundary-7f3a",
) -> tuple[Path, str]:
    """A multipart/form-data body on disk with one file part of ``file_size`` zero bytes
    (sparse), plus its Content-Type header value."""
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
        f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    with open(path, "wb") as handle:
        handle.write(head)
        handle.truncate(len(head) + file_size)
        handle.seek(0, 2)
        handle.write(tail)
    return path, f"multipart/form-data; boundary={boundary}"
