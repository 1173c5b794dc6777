"""Open data: publications, providers, committees, service areas and comparisons as JSON
and CSV, described by the OpenAPI document at /api/v1/openapi.json. No login; the same
filters as the search page; only published publications."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import sqlalchemy as sa
from flask import Response, abort, jsonify, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from portal import csv_files, search, tenancy
from portal.api import bp, serialize
from portal.api.openapi import document as openapi_document
from portal.caching import API_MAX_AGE, conditional
from portal.extensions import db
from portal.models import (
    Agreement,
    Committee,
    Ownership,
    Provider,
    PublicationState,
    ServiceArea,
)
from portal.models.base import MAX_ID
from portal.published import comparison as comparing
from portal.search import Filters, InvalidFilter
from portal.urls import external_url


@bp.after_request
def _open_to_every_origin(response: Response) -> Response:
    # Open data: any web page may read it (nothing here depends on a login or cookie).
    response.headers.setdefault("Access-Control-Allow-Origin", "*")
    return response


@bp.errorhandler(InvalidFilter)
def _invalid(error: InvalidFilter):
    return jsonify(error=str(error.message), parameter=error.param, status=400), 400


def _json(data, *, last_modified=True) -> Response:
    changed = search.last_modified() if last_modified else None
    return conditional(jsonify(data), last_modified=changed, max_age=API_MAX_AGE)


def _csv(header: list[str], rows: Iterable[list], filename: str) -> Response:
    """A streamed CSV in the machine-readable dialect (:data:`portal.csv_files.MACHINE`:
    RFC 4180, UTF-8 with BOM so that spreadsheet programs read å, ä, ö; formula-guarded).

    Streamed, so its validators come from the data's last change and the query rather than
    from the body: a weak ETag and Last-Modified, 304 when the client's copy is current.
    """
    changed = search.last_modified()
    etag = hashlib.sha1(f"{changed}|{request.full_path}|{get_locale()}".encode()).hexdigest()
    if request.if_none_match.contains_weak(etag) or (
        not request.if_none_match
        and changed is not None
        and request.if_modified_since
        and changed.replace(microsecond=0) <= request.if_modified_since
    ):
        response = Response(status=304)
        response.set_etag(etag, weak=True)
        return response

    response = csv_files.download(filename, header, rows, csv_files.MACHINE)
    response.set_etag(etag, weak=True)
    response.last_modified = changed
    response.cache_control.public = True
    response.cache_control.max_age = API_MAX_AGE
    return response


def _id_or_404(value: int) -> int:
    if not 1 <= value <= MAX_ID:
        abort(404)
    return value


def _page_links(endpoint: str, page: int, pages: int, args: dict) -> dict:
    def link(n: int) -> str:
        return external_url(endpoint, **{**args, "page": n})

    return {
        "self": link(page),
        "first": link(1),
        "last": link(pages),
        "prev": link(page - 1) if page > 1 else None,
        "next": link(page + 1) if page < pages else None,
    }


# --- index and description ---------------------------------------------------------------


@bp.get("/")
def index():
    return _json(
        {
            "openapi": external_url("api.openapi"),
            "publications": external_url("api.publications"),
            "providers": external_url("api.providers"),
            "committees": external_url("api.committees"),
            "service_areas": external_url("api.service_areas"),
            "comparisons": external_url("api.comparisons"),
            "feed": external_url("public.feed"),
        },
        last_modified=False,
    )


@bp.get("/openapi.json")
def openapi():
    return _json(openapi_document(), last_modified=False)


# --- publications ------------------------------------------------------------------------


def _search_args() -> tuple[Filters, str]:
    filters = search.parse_filters(request.args)
    return filters, search.parse_sort(request.args, filters)


@bp.get("/publications")
def publications():
    filters, sort = _search_args()
    page, per_page = search.parse_page(request.args), search.parse_per_page(request.args)
    results = search.search(filters, sort=sort, page=page, per_page=per_page)
    args = {**filters.args(), "sort": sort, "per_page": per_page}
    return _json(
        {
            "items": [serialize.publication(p) for p in results.items],
            "page": page,
            "per_page": per_page,
            "total": results.total,
            "total_capped": results.capped,
            "pages": results.pages,
            "links": _page_links("api.publications", page, results.pages, args),
        }
    )


@bp.get("/publications.csv")
def publications_csv():
    filters, sort = _search_args()
    rows = (serialize.publication_row(p) for p in search.iterate(filters, sort=sort))
    return _csv(serialize.PUBLICATION_CSV, rows, "publikationer.csv")


@bp.get("/publications/<int:publication_id>")
def publication(publication_id: int):
    found = search.publication_or_404(publication_id)
    if found.state != PublicationState.PUBLISHED:
        return jsonify({**serialize.withdrawn(found), "status": 410}), 410
    return _json(serialize.publication_detail(found))


# --- providers ---------------------------------------------------------------------------


def _provider_query():
    area = search.parse_int(request.args, "service_area")
    ownership = search.parse_choice(request.args, "ownership", Ownership)
    conditions = [Provider.registered_with(tenancy.current_id())]
    if area is not None:
        conditions.append(Provider.agreements.any(Agreement.service_area_id == area))
    if ownership is not None:
        conditions.append(Provider.ownership == ownership)
    query = (
        sa.select(Provider)
        .where(*conditions)
        .options(joinedload(Provider.agreements).joinedload(Agreement.service_area))
    )
    count = sa.select(sa.func.count(Provider.id)).where(*conditions)
    args = {
        k: v for k, v in (("service_area", area), ("ownership", ownership and ownership.value)) if v
    }
    return query, count, args


def _publication_counts() -> dict[int, int]:
    return {int(v.value): v.count for v in search.facets(Filters())["provider"].values}


@bp.get("/providers")
def providers():
    query, count, args = _provider_query()
    page, per_page = search.parse_page(request.args), search.parse_per_page(request.args)
    total = db.session.scalar(count) or 0
    found = (
        db.session.scalars(
            query.order_by(Provider.name, Provider.id).limit(per_page).offset((page - 1) * per_page)
        )
        .unique()
        .all()
    )
    counts = _publication_counts()
    pages = max(1, -(-total // per_page))
    return _json(
        {
            "items": [serialize.provider(p, counts.get(p.id, 0)) for p in found],
            "page": page,
            "per_page": per_page,
            "total": total,
            "pages": pages,
            "links": _page_links("api.providers", page, pages, {**args, "per_page": per_page}),
        }
    )


@bp.get("/providers.csv")
def providers_csv():
    query, _count, _args = _provider_query()
    counts = _publication_counts()
    found = db.session.scalars(query.order_by(Provider.name, Provider.id)).unique().all()
    return _csv(
        serialize.PROVIDER_CSV,
        (serialize.provider_row(p, counts.get(p.id, 0)) for p in found),
        "utforare.csv",
    )


@bp.get("/providers/<int:provider_id>")
def provider(provider_id: int):
    found = search.get_or_404(Provider, provider_id)
    return _json(serialize.provider_detail(found, _publication_counts().get(found.id, 0)))


# --- registry ----------------------------------------------------------------------------


@bp.get("/committees")
def committees():
    rows = db.session.scalars(sa.select(Committee).order_by(Committee.name)).all()
    return _json({"items": [serialize.committee(c) for c in rows]}, last_modified=False)


@bp.get("/service-areas")
def service_areas():
    rows = db.session.scalars(sa.select(ServiceArea).order_by(ServiceArea.name)).all()
    return _json({"items": [serialize.service_area(a) for a in rows]}, last_modified=False)


# --- comparisons -------------------------------------------------------------------------


@bp.get("/comparisons")
def comparisons():
    area = search.parse_int(request.args, "service_area")
    return _json(
        {
            "items": [
                {
                    "request_id": r.id,
                    "title": r.title,
                    "registration_number": r.registration_number,
                    "service_area": serialize.service_area(a),
                    "published_answers": n,
                    "api_url": external_url("api.comparison", request_id=r.id),
                    "url": external_url("public.compare", request_id=r.id),
                }
                for r, a, n in comparing.comparable_requests(area)
            ]
        }
    )


def _comparison() -> comparing.Comparison:
    request_id = _id_or_404(request.view_args["request_id"])
    info_request = comparing.load_request(request_id)
    if info_request is None:
        abort(404)
    sort = request.args.get("sort", "provider")
    order = request.args.get("order", "asc")
    if order not in ("asc", "desc"):
        raise InvalidFilter("order", _l("Tillåtna värden: asc, desc."))
    return comparing.build(info_request, sort, order)


@bp.get("/comparisons/<int:request_id>")
def comparison(request_id: int):
    return _json(serialize.comparison(_comparison()))


@bp.get("/comparisons/<int:request_id>.csv")
def comparison_csv(request_id: int):
    header, rows = serialize.comparison_csv(_comparison())
    return _csv(header, rows, f"jamforelse-{request_id}.csv")
