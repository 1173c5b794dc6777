"""HTTP validators for the public pages, the API and the feed.

ETag: a hash of the body, so it is right whatever changed (a publication, a
provider's name, the language); a revalidation costs the rendering but not the
transfer. Last-Modified: the last time any publication changed, an upper bound
for every public response (a client that sends both gets the ETag's answer, as
RFC 9110 requires). Pages stay ``no-cache`` (the factory's default for HTML:
always revalidate); API and feed responses may be kept for a minute.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps

from flask import Response, make_response, request

from portal import search

API_MAX_AGE = 60


def conditional(
    response: Response, *, last_modified: datetime | None = None, max_age: int | None = None
) -> Response:
    """Add ETag and Last-Modified to a complete 200 response and answer 304 where the
    client's copy is current."""
    if request.method not in ("GET", "HEAD") or response.status_code != 200:
        return response
    if response.is_streamed:
        return response
    if last_modified is not None:
        response.last_modified = last_modified
    if max_age is not None:
        response.cache_control.public = True
        response.cache_control.max_age = max_age
    response.add_etag()
    return response.make_conditional(request)


def cached(
    view: Callable | None = None, *, max_age: int | None = None, data_dependent: bool = True
):
    """Decorate a view whose response should carry validators.

    ``data_dependent``: the response shows publications, so Last-Modified is the last
    change of any publication; static pages get an ETag only.
    """

    def decorate(func: Callable) -> Callable:
        @wraps(func)
        def wrapper(*args, **kwargs):
            # Read before rendering: a change during rendering must not hide behind it.
            changed = search.last_modified() if data_dependent else None
            response = make_response(func(*args, **kwargs))
            return conditional(response, last_modified=changed, max_age=max_age)

        return wrapper

    return decorate(view) if view is not None else decorate
