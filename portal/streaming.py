"""Streamed responses that keep reading the database while they stream.

Flask ends a request before the server sends its body: ``wsgi_app`` returns the
response and pops the request and application contexts at once. Popping them runs
the teardown functions: ``portal.errors`` sends the mails the request queued (and
commits), and Flask-SQLAlchemy's ``teardown_appcontext`` calls ``session.remove()``,
which closes the request's session. ``stream_with_context`` pushes the same contexts
again while the body is iterated, but the session is gone by then: a ``yield_per``
result that the view had started dies with it ("identity map is no longer valid"),
and objects the view loaded are detached (``DetachedInstanceError`` on the first lazy
load). Every streamed export answered 500 under a real server; the test client hid it
when an application context of the test outlived the request's.

:func:`streamed_response` takes the request's session out of Flask-SQLAlchemy's
registry before the teardown can close it, and hands it back only while the body
generator runs, so teardowns (the request's own, or those of any context around it)
never see it. The stream closes the session when it ends, or when the server closes
the response early (a client that went away), so no connection is left behind.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Response, stream_with_context

from portal.extensions import db

_END = object()


def streamed_response(chunks: Iterable, **response_args) -> Response:
    """A :class:`Response` streaming ``chunks`` (an iterable, usually a generator that
    queries the database as it goes) in the request's contexts and database session."""
    registry = db.session.registry
    session = db.session()
    registry.clear()  # from here on the stream owns the session; teardown closes another
    source = iter(chunks)

    def generate():
        try:
            while True:
                previous = registry() if registry.has() else None
                registry.set(session)
                try:
                    chunk = next(source, _END)
                finally:
                    if previous is None:
                        registry.clear()
                    else:
                        registry.set(previous)
                if chunk is _END:
                    return
                yield chunk
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()
            session.close()

    response = Response(stream_with_context(generate()), **response_args)
    # A body never iterated (the client went away first) never runs the finally above.
    response.call_on_close(session.close)
    return response
