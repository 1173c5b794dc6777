"""Which municipality a request is for, decided before anything else of the request runs.

1. Its host name, when ``PORTAL_MUNICIPALITY_URLS`` gives the municipality one
   (``nacka=https://nacka.insyn.example``).
2. Else its first path segment: ``/nacka/sok`` is ``/sok`` of Nacka. :class:`PathPrefix`
   moves the segment into ``SCRIPT_NAME``, so that routes and ``url_for`` work unchanged
   and every link the page builds keeps the prefix.
3. Else the only municipality of a single-municipality installation, or the national site.

An unknown or inactive municipality is a 404. The request then runs in that
municipality's scope (:mod:`portal.tenancy`).
"""

from __future__ import annotations

from flask import Flask, abort, g, request
from werkzeug.routing import Map
from werkzeug.utils import redirect

from portal import municipalities, tenancy
from portal.models.tenant import SLUG


class PathPrefix:
    """WSGI middleware: ``/<slug>/rest`` → ``SCRIPT_NAME=/<slug>``, ``PATH_INFO=/rest``
    for a first segment shaped like a slug that is not one of the app's own routes'."""

    def __init__(self, wsgi_app, app: Flask):
        self.wsgi_app = wsgi_app
        self.app = app
        self._reserved: frozenset[str] | None = None
        self.own_hosts = frozenset(municipalities.host_map(app.config))

    def reserved(self) -> frozenset[str]:
        if self._reserved is None:
            self._reserved = reserved_segments(self.app.url_map)
        return self._reserved

    def __call__(self, environ, start_response):
        host = (environ.get("HTTP_HOST") or "").split(":")[0].lower()
        if host not in self.own_hosts:
            path = environ.get("PATH_INFO", "")
            first, sep, rest = path.lstrip("/").partition("/")
            if sep and SLUG.fullmatch(first) and first not in self.reserved():
                environ["SCRIPT_NAME"] = f"{environ.get('SCRIPT_NAME', '')}/{first}"
                environ["PATH_INFO"] = "/" + rest
                environ["insyn.slug"] = first
        return self.wsgi_app(environ, start_response)


def reserved_segments(url_map: Map) -> frozenset[str]:
    """The first path segments of the app's routes: no municipality may be called so."""
    return frozenset(rule.rule.lstrip("/").split("/")[0] for rule in url_map.iter_rules()) - {""}


# Answered the same for every municipality, without reading the database first.
UNSCOPED = frozenset({"health", "static"})
# What the national site has (its start page lists the municipalities); the rest is 404.
NATIONAL = frozenset(
    {
        "public.index",
        "public.about",
        "public.accessibility",
        "auth.set_language",
        "municipality_root",
        "favicon",
    }
)


def _enter_municipality() -> None:
    if request.blueprint in UNSCOPED or request.endpoint in UNSCOPED:
        return
    slug = request.environ.get("insyn.slug")
    if slug is not None:
        info = municipalities.by_slug(slug)
        if info is None:
            abort(404)
    else:
        info = municipalities.by_host(request.host.split(":")[0]) or municipalities.only()
    if info is None and request.endpoint not in NATIONAL:
        abort(404)
    g.municipality = info
    g.tenancy_token = tenancy.enter(info.id if info else None)


def _municipality_root(municipality: str):
    """``/nacka`` → ``/nacka/``: the prefix of a municipality's site, without its slash."""
    if municipalities.by_slug(municipality) is None:
        abort(404)
    query = request.query_string.decode()
    target = f"{request.script_root}/{municipality}/"
    return redirect(target + (f"?{query}" if query else ""), 308)


def _leave_municipality(exc=None) -> None:
    token = g.pop("tenancy_token", None)
    if token is not None:
        tenancy.leave(token)


def init_app(app: Flask) -> None:
    app.wsgi_app = PathPrefix(app.wsgi_app, app)
    app.before_request_funcs.setdefault(None, []).insert(0, _enter_municipality)
    app.teardown_request(_leave_municipality)
    app.add_url_rule("/<municipality>", "municipality_root", _municipality_root)
    app.context_processor(
        lambda: {
            "municipality": g.get("municipality"),
            "municipality_name": municipalities.current_name(),
        }
    )
