"""Streaming downloads of stored objects: ranges, validators and safe headers.

Knows nothing of attachment rows: :func:`portal.attachments.send_attachment` refuses a
file still in quarantine or found infected and passes the row's metadata to
:func:`send_object`. Access is not checked here: the caller asks the policy module first.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from flask import Response, request

from storage import current_store
from storage.names import safe_display_name
from storage.store import ObjectNotFound, ObjectStream

# Types a browser may show in the page; everything else is offered as a download.
INLINE_SAFE = {"application/pdf", "image/png", "image/jpeg", "text/plain"}
_MARKUP = {
    "text/html",
    "application/xhtml+xml",
    "text/xml",
    "application/xml",
    "image/svg+xml",
    "text/javascript",
    "application/javascript",
    "text/xsl",
    "application/xslt+xml",
}
_RFC5987_SAFE = "!#$&+-.^_`|~"
DOWNLOAD_CHUNK = 1024 * 1024  # fewer, larger writes: the worker's CPU, not memory, is the limit


def never_inline(content_type: str) -> bool:
    """HTML, SVG, XML and scripts: never rendered by the browser from our origin."""
    base = content_type.split(";", 1)[0].strip().lower()
    return base in _MARKUP or base.endswith("+xml") or "script" in base


def ascii_fallback(filename: str) -> str:
    """``Åtgärdsplan "2024".pdf`` → ``Atgardsplan _2024_.pdf`` for clients without RFC 5987."""
    decomposed = unicodedata.normalize("NFKD", filename)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\%;' else "_" for ch in plain)
    return plain.strip() or "fil"


def content_disposition(disposition: str, filename: str) -> str:
    """RFC 6266 header value: an ASCII ``filename`` and the exact UTF-8 ``filename*``."""
    name = safe_display_name(filename)
    return (
        f'{disposition}; filename="{ascii_fallback(name)}"; '
        f"filename*=UTF-8''{quote(name, safe=_RFC5987_SAFE)}"
    )


def send_object(
    key: str,
    *,
    size: int,
    etag: str,
    content_type: str,
    filename: str,
    inline: bool = False,
    fallback: str | None = None,
) -> Response:
    """Stream the object ``key`` with Range, ETag and conditional-GET support.

    ``size``, ``etag`` (the content's sha256) and ``content_type`` are the caller's record
    of the object; ``filename`` is offered to the browser. Only the types of
    :data:`INLINE_SAFE` are shown in the page, and only when ``inline`` asks for it.
    ``fallback`` is read when ``key`` is missing (see :func:`open_object`).
    """
    content_type = content_type or "application/octet-stream"
    base_type = content_type.split(";", 1)[0].strip().lower()
    show_inline = inline and base_type in INLINE_SAFE and not never_inline(content_type)
    headers = {
        "Content-Disposition": content_disposition(
            "inline" if show_inline else "attachment", filename
        ),
        "X-Content-Type-Options": "nosniff",
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, no-cache",
    }
    if base_type != "application/pdf":
        # Browsers' PDF viewers break under a sandbox; nothing else needs more than this.
        headers["Content-Security-Policy"] = "default-src 'none'; sandbox; frame-ancestors 'none'"

    if request.if_none_match and request.if_none_match.contains_weak(etag):
        response = Response(status=304, headers=headers)
        response.set_etag(etag)
        return response

    status, offset, length = 200, 0, size
    wanted = request.range
    if_range = request.if_range
    if if_range.etag is not None or if_range.date is not None:
        # Our validator is the ETag; a date in If-Range (or another ETag) gets the whole file.
        wanted = wanted if if_range.etag == etag else None
    if wanted is not None and len(wanted.ranges) == 1:
        span = wanted.range_for_length(size)
        if span is None:
            response = Response(status=416, headers=headers)
            response.headers["Content-Range"] = f"bytes */{size}"
            response.set_etag(etag)
            return response
        offset, stop = span
        status, length = 206, stop - offset
        headers["Content-Range"] = f"bytes {offset}-{stop - 1}/{size}"

    stream = open_object(key, offset, length, fallback=fallback)
    stream.chunk_size = DOWNLOAD_CHUNK
    response = Response(
        stream, status=status, headers=headers, content_type=content_type, direct_passthrough=True
    )
    response.content_length = length
    response.set_etag(etag)
    return response


def open_object(
    key: str, offset: int = 0, length: int | None = None, *, fallback: str | None = None
) -> ObjectStream:
    """Open ``key``, or ``fallback`` when ``key`` is missing: a released file is read from
    its quarantined copy until the copy to ``clean/`` is made (the same bytes)."""
    store = current_store()
    try:
        return store.get(key, offset, length)
    except ObjectNotFound:
        if fallback is None:
            raise
        return store.get(fallback, offset, length)
