"""Streaming downloads of attachments: ranges, validators and safe headers.

Access is not checked here: the caller asks the policy module first.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from flask import Response, abort, request

from portal.models import Attachment
from storage import current_store
from storage.names import safe_display_name

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

PENDING_MESSAGE = "Filen väntar på virusgenomsökning och kan inte hämtas ännu. Försök igen senare."
INFECTED_MESSAGE = (
    "Filen är borttagen: viruskontrollen hittade skadlig kod i den. "
    "Den som laddade upp filen har fått besked."
)


def unavailable(attachment: Attachment) -> tuple[int, str] | None:
    """Why ``attachment`` cannot be served, as (status, message), or None when it can."""
    if attachment.infected:
        return 410, INFECTED_MESSAGE
    if not attachment.released:
        return 409, PENDING_MESSAGE
    return None


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


def send_attachment(attachment: Attachment, *, inline: bool = False) -> Response:
    """Stream ``attachment`` to the client with Range, ETag and conditional-GET support.

    A file still waiting in quarantine is never served (409), nor one found infected (410).
    """
    refused = unavailable(attachment)
    if refused:
        abort(refused[0], description=refused[1])
    etag = attachment.sha256
    content_type = attachment.content_type or "application/octet-stream"
    base_type = content_type.split(";", 1)[0].strip().lower()
    show_inline = inline and base_type in INLINE_SAFE and not never_inline(content_type)
    headers = {
        "Content-Disposition": content_disposition(
            "inline" if show_inline else "attachment", attachment.display_name
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

    size = attachment.size
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

    stream = current_store().get(attachment.storage_key, offset, length)
    stream.chunk_size = DOWNLOAD_CHUNK
    response = Response(
        stream, status=status, headers=headers, content_type=content_type, direct_passthrough=True
    )
    response.content_length = length
    response.set_etag(etag)
    return response
