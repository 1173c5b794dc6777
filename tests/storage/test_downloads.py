"""Downloads: exact byte ranges, validators and headers that keep the browser safe."""

from __future__ import annotations

import io
import os
from urllib.parse import unquote

import pytest

from portal.extensions import db
from portal.models import Attachment, ScanStatus
from storage import current_store
from storage.downloads import ascii_fallback, content_disposition
from tests.pdfs import pdf_bytes


@pytest.fixture
def stored(app, upload):
    """A clean text file of 10 000 random-ish bytes (uploaded as text) and its data."""
    data = (os.urandom(5000).hex().encode())[:10_000]
    result = upload(data, "Åtgärdsplan för Örebro.txt").json
    assert result["status"] == "clean", result
    return result, data


def get(client, attachment_id: int, **headers):
    return client.get(f"/_test/files/{attachment_id}", headers=headers)


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_full_download(client, stored, backend):
    result, data = stored
    response = get(client, result["id"])
    assert response.status_code == 200
    assert response.data == data
    assert response.headers["Content-Length"] == str(len(data))
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["ETag"] == f'"{result["sha256"]}"'


@pytest.mark.parametrize("backend", ["local", "s3"])
@pytest.mark.parametrize(
    ("header", "start", "stop"),
    [
        ("bytes=0-0", 0, 1),
        ("bytes=100-199", 100, 200),
        ("bytes=9990-", 9990, 10_000),
        ("bytes=-10", 9990, 10_000),
        ("bytes=5000-999999", 5000, 10_000),
    ],
)
def test_range_returns_exact_bytes(client, stored, backend, header, start, stop):
    result, data = stored
    response = get(client, result["id"], Range=header)
    assert response.status_code == 206
    assert response.data == data[start:stop]
    assert response.headers["Content-Range"] == f"bytes {start}-{stop - 1}/{len(data)}"
    assert response.headers["Content-Length"] == str(stop - start)


def test_unsatisfiable_range_is_416(client, stored):
    result, data = stored
    response = get(client, result["id"], Range="bytes=20000-30000")
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{len(data)}"


def test_multiple_ranges_get_the_whole_file(client, stored):
    result, data = stored
    response = get(client, result["id"], Range="bytes=0-1,5-6")
    assert response.status_code == 200 and response.data == data


def test_if_range_with_another_etag_gets_the_whole_file(client, stored):
    result, data = stored
    response = get(client, result["id"], Range="bytes=0-9", **{"If-Range": '"other"'})
    assert response.status_code == 200 and response.data == data
    response = get(client, result["id"], Range="bytes=0-9", **{"If-Range": f'"{result["sha256"]}"'})
    assert response.status_code == 206 and response.data == data[:10]


def test_conditional_get_is_304(client, stored):
    result, _ = stored
    response = get(client, result["id"], **{"If-None-Match": f'"{result["sha256"]}"'})
    assert response.status_code == 304
    assert response.data == b""
    assert get(client, result["id"], **{"If-None-Match": '"x"'}).status_code == 200


def test_content_disposition_keeps_swedish_letters(client, stored):
    result, _ = stored
    value = get(client, result["id"]).headers["Content-Disposition"]
    assert value.startswith("attachment; ")
    assert 'filename="Atgardsplan for Orebro.txt"' in value
    encoded = value.split("filename*=UTF-8''", 1)[1]
    assert unquote(encoded) == "Åtgärdsplan för Örebro.txt"
    assert all(ord(ch) < 128 for ch in value)


def test_inline_only_for_safe_types(app, client, upload):
    pdf = upload(pdf_bytes(), "rapport.pdf").json
    inline = client.get(f"/_test/files/{pdf['id']}?inline=1")
    assert inline.headers["Content-Disposition"].startswith("inline; ")
    assert (
        "Content-Security-Policy" not in inline.headers
        or "sandbox" not in inline.headers["Content-Security-Policy"]
    )

    # A row claiming HTML (it can't come through the upload pipeline) is still not inline.
    data = b"<html><script>alert(1)</script></html>"
    current_store().put("clean/" + "a" * 64, io.BytesIO(data), len(data))
    html = Attachment(
        sha256="a" * 64,
        size=len(data),
        content_type="text/html",
        display_name="sida.html",
        scan_status=ScanStatus.CLEAN,
    )
    db.session.add(html)
    db.session.commit()
    response = client.get(f"/_test/files/{html.id}?inline=1")
    assert response.headers["Content-Disposition"].startswith("attachment; ")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    db.session.delete(html)
    db.session.commit()
    current_store().delete("clean/" + "a" * 64)


def test_header_helpers():
    assert ascii_fallback('Åtgärd "x"\\.pdf') == "Atgard _x__.pdf"
    assert ascii_fallback("日本.pdf") == "__.pdf"
    assert content_disposition("attachment", "a;b.pdf").startswith(
        "attachment; filename=\"a_b.pdf\"; filename*=UTF-8''a%3Bb.pdf"
    )
