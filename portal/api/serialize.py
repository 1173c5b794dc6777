"""The open data shapes: stable English field names, codes not labels, ISO 8601 dates
(UTC, ``Z``), absolute URLs. The CSV variants use the same names as column headers."""

from __future__ import annotations

from datetime import UTC, date, datetime

from portal import policy
from portal.models import Agreement, Committee, Provider, Publication, ServiceArea
from portal.published import comparison as comparing
from portal.published.answers import public_answers
from portal.urls import external_url


def iso(moment: datetime | date | None) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return moment.isoformat()


def committee(c: Committee) -> dict:
    return {"id": c.id, "name": c.name, "code": c.code}


def service_area(a: ServiceArea | None) -> dict | None:
    if a is None:
        return None
    return {"id": a.id, "name": a.name, "committee_id": a.committee_id}


def provider_ref(p: Provider) -> dict:
    return {"id": p.id, "name": p.name, "org_number": p.org_number, "ownership": p.ownership.value}


def publication(p: Publication) -> dict:
    s = p.submission
    request = s.request
    return {
        "id": p.id,
        "title": p.title,
        "summary": p.summary,
        "kind": s.kind.value,
        "registration_number": s.registration_number,
        "published_at": iso(p.published_at),
        "updated_at": iso(p.updated_at),
        "provider": provider_ref(s.provider),
        "committee": committee(s.committee),
        "service_area": service_area(s.service_area),
        "request": None
        if request is None
        else {
            "id": request.id,
            "title": request.title,
            "registration_number": request.registration_number,
        },
        "url": external_url("public.publication", publication_id=p.id),
        "api_url": external_url("api.publication", publication_id=p.id),
    }


def publication_detail(p: Publication) -> dict:
    data = publication(p)
    data["answers"] = [
        {
            "key": a.key,
            "label": a.label,
            "type": a.type,
            "unit": a.unit or None,
            "value": a.value,
            "documents": [d.id for d in a.documents],
        }
        for a in public_answers(p)
    ]
    data["documents"] = [
        {
            "id": d.id,
            "name": d.public_file.display_name,
            "content_type": d.public_file.content_type,
            "size": d.public_file.size,
            "sha256": d.public_file.sha256,
            "redacted": d.redacted_id is not None,
            "url": external_url("public.document", publication_id=p.id, document_id=d.id),
        }
        for d in policy.public_documents(p)
    ]
    return data


def withdrawn(p: Publication) -> dict:
    """What stays public of a withdrawn publication: that it was, when and why."""
    return {
        "id": p.id,
        "title": p.title,
        "state": "withdrawn",
        "withdrawn_at": iso(p.withdrawn_at),
        "withdrawn_reason": p.withdrawn_reason,
        "url": external_url("public.publication", publication_id=p.id),
    }


PUBLICATION_CSV = [
    "id",
    "title",
    "kind",
    "registration_number",
    "published_at",
    "updated_at",
    "provider_id",
    "provider_name",
    "org_number",
    "ownership",
    "committee_id",
    "committee_name",
    "service_area_id",
    "service_area_name",
    "summary",
    "url",
]


def publication_row(p: Publication) -> list:
    d = publication(p)
    area = d["service_area"] or {}
    return [
        d["id"],
        d["title"],
        d["kind"],
        d["registration_number"] or "",
        d["published_at"],
        d["updated_at"],
        d["provider"]["id"],
        d["provider"]["name"],
        d["provider"]["org_number"],
        d["provider"]["ownership"],
        d["committee"]["id"],
        d["committee"]["name"],
        area.get("id", ""),
        area.get("name", ""),
        d["summary"],
        d["url"],
    ]


def agreement(a: Agreement) -> dict:
    return {
        "reference": a.reference,
        "route": a.route.value,
        "committee": committee(a.committee),
        "service_area": service_area(a.service_area),
        "starts_on": iso(a.starts_on),
        "ends_on": iso(a.ends_on),
    }


def provider(p: Provider, publication_count: int) -> dict:
    return {
        "id": p.id,
        "name": p.name,
        "org_number": p.org_number,
        "ownership": p.ownership.value,
        "website": p.website or None,
        "service_areas": sorted({a.service_area.name for a in p.agreements}),
        "publication_count": publication_count,
        "url": external_url("public.provider", provider_id=p.id),
        "api_url": external_url("api.provider", provider_id=p.id),
    }


def provider_detail(p: Provider, publication_count: int) -> dict:
    data = provider(p, publication_count)
    data["description"] = p.description or ""
    data["agreements"] = [
        agreement(a)
        for a in sorted(p.agreements, key=lambda a: (a.service_area.name, a.starts_on, a.reference))
    ]
    data["publications_url"] = external_url("api.publications", provider=p.id)
    data["feed_url"] = external_url("public.feed", provider=p.id)
    return data


PROVIDER_CSV = [
    "id",
    "name",
    "org_number",
    "ownership",
    "website",
    "service_areas",
    "publication_count",
    "url",
]


def provider_row(p: Provider, publication_count: int) -> list:
    d = provider(p, publication_count)
    return [
        d["id"],
        d["name"],
        d["org_number"],
        d["ownership"],
        d["website"] or "",
        "; ".join(d["service_areas"]),
        d["publication_count"],
        d["url"],
    ]


def comparison(c: comparing.Comparison) -> dict:
    r = c.request
    return {
        "request": {
            "id": r.id,
            "title": r.title,
            "registration_number": r.registration_number,
            "service_area": service_area(r.service_area),
            "committee": committee(r.committee),
        },
        "columns": [
            {"key": col.key, "label": col.label, "type": col.type, "unit": col.unit or None}
            for col in c.columns
        ],
        "rows": [
            {
                "provider": provider_ref(row.provider),
                "status": row.status,
                "publication_id": row.publication.id if row.publication else None,
                "url": external_url("public.publication", publication_id=row.publication.id)
                if row.publication
                else None,
                "values": {cell.column.key: cell.value for cell in row.cells},
                "statuses": {cell.column.key: _cell_status(cell) for cell in row.cells},
            }
            for row in c.rows
        ],
        "url": external_url("public.compare", request_id=r.id),
    }


def _cell_status(cell: comparing.Cell) -> str:
    if cell.status == comparing.PUBLISHED:
        return "answered" if cell.has_value else "not_answered"
    return cell.status


def comparison_csv(c: comparing.Comparison) -> tuple[list[str], list[list]]:
    header = ["provider_id", "provider_name", "org_number", "ownership", "status"]
    header += [col.key for col in c.columns] + ["publication_id", "url"]
    rows = []
    for row in comparison(c)["rows"]:
        values = []
        for col in c.columns:
            value = row["values"][col.key]
            values.append(
                "" if value is None else str(value).lower() if isinstance(value, bool) else value
            )
        rows.append(
            [
                row["provider"]["id"],
                row["provider"]["name"],
                row["provider"]["org_number"],
                row["provider"]["ownership"],
                row["status"],
                *values,
                row["publication_id"] or "",
                row["url"] or "",
            ]
        )
    return header, rows
