"""The OpenAPI 3.1 description of the open data API, served at /api/v1/openapi.json.

Kept by hand next to the views; tests/public/test_api.py checks that every path
documented here answers as documented, and that the document is valid.
"""

from __future__ import annotations

from copy import deepcopy

from portal.models import Ownership, Route, SubmissionKind
from portal.models.base import MAX_ID
from portal.search import (
    COUNT_CAP,
    MAX_PAGE,
    MAX_PER_PAGE,
    MAX_QUERY_CHARS,
    PER_PAGE,
    RANK_CANDIDATES,
    SORTS,
)


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def _param(name: str, schema: dict, description: str, where: str = "query") -> dict:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "schema": schema,
        "description": description,
    }


ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
DATETIME = {"type": "string", "format": "date-time"}
DATE = {"type": "string", "format": "date"}
URL = {"type": "string", "format": "uri"}

FILTERS = [
    _param(
        "q",
        {"type": "string", "maxLength": MAX_QUERY_CHARS},
        "Free text, searched in titles, summaries, public answers and the text of public "
        'documents (Swedish stemming). Words are combined with AND; "a phrase" in '
        "quotes, -word to exclude, `or` between words for either.",
    ),
    _param("committee", ID, "Only publications of this committee (id from /committees)."),
    _param("service_area", ID, "Only this service area (id from /service-areas)."),
    _param("provider", ID, "Only this provider (id from /providers)."),
    _param(
        "ownership",
        {"type": "string", "enum": [o.value for o in Ownership]},
        "Ownership of the provider: private, in-house (the municipality itself), "
        "municipal company, non-profit.",
    ),
    _param(
        "kind",
        {"type": "string", "enum": [k.value for k in SubmissionKind]},
        "Kind of publication.",
    ),
    _param(
        "year",
        {"type": "integer", "minimum": 1900, "maximum": 2999},
        "Year of publication (Swedish time).",
    ),
    _param(
        "sort",
        {"type": "string", "enum": list(SORTS)},
        "Order: relevance (default with q), newest (default without q), oldest. "
        f"Relevance ranks the {RANK_CANDIDATES} newest matches (title, then summary, then "
        "the rest weigh most); further matches follow newest first.",
    ),
]
PAGING = [
    _param(
        "page",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
        "Page number, from 1.",
    ),
    _param(
        "per_page",
        {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": PER_PAGE},
        "Items per page.",
    ),
]
PROVIDER_FILTERS = [
    _param("service_area", ID, "Only providers with an agreement in this service area."),
    _param(
        "ownership",
        {"type": "string", "enum": [o.value for o in Ownership]},
        "Only providers of this ownership.",
    ),
]
VALIDATOR_HEADERS = {
    "ETag": {"schema": {"type": "string"}, "description": "Validator for If-None-Match."},
    "Last-Modified": {
        "schema": {"type": "string"},
        "description": "Last change of any publication.",
    },
}


def _ok(schema: dict, description: str, media: str = "application/json") -> dict:
    return {
        "description": description,
        "headers": deepcopy(VALIDATOR_HEADERS),
        "content": {media: {"schema": schema}},
    }


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


NOT_MODIFIED = {"description": "The client's copy (If-None-Match / If-Modified-Since) is current."}
BAD_REQUEST = _error("A parameter has a malformed value; `parameter` names it.")
NOT_FOUND = _error("No such item.")
TOO_MANY_REQUESTS = {
    **_error(
        "Too many requests from this client: the API, the search page and the feed share one "
        "budget per client (PORTAL_PUBLIC_RATE_LIMIT, by default 120 a minute)."
    ),
    "headers": {
        "Retry-After": {
            "schema": {"type": "string"},
            "description": "Seconds until the client may ask again.",
        }
    },
}
CSV = {
    "type": "string",
    "description": "RFC 4180 (comma-separated, CRLF line ends), UTF-8 with byte order mark; "
    "the header row holds the same field names as the JSON. A cell that a spreadsheet "
    "program would run as a formula (its first character, after any spaces, is `=`, `+`, "
    "`-`, `@` or a control character such as tab or CR, and it is not a plain number like "
    "`-12`) starts with an added `'`.",
}


def _page_of(item: str, capped: bool = False) -> dict:
    schema = {
        "type": "object",
        "required": ["items", "page", "per_page", "total", "pages", "links"],
        "properties": {
            "items": {"type": "array", "items": _ref(item)},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1},
            "total": {"type": "integer", "minimum": 0},
            "pages": {"type": "integer", "minimum": 1},
            "links": _ref("PageLinks"),
        },
    }
    if capped:
        schema["required"].append("total_capped")
        schema["properties"]["total_capped"] = {
            "type": "boolean",
            "description": f"More than total match: totals are exact up to {COUNT_CAP}, and "
            "pages go no further; narrow the query to see the rest (the "
            "CSV export has every match).",
        }
    return schema


SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["error", "status"],
        "properties": {
            "error": {"type": "string"},
            "status": {"type": "integer"},
            "parameter": {"type": "string"},
        },
    },
    "PageLinks": {
        "type": "object",
        "required": ["self", "first", "last", "prev", "next"],
        "properties": {
            "self": URL,
            "first": URL,
            "last": URL,
            "prev": _nullable(URL),
            "next": _nullable(URL),
        },
    },
    "Committee": {
        "type": "object",
        "required": ["id", "name", "code"],
        "properties": {
            "id": ID,
            "name": {"type": "string"},
            "code": {
                "type": "string",
                "description": "Used in registration numbers, e.g. VON in VON 2026/17.",
            },
        },
    },
    "ServiceArea": {
        "type": "object",
        "required": ["id", "name", "committee_id"],
        "properties": {"id": ID, "name": {"type": "string"}, "committee_id": ID},
    },
    "ProviderRef": {
        "type": "object",
        "required": ["id", "name", "org_number", "ownership"],
        "properties": {
            "id": ID,
            "name": {"type": "string"},
            "org_number": {
                "type": "string",
                "pattern": r"^\d{6}-\d{4}$",
                "description": "Swedish organisation number.",
            },
            "ownership": {"type": "string", "enum": [o.value for o in Ownership]},
        },
    },
    "Publication": {
        "type": "object",
        "required": [
            "id",
            "title",
            "summary",
            "kind",
            "registration_number",
            "published_at",
            "updated_at",
            "provider",
            "committee",
            "service_area",
            "request",
            "url",
            "api_url",
        ],
        "properties": {
            "id": ID,
            "title": {"type": "string"},
            "summary": {"type": "string"},
            "kind": {"type": "string", "enum": [k.value for k in SubmissionKind]},
            "registration_number": _nullable({"type": "string"}),
            "published_at": DATETIME,
            "updated_at": DATETIME,
            "provider": _ref("ProviderRef"),
            "committee": _ref("Committee"),
            "service_area": _nullable(_ref("ServiceArea")),
            "request": _nullable(
                {
                    "type": "object",
                    "required": ["id", "title", "registration_number"],
                    "properties": {
                        "id": ID,
                        "title": {"type": "string"},
                        "registration_number": {"type": "string"},
                    },
                }
            ),
            "url": URL,
            "api_url": URL,
        },
    },
    "Answer": {
        "type": "object",
        "required": ["key", "label", "type", "unit", "value", "documents"],
        "properties": {
            "key": {"type": "string"},
            "label": {"type": "string", "description": "The question as the committee asked it."},
            "type": {
                "type": "string",
                "description": "text, number, percentage, yes_no, date, "
                "file; for deviation reports and action plans also choice, measures.",
            },
            "unit": _nullable({"type": "string"}),
            "value": {
                "description": "number for number and percentage, boolean for yes_no, "
                "ISO date for date, text otherwise, null when not answered; for measures "
                "a list of objects with the columns of the publication page: description, "
                "owner, due (ISO date), status (planned, in_progress, done), done_on."
            },
            "documents": {
                "type": "array",
                "items": ID,
                "description": "Ids of the documents answering a file question.",
            },
        },
    },
    "Document": {
        "type": "object",
        "required": ["id", "name", "content_type", "size", "sha256", "redacted", "url"],
        "properties": {
            "id": ID,
            "name": {"type": "string"},
            "content_type": {"type": "string"},
            "size": {"type": "integer", "minimum": 0},
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "redacted": {
                "type": "boolean",
                "description": "A copy with secret or personal data masked.",
            },
            "url": URL,
        },
    },
    "PublicationDetail": {
        "allOf": [
            _ref("Publication"),
            {
                "type": "object",
                "required": ["answers", "documents"],
                "properties": {
                    "answers": {"type": "array", "items": _ref("Answer")},
                    "documents": {"type": "array", "items": _ref("Document")},
                },
            },
        ],
    },
    "Withdrawn": {
        "type": "object",
        "required": ["id", "title", "state", "withdrawn_at", "withdrawn_reason", "url", "status"],
        "properties": {
            "id": ID,
            "title": {"type": "string"},
            "state": {"const": "withdrawn"},
            "withdrawn_at": _nullable(DATETIME),
            "withdrawn_reason": _nullable({"type": "string"}),
            "url": URL,
            "status": {"const": 410},
        },
    },
    "Provider": {
        "type": "object",
        "required": [
            "id",
            "name",
            "org_number",
            "ownership",
            "website",
            "service_areas",
            "publication_count",
            "url",
            "api_url",
        ],
        "properties": {
            "id": ID,
            "name": {"type": "string"},
            "org_number": {"type": "string", "pattern": r"^\d{6}-\d{4}$"},
            "ownership": {"type": "string", "enum": [o.value for o in Ownership]},
            "website": _nullable({"type": "string"}),
            "service_areas": {"type": "array", "items": {"type": "string"}},
            "publication_count": {"type": "integer", "minimum": 0},
            "url": URL,
            "api_url": URL,
        },
    },
    "Agreement": {
        "type": "object",
        "required": ["reference", "route", "committee", "service_area", "starts_on", "ends_on"],
        "properties": {
            "reference": {"type": "string"},
            "route": {
                "type": "string",
                "enum": [r.value for r in Route],
                "description": "customer_choice (LOV), procurement (LOU), direct_award, "
                "partnership (IOP), in_house_assignment.",
            },
            "committee": _ref("Committee"),
            "service_area": _ref("ServiceArea"),
            "starts_on": DATE,
            "ends_on": _nullable(DATE),
        },
    },
    "ProviderDetail": {
        "allOf": [
            _ref("Provider"),
            {
                "type": "object",
                "required": ["description", "agreements", "publications_url", "feed_url"],
                "properties": {
                    "description": {"type": "string"},
                    "agreements": {"type": "array", "items": _ref("Agreement")},
                    "publications_url": URL,
                    "feed_url": URL,
                },
            },
        ],
    },
    "ComparisonSummary": {
        "type": "object",
        "required": [
            "request_id",
            "title",
            "registration_number",
            "service_area",
            "published_answers",
            "api_url",
            "url",
        ],
        "properties": {
            "request_id": ID,
            "title": {"type": "string"},
            "registration_number": {"type": "string"},
            "service_area": _ref("ServiceArea"),
            "published_answers": {"type": "integer", "minimum": 1},
            "api_url": URL,
            "url": URL,
        },
    },
    "Comparison": {
        "type": "object",
        "required": ["request", "columns", "rows", "url"],
        "properties": {
            "request": {
                "type": "object",
                "required": ["id", "title", "registration_number", "service_area", "committee"],
                "properties": {
                    "id": ID,
                    "title": {"type": "string"},
                    "registration_number": {"type": "string"},
                    "service_area": _ref("ServiceArea"),
                    "committee": _ref("Committee"),
                },
            },
            "columns": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["key", "label", "type", "unit"],
                    "properties": {
                        "key": {"type": "string"},
                        "label": {"type": "string"},
                        "type": {"type": "string"},
                        "unit": _nullable({"type": "string"}),
                    },
                },
            },
            "rows": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": [
                        "provider",
                        "status",
                        "publication_id",
                        "url",
                        "values",
                        "statuses",
                    ],
                    "properties": {
                        "provider": _ref("ProviderRef"),
                        "status": {
                            "type": "string",
                            "enum": ["published", "not_answered", "not_published"],
                            "description": "not_answered: the provider has not answered; "
                            "not_published: an answer exists but is not public.",
                        },
                        "publication_id": _nullable(ID),
                        "url": _nullable(URL),
                        "values": {
                            "type": "object",
                            "description": "Column key → value "
                            "(as Answer.value), null where there is none.",
                        },
                        "statuses": {
                            "type": "object",
                            "additionalProperties": {
                                "type": "string",
                                "enum": ["answered", "not_answered", "not_published"],
                            },
                        },
                    },
                },
            },
            "url": URL,
        },
    },
}

