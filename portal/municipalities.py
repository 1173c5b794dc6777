"""The installation's municipalities as the pages and documents see them: names, contact
details and the base URL of each one's site.

Read from the ``municipality`` table (national: no tenant filter) through a short cache,
so that resolving a request's municipality costs no query most of the time. A change by
the operator shows everywhere within ``TTL`` seconds (at once in the process that made it).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa
from cachetools import TTLCache
from flask import current_app

from portal import tenancy
from portal.extensions import db
from portal.models import Municipality

TTL = 60


@dataclass(frozen=True)
class MunicipalityInfo:
    """What is shown of a municipality: a plain copy of its row, safe outside a session."""

    id: int
    slug: str
    name: str
    org_number: str | None
    email: str | None
    phone: str | None
    postal_address: str | None
    website: str | None
    active: bool


def _directory() -> dict[str, MunicipalityInfo]:
    cache = current_app.extensions.setdefault("insyn.municipalities", TTLCache(1, TTL))
    directory = cache.get("all")
    if directory is None:
        query = sa.select(Municipality.__table__)
        if db.session().in_transaction():  # no second connection while the session holds one
            rows = db.session.execute(query).mappings().all()
        else:  # nor a transaction begun before the request's scope is known
            with db.engine.connect() as connection:
                rows = connection.execute(query).mappings().all()
        directory = {
            row["slug"]: MunicipalityInfo(**{f: row[f] for f in MunicipalityInfo.__annotations__})
            for row in rows
        }
        cache["all"] = directory
    return directory


def forget() -> None:
    """Drop the cache (after a municipality was created or changed in this process)."""
    current_app.extensions.pop("insyn.municipalities", None)


def by_slug(slug: str) -> MunicipalityInfo | None:
    info = _directory().get(slug)
    return info if info is not None and info.active else None


def by_id(municipality_id: int | None) -> MunicipalityInfo | None:
    return next((m for m in _directory().values() if m.id == municipality_id), None)


def active() -> list[MunicipalityInfo]:
    return sorted((m for m in _directory().values() if m.active), key=lambda m: m.name)


def current() -> MunicipalityInfo | None:
    """The municipality of the current scope (None nationally)."""
    return by_id(tenancy.current_id())


def current_name() -> str:
    """The current municipality's name; nationally, the installation's."""
    info = current()
    return info.name if info is not None else current_app.config["INSTALLATION_NAME"]


def by_host(host: str) -> MunicipalityInfo | None:
    """The municipality whose own host name (``PORTAL_MUNICIPALITY_URLS``) ``host`` is."""
    slug = host_map(current_app.config).get(host.lower())
    return by_slug(slug) if slug else None


def host_map(config) -> dict[str, str]:
    """Own host name → slug, from ``config["MUNICIPALITY_URLS"]``."""
    return {urlsplit(url).hostname: slug for slug, url in config["MUNICIPALITY_URLS"].items()}


def only() -> MunicipalityInfo | None:
    """The municipality of an installation that serves exactly one and maps no host names
    (the single-municipality set-up: its site is the whole site)."""
    if current_app.config["MUNICIPALITY_URLS"]:
        return None
    served = active()
    return served[0] if len(served) == 1 else None


def base_url(info: MunicipalityInfo | None) -> str:
    """The root of ``info``'s site: its own host name, else the national site with its
    path prefix (or without, when it is the only one); nationally, the national site."""
    config = current_app.config
    national = config["BASE_URL"].rstrip("/")
    if info is None:
        return national
    if own := config["MUNICIPALITY_URLS"].get(info.slug):
        return own.rstrip("/")
    if only() == info:
        return national
    return f"{national}/{info.slug}"
