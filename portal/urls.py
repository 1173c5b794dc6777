"""The URLs the portal hands out, each decided in one place.

- :func:`external_url`: every absolute link (mail, feed, API, .docx, CSV) is built on
  the configured base URL of its municipality's site, never on the Host header a request
  claims.
- :func:`safe_redirect_target`: every ``next``/return parameter, read the way a browser
  reads it, is followed only when it stays on this site.
- :func:`url_with`: this page with other query arguments, carrying only plain query
  names (never ``url_for``'s own ``_external``/``_scheme``/``_anchor``).
- :func:`this_page`: this page as a ``next`` parameter, to come back to.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode, urlsplit

from flask import current_app, request, url_for

from portal import municipalities

# What a browser drops from a URL before reading it (WHATWG URL: tab, LF, CR anywhere,
# C0 controls and space at the ends).
_DROPPED = re.compile(r"[\t\n\r]")
_STRIPPED = "".join(chr(c) for c in range(0x21))
_QUERY_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}\Z")


def external_url(endpoint: str, **values) -> str:
    """The absolute URL of ``endpoint`` on the current municipality's site (in a request,
    a job or a command), nationally on ``PORTAL_BASE_URL``."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return municipalities.base_url(municipalities.current()) + path


def safe_redirect_target(target: str | None, default: str) -> str:
    """``target`` when it is a path on this site, otherwise ``default``.

    The check runs on what a browser would make of the value: tabs and line breaks
    removed, leading spaces and controls stripped, backslashes read as slashes. What is
    left must have no scheme and no host and start with a single ``/``.
    """
    if not target:
        return default
    cleaned = _DROPPED.sub("", target).strip(_STRIPPED)
    as_browser = cleaned.replace("\\", "/")
    if not as_browser.startswith("/") or as_browser.startswith("//"):
        return default
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in as_browser):
        return default
    try:
        parts = urlsplit(as_browser)
    except ValueError:
        return default
    if parts.scheme or parts.netloc:
        return default
    return as_browser


def url_with(**changes) -> str:
    """This page's URL with some query arguments changed (None or "" removes one).

    Only plain query names are carried over; the route's own arguments come from the
    route, not from the query string.
    """
    view_args = request.view_args or {}
    args = {
        key: value
        for key, value in request.args.items()
        if value != "" and _QUERY_NAME.match(key) and key not in view_args
    }
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = str(value)
    return url_for(request.endpoint, **view_args, **args)


# Query arguments that belong to one post of a form, not to the page.
_ONE_POST_ONLY = {"upload_token"}


def this_page() -> str:
    """This page's path and query, to come back to (a ``next`` parameter): without the bare
    ``?`` that ``request.full_path`` ends in when there is no query, and without the upload
    token of a form post (the address of a form shown again after a post carries it)."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k not in _ONE_POST_ONLY]
    return request.script_root + request.path + (f"?{urlencode(args)}" if args else "")
