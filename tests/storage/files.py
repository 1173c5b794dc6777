"""Real files of every kind the tests need, made on the spot (no binary fixtures in git)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import docx

EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SIGNATURE = "Insyn.Test.EICAR"

DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


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
