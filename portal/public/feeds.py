"""Atom feeds of publications (RFC 4287): all of them, or those matching the search
filters (one provider, service area, committee, ...). Withdrawn publications leave
the feed as tombstones (RFC 6721), so that readers can remove what they kept."""

from __future__ import annotations

from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from flask import Response, request
from flask_babel import get_locale
from flask_babel import gettext as _

from portal import labels, municipalities, search
from portal.caching import API_MAX_AGE, conditional
from portal.extensions import db
from portal.models import Committee, Provider, Publication, ServiceArea
from portal.public import bp
from portal.rate_limits import public_search
from portal.search import Filters, InvalidFilter
from portal.urls import external_url

ATOM = "http://www.w3.org/2005/Atom"
TOMBSTONES = "http://purl.org/atompub/tombstones/1.0"
FEED_SIZE = 50
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

ET.register_namespace("", ATOM)
ET.register_namespace("at", TOMBSTONES)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _sub(
    parent: ET.Element, tag: str, text: str | None = None, ns: str = ATOM, **attributes
) -> ET.Element:
    element = ET.SubElement(
        parent, f"{{{ns}}}{tag}", {k: v for k, v in attributes.items() if v is not None}
    )
    if text is not None:
        element.text = text
    return element


def feed_title(filters: Filters) -> str:
    """ "Publicerat om Omsorgshuset AB" and the like; the municipality's name first."""
    parts = []
    for name, model in (
        ("provider", Provider),
        ("service_area", ServiceArea),
        ("committee", Committee),
    ):
        ident = getattr(filters, name)
        if ident is not None:
            obj = db.session.get(model, ident)
            parts.append(obj.name if obj is not None else str(ident))
    if filters.kind is not None:
        parts.append(labels.label(filters.kind))
    if filters.ownership is not None:
        parts.append(labels.label(filters.ownership))
    if filters.year is not None:
        parts.append(str(filters.year))
    if filters.q:
        parts.append(f"”{filters.q}”")
    base = _("Insyn %(municipality)s: publicerat", municipality=municipalities.current_name())
    return f"{base} – {', '.join(parts)}" if parts else base


def build_feed(filters: Filters) -> bytes:
    entries = search.search(filters, sort="newest", per_page=FEED_SIZE).items
    gone = search.withdrawn(filters)
    times = [p.updated_at for p in entries] + [p.withdrawn_at or p.updated_at for p in gone]
    args = filters.args()

    feed = ET.Element(f"{{{ATOM}}}feed", {XML_LANG: str(get_locale())})
    self_url = external_url("public.feed", **args)
    _sub(feed, "id", self_url)
    _sub(feed, "title", feed_title(filters))
    _sub(
        feed,
        "subtitle",
        _(
            "Det kommunen har publicerat om utförare: svar på kommunens "
            "frågor, avvikelser och åtgärdsplaner."
        ),
    )
    _sub(feed, "updated", _rfc3339(max(times) if times else (search.last_modified() or EPOCH)))
    _sub(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    _sub(
        feed,
        "link",
        rel="alternate",
        type="text/html",
        href=external_url("public.search_page", **args),
    )
    author = _sub(feed, "author")
    _sub(author, "name", municipalities.current_name())
    _sub(feed, "generator", "Insyn")

    for publication in entries:
        _entry(feed, publication)
    for publication in gone:
        tombstone = _sub(
            feed,
            "deleted-entry",
            ns=TOMBSTONES,
            ref=_entry_id(publication),
            when=_rfc3339(publication.withdrawn_at or publication.updated_at),
        )
        _sub(tombstone, "comment", publication.withdrawn_reason or "", ns=TOMBSTONES)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _entry_id(publication: Publication) -> str:
    return external_url("public.publication", publication_id=publication.id)


def _entry(feed: ET.Element, publication: Publication) -> None:
    submission = publication.submission
    entry = _sub(feed, "entry")
    _sub(entry, "id", _entry_id(publication))
    _sub(entry, "title", publication.title)
    _sub(entry, "published", _rfc3339(publication.published_at))
    _sub(entry, "updated", _rfc3339(publication.updated_at))
    _sub(entry, "link", rel="alternate", type="text/html", href=_entry_id(publication))
    author = _sub(entry, "author")
    _sub(author, "name", submission.provider.name)
    _sub(author, "uri", external_url("public.provider", provider_id=submission.provider_id))
    _sub(entry, "category", term=submission.kind.value, label=labels.label(submission.kind))
    if submission.service_area is not None:
        _sub(
            entry,
            "category",
            term=f"service_area:{submission.service_area_id}",
            label=submission.service_area.name,
        )
    _sub(
        entry,
        "category",
        term=f"committee:{submission.committee_id}",
        label=submission.committee.name,
    )
    details = [submission.committee.name]
    if submission.registration_number:
        details.append(_("Diarienummer %(number)s", number=submission.registration_number))
    summary = publication.summary.strip()
    _sub(entry, "summary", (summary + "\n\n" if summary else "") + " · ".join(details), type="text")


@bp.get("/flode.atom")
@public_search
def feed():
    try:
        filters = search.parse_filters(request.args)
    except InvalidFilter as invalid:
        return Response(f"{invalid.param}: {invalid.message}\n", status=400, mimetype="text/plain")
    changed = search.last_modified()
    response = Response(build_feed(filters), mimetype="application/atom+xml")
    return conditional(response, last_modified=changed, max_age=API_MAX_AGE)
