"""Public pages: start, search and browse, publication, documents, providers, compare,
about, accessibility statement and open data."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import abort, current_app, g, render_template, request
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from portal import csv_files, labels, municipalities, search, tenancy
from portal.caching import cached
from portal.extensions import db
from portal.models import (
    Agreement,
    Ownership,
    Provider,
    Publication,
    PublicationState,
    ServiceArea,
    Submission,
)
from portal.public import bp
from portal.public.helpers import template_helpers
from portal.published import comparison as comparing
from portal.published.answers import NOT_PUBLISHED, UNANSWERED, is_report, public_answers
from portal.rate_limits import public_search
from portal.search import Filters, InvalidFilter
from portal.tenancy_cli import for_each_municipality
from portal.urls import external_url

# When the accessibility statement was last reviewed against the pages (the law asks for it).
ACCESSIBILITY_REVIEWED = date(2026, 11, 23)


bp.context_processor(template_helpers)


def _filters_or_400():
    try:
        filters = search.parse_filters(request.args)
        return filters, search.parse_sort(request.args, filters), search.parse_page(request.args)
    except InvalidFilter as invalid:
        return invalid, None, None


def _bad_request(invalid: InvalidFilter, template: str = "public/search.html", **context):
    return render_template(
        template, error=invalid, filters=Filters(), results=None, facets=None, **context
    ), 400


# --- start and search --------------------------------------------------------------------


@bp.get("/")
@cached
def index():
    if g.municipality is None:
        return render_template(
            "public/national.html",
            sites=[(m, municipalities.base_url(m)) for m in municipalities.active()],
        )
    counts = search.facets(Filters())
    return render_template(
        "public/index.html",
        latest=search.latest(8),
        areas=counts["service_area"].values,
        committees=counts["committee"].values,
        total=sum(v.count for v in counts["kind"].values),
    )


@bp.get("/sok")
@public_search
@cached
def search_page():
    filters, sort, page = _filters_or_400()
    if isinstance(filters, InvalidFilter):
        return _bad_request(filters)
    results = search.search(filters, sort=sort, page=page)
    text_only = filters.q and filters == Filters(q=filters.q)
    known = (results.total + results.capped) if text_only else None
    return render_template(
        "public/search.html",
        filters=filters,
        results=results,
        facets=search.facets(filters, known),
        error=None,
    )


# --- publications and their documents ----------------------------------------------------


def _publication_or_404(publication_id: int) -> Publication:
    return search.publication_or_404(publication_id)


def _related(publication: Publication) -> list[Publication]:
    """Published deviation reports and action plans that belong together with this one."""
    submission = publication.submission
    linked = [s.id for s in (submission.deviation,) if s is not None]
    linked += db.session.scalars(
        sa.select(Submission.id).where(Submission.deviation_id == submission.id)
    ).all()
    if not linked:
        return []
    return db.session.scalars(
        sa.select(Publication)
        .where(
            Publication.submission_id.in_(linked), Publication.state == PublicationState.PUBLISHED
        )
        .order_by(Publication.published_at)
    ).all()


@bp.get("/publicerat/<int:publication_id>")
@cached
def publication(publication_id: int):
    publication = _publication_or_404(publication_id)
    if publication.state != PublicationState.PUBLISHED:
        return render_template("public/withdrawn.html", publication=publication), 410
    submission = publication.submission
    comparable = None
    if submission.request_id is not None:
        comparable = comparing.load_request(submission.request_id)
    return render_template(
        "public/publication.html",
        publication=publication,
        submission=submission,
        answers=public_answers(publication),
        report=is_report(publication),
        documents=search.public_documents(publication),
        related=_related(publication),
        comparable=comparable,
    )


@bp.get("/publicerat/<int:publication_id>/dokument/<int:document_id>")
def document(publication_id: int, document_id: int):
    """A published file: only of a live publication, only scanned clean, the redacted copy
    where there is one. Streamed by the storage layer (ranges, ETag, safe headers)."""
    from portal.attachments import send_attachment

    publication = _publication_or_404(publication_id)
    if publication.state != PublicationState.PUBLISHED:
        abort(410)
    for published in search.public_documents(publication):
        if published.id == document_id:
            return send_attachment(published.public_file)
    abort(404)


# --- providers ---------------------------------------------------------------------------


@bp.get("/utforare")
@cached
def providers():
    try:
        area = search.parse_int(request.args, "service_area")
        ownership = search.parse_choice(request.args, "ownership", Ownership)
    except InvalidFilter as invalid:
        return render_template(
            "public/providers.html", error=invalid, rows=[], areas=[], area=None, ownership=None
        ), 400
    query = (
        sa.select(Provider)
        .where(Provider.registered_with(tenancy.current_id()))
        .order_by(Provider.name)
        .options(joinedload(Provider.agreements).joinedload(Agreement.service_area))
    )
    if area is not None:
        query = query.where(Provider.agreements.any(Agreement.service_area_id == area))
    if ownership is not None:
        query = query.where(Provider.ownership == ownership)
    counts = {int(v.value): v.count for v in search.facets(Filters())["provider"].values}
    rows = [
        (p, sorted({a.service_area.name for a in p.agreements}), counts.get(p.id, 0))
        for p in db.session.scalars(query).unique()
    ]
    areas = db.session.scalars(sa.select(ServiceArea).order_by(ServiceArea.name)).all()
    return render_template(
        "public/providers.html", rows=rows, areas=areas, area=area, ownership=ownership, error=None
    )


@bp.get("/utforare/<int:provider_id>")
@cached
def provider(provider_id: int):
    provider = search.get_or_404(Provider, provider_id)
    try:
        page = search.parse_page(request.args)
    except InvalidFilter:
        abort(400)
    agreements = sorted(
        provider.agreements, key=lambda a: (a.service_area.name, a.starts_on, a.reference)
    )
    results = search.search(Filters(provider=provider.id), sort="newest", page=page)
    return render_template(
        "public/provider.html", provider=provider, agreements=agreements, results=results
    )


# --- compare -----------------------------------------------------------------------------


@bp.get("/jamfor")
@cached
def compare_index():
    try:
        area = search.parse_int(request.args, "service_area")
    except InvalidFilter:
        abort(400)
    requests_by_area: dict = {}
    for info_request, service_area, count in comparing.comparable_requests(area):
        requests_by_area.setdefault(service_area, []).append((info_request, count))
    return render_template(
        "public/compare_index.html", requests_by_area=requests_by_area, area=area
    )


def _comparison_or_404(request_id: int) -> comparing.Comparison:
    info_request = comparing.load_request(request_id) if request_id <= search.MAX_ID else None
    if info_request is None:
        abort(404)
    return comparing.build(
        info_request, request.args.get("sort", "provider"), request.args.get("order", "asc")
    )


@bp.get("/jamfor/<int:request_id>")
@cached
def compare(request_id: int):
    comparison = _comparison_or_404(request_id)
    return render_template("public/compare.html", comparison=comparison)


@bp.get("/jamfor/<int:request_id>.csv")
@cached
def compare_csv(request_id: int):
    comparison = _comparison_or_404(request_id)
    published_word = labels.PUBLICATION_STATE[PublicationState.PUBLISHED]
    header = (
        [_("Utförare"), _("Organisationsnummer"), labels.OWNERSHIP_NAME, _("Status")]
        + [f"{c.label} ({c.unit})" if c.unit else c.label for c in comparison.columns]
        + [published_word, _("Länk")]
    )
    status_text = {
        comparing.PUBLISHED: published_word,
        comparing.NOT_ANSWERED: UNANSWERED,
        comparing.UNPUBLISHED: NOT_PUBLISHED,
    }
    rows = []
    for row in comparison.rows:
        link, published = "", None
        if row.publication is not None:
            link = external_url("public.publication", publication_id=row.publication.id)
            published = row.publication.published_at
        rows.append(
            [
                row.provider.name,
                row.provider.org_number,
                labels.label(row.provider.ownership),
                status_text[row.status],
                *(cell.value for cell in row.cells),
                published,
                link,
            ]
        )
    # For people (Swedish Excel); not streamed, so that @cached can give it an ETag.
    return csv_files.download(
        f"jamforelse-{comparison.request.id}.csv",
        header,
        rows,
        csv_files.EXCEL,
        stream=False,
    )


# --- about, accessibility, open data -----------------------------------------------------


@bp.get("/om")
@cached(data_dependent=False)
def about():
    return render_template("public/about.html")


@bp.get("/tillganglighet")
@cached(data_dependent=False)
def accessibility():
    return render_template(
        "public/accessibility.html",
        reviewed=ACCESSIBILITY_REVIEWED,
        contact=current_app.config.get("MAIL_FROM", ""),
    )


@bp.get("/oppna-data")
@cached(data_dependent=False)
def open_data():
    return render_template("public/open_data.html")


# --- command line ------------------------------------------------------------------------


@bp.cli.command("reindex")
@for_each_municipality()
def reindex_command() -> None:
    """Recompute the search text of every publication (after changing what is indexed)."""
    import click

    count = search.reindex_all()
    click.echo(f"{count} publications reindexed")