_PUBLICATION_ID = _param("publication_id", ID, "Publication id.", "path")
_PROVIDER_ID = _param("provider_id", ID, "Provider id.", "path")
_REQUEST_ID = _param("request_id", ID, "Id of the information request.", "path")
_COMPARE_SORT = [
    _param("sort", {"type": "string"}, "provider (default), ownership, or a column key."),
    _param(
        "order",
        {"type": "string", "enum": ["asc", "desc"], "default": "asc"},
        "Sort order; rows without a value come last either way.",
    ),
]


def _get(
    summary: str, operation_id: str, parameters: list, responses: dict, description: str = ""
) -> dict:
    operation = {
        "summary": summary,
        "operationId": operation_id,
        "parameters": deepcopy(parameters),
        "responses": responses,
    }
    if description:
        operation["description"] = description
    return {"get": operation}


PATHS = {
    "/": _get(
        "Entry points",
        "index",
        [],
        {
            "200": _ok(
                {"type": "object", "additionalProperties": URL}, "Links to the collections."
            ),
        },
    ),
    "/openapi.json": _get(
        "This document",
        "openapi",
        [],
        {
            "200": _ok({"type": "object"}, "The OpenAPI document."),
        },
    ),
    "/publications": _get(
        "Published publications",
        "listPublications",
        FILTERS + PAGING,
        {
            "200": _ok(_page_of("Publication", capped=True), "One page of matches."),
            "304": NOT_MODIFIED,
            "400": BAD_REQUEST,
        },
        "The same search as the site's search page; withdrawn publications are never listed.",
    ),
    "/publications.csv": _get(
        "Published publications as CSV",
        "listPublicationsCsv",
        FILTERS,
        {
            "200": _ok(CSV, "Every match, one row each.", "text/csv"),
            "304": NOT_MODIFIED,
            "400": BAD_REQUEST,
        },
    ),
    "/publications/{publication_id}": _get(
        "One publication",
        "getPublication",
        [_PUBLICATION_ID],
        {
            "200": _ok(
                _ref("PublicationDetail"), "The publication with its public answers and documents."
            ),
            "304": NOT_MODIFIED,
            "404": NOT_FOUND,
            "410": {
                "description": "Withdrawn: when and why.",
                "content": {"application/json": {"schema": _ref("Withdrawn")}},
            },
        },
    ),
    "/providers": _get(
        "Providers",
        "listProviders",
        PROVIDER_FILTERS + PAGING,
        {
            "200": _ok(_page_of("Provider"), "One page of providers, by name."),
            "304": NOT_MODIFIED,
            "400": BAD_REQUEST,
        },
    ),
    "/providers.csv": _get(
        "Providers as CSV",
        "listProvidersCsv",
        PROVIDER_FILTERS,
        {
            "200": _ok(CSV, "Every provider, one row each.", "text/csv"),
            "304": NOT_MODIFIED,
            "400": BAD_REQUEST,
        },
    ),
    "/providers/{provider_id}": _get(
        "One provider",
        "getProvider",
        [_PROVIDER_ID],
        {
            "200": _ok(_ref("ProviderDetail"), "The provider with its agreements."),
            "304": NOT_MODIFIED,
            "404": NOT_FOUND,
        },
    ),
    "/committees": _get(
        "Committees",
        "listCommittees",
        [],
        {
            "200": _ok(
                {
                    "type": "object",
                    "required": ["items"],
                    "properties": {"items": {"type": "array", "items": _ref("Committee")}},
                },
                "Every committee.",
            ),
            "304": NOT_MODIFIED,
        },
    ),
    "/service-areas": _get(
        "Service areas",
        "listServiceAreas",
        [],
        {
            "200": _ok(
                {
                    "type": "object",
                    "required": ["items"],
                    "properties": {"items": {"type": "array", "items": _ref("ServiceArea")}},
                },
                "Every service area.",
            ),
            "304": NOT_MODIFIED,
        },
    ),
    "/comparisons": _get(
        "Comparable information requests",
        "listComparisons",
        [_param("service_area", ID, "Only requests sent to this service area.")],
        {
            "200": _ok(
                {
                    "type": "object",
                    "required": ["items"],
                    "properties": {"items": {"type": "array", "items": _ref("ComparisonSummary")}},
                },
                "Requests sent to every provider of a service area, with at least one "
                "published answer.",
            ),
            "304": NOT_MODIFIED,
            "400": BAD_REQUEST,
        },
    ),
    "/comparisons/{request_id}": _get(
        "Compare providers",
        "getComparison",
        [_REQUEST_ID, *_COMPARE_SORT],
        {
            "200": _ok(
                _ref("Comparison"),
                "One row per provider that got the request, one column per published question.",
            ),
            "304": NOT_MODIFIED,
            "400": BAD_REQUEST,
            "404": NOT_FOUND,
        },
    ),
    "/comparisons/{request_id}.csv": _get(
        "Compare providers as CSV",
        "getComparisonCsv",
        [_REQUEST_ID, *_COMPARE_SORT],
        {
            "200": _ok(
                CSV,
                "The comparison table: provider columns, status, one column per "
                "question (by key), publication id and URL.",
                "text/csv",
            ),
            "304": NOT_MODIFIED,
            "400": BAD_REQUEST,
            "404": NOT_FOUND,
        },
    ),
}


def document() -> dict:
    paths = deepcopy(PATHS)
    for item in paths.values():
        for operation in item.values():
            operation["responses"]["429"] = deepcopy(TOO_MANY_REQUESTS)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Insyn – öppna data",
            "version": "1.0.0",
            "description": (
                "What the municipality has published about its service providers: answers "
                "to its information requests, deviation reports and action plans, and the "
                "providers with their agreements. Only published material; withdrawn "
                "publications answer 410. No key, no login. Responses carry ETag and "
                "Last-Modified; send If-None-Match to get 304 when nothing changed. "
                "Requests are limited per client (429 with Retry-After beyond the limit). "
                "Dates are ISO 8601 in UTC."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {"schemas": deepcopy(SCHEMAS)},
    }
