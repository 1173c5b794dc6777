"""Compare providers ("Jämför service"): one row per provider that got an information
request sent to a service area, one column per published field."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from portal.extensions import db
from portal.formatting import is_blank, parse_date, parse_number, parse_yes_no
from portal.models import (
    FieldType,
    InformationRequest,
    Publication,
    PublicationState,
    PublishedDocument,
    RequestField,
    ServiceArea,
    Submission,
    SubmissionKind,
)
from portal.published.answers import NOT_PUBLISHED, UNANSWERED, display, normalised, public_answers

# Row states, as the page's legend explains them.
PUBLISHED = "published"
NOT_ANSWERED = "not_answered"
UNPUBLISHED = "not_published"


@dataclass
class Column:
    field: RequestField

    @property
    def key(self) -> str:
        return self.field.key

    @property
    def label(self) -> str:
        return self.field.label

    @property
    def unit(self) -> str:
        if self.field.type == FieldType.PERCENTAGE and not self.field.unit:
            return "%"
        return self.field.unit or ""

    @property
    def type(self) -> str:
        return self.field.type.value

    @property
    def numeric(self) -> bool:
        return self.field.type in (FieldType.NUMBER, FieldType.PERCENTAGE)


@dataclass
class Cell:
    column: Column
    status: str  # published (a value, possibly blank), not_answered, not_published
    raw: object = None

    @property
    def has_value(self) -> bool:
        return self.status == PUBLISHED and not is_blank(self.raw)

    @property
    def display(self) -> str:
        if self.status == UNPUBLISHED:
            return str(NOT_PUBLISHED)
        if not self.has_value:
            return str(UNANSWERED)
        return display(self.column.type, self.column.field.unit or "", self.raw)

    @property
    def value(self):
        """The value for machines (API, CSV); None when there is none."""
        return normalised(self.column.type, self.raw) if self.has_value else None

    def sort_key(self):
        if not self.has_value:
            return None
        kind = self.column.field.type
        if kind in (FieldType.NUMBER, FieldType.PERCENTAGE):
            return parse_number(self.raw)
        if kind == FieldType.YES_NO:
            answer = parse_yes_no(self.raw)
            return None if answer is None else int(answer)
        if kind == FieldType.DATE:
            return parse_date(self.raw)
        return str(self.raw).casefold()


@dataclass
class Row:
    submission: Submission
    publication: Publication | None
    status: str
    cells: list[Cell]

    @property
    def provider(self):
        return self.submission.provider


@dataclass
class Comparison:
    request: InformationRequest
    columns: list[Column]
    rows: list[Row]
    sort: str
    order: str

    @property
    def published_count(self) -> int:
        return sum(1 for r in self.rows if r.status == PUBLISHED)

    @property
    def last_published(self):
        times = [r.publication.updated_at for r in self.rows if r.publication is not None]
        return max(times) if times else None


def comparable_requests(service_area_id: int | None = None) -> list[tuple]:
    """(request, service area, number of published answers) for requests sent to a
    service area with at least one published answer, newest first."""
    published = (
        sa.select(Submission.request_id, sa.func.count().label("n"))
        .join(Publication, Publication.submission_id == Submission.id)
        .where(
            Publication.state == PublicationState.PUBLISHED,
            Submission.kind == SubmissionKind.TRANSPARENCY_INFO,
        )
        .group_by(Submission.request_id)
        .subquery()
    )
    query = (
        sa.select(InformationRequest, ServiceArea, published.c.n)
        .join(published, published.c.request_id == InformationRequest.id)
        .join(ServiceArea, InformationRequest.service_area_id == ServiceArea.id)
        .order_by(
            ServiceArea.name, InformationRequest.created_at.desc(), InformationRequest.id.desc()
        )
    )
    if service_area_id is not None:
        query = query.where(InformationRequest.service_area_id == service_area_id)
    return db.session.execute(query).all()


def load_request(request_id: int) -> InformationRequest | None:
    """The request if it can be compared: sent to a service area, with a published answer."""
    rows = db.session.execute(
        sa.select(InformationRequest.id)
        .join(Submission, Submission.request_id == InformationRequest.id)
        .join(Publication, Publication.submission_id == Submission.id)
        .where(
            InformationRequest.id == request_id,
            InformationRequest.service_area_id.is_not(None),
            InformationRequest.kind == SubmissionKind.TRANSPARENCY_INFO,
            Publication.state == PublicationState.PUBLISHED,
        )
        .limit(1)
    ).first()
    return db.session.get(InformationRequest, request_id) if rows else None


def build(
    info_request: InformationRequest, sort: str = "provider", order: str = "asc"
) -> Comparison:
    columns = [
        Column(f) for f in info_request.fields if f.for_publication and f.type != FieldType.FILE
    ]
    submissions = db.session.scalars(
        sa.select(Submission)
        .where(Submission.request_id == info_request.id)
        .options(joinedload(Submission.provider), selectinload(Submission.versions))
    ).all()
    publications = {
        p.submission_id: p
        for p in db.session.scalars(
            sa.select(Publication)
            .where(
                Publication.submission_id.in_([s.id for s in submissions]),
                Publication.state == PublicationState.PUBLISHED,
            )
            .options(
                selectinload(Publication.version),
                selectinload(Publication.documents).options(
                    selectinload(PublishedDocument.attachment),
                    selectinload(PublishedDocument.redacted),
                ),
            )
        )
    }
    rows = []
    for submission in submissions:
        publication = publications.get(submission.id)
        if publication is not None:
            # What its page shows, of the version published: the same decision.
            answers = {a.key: a.raw for a in public_answers(publication)}
            cells = [
                Cell(c, PUBLISHED, answers[c.key]) if c.key in answers else Cell(c, UNPUBLISHED)
                for c in columns
            ]
            rows.append(Row(submission, publication, PUBLISHED, cells))
        elif not submission.submitted_versions:
            rows.append(
                Row(submission, None, NOT_ANSWERED, [Cell(c, NOT_ANSWERED) for c in columns])
            )
        else:
            rows.append(Row(submission, None, UNPUBLISHED, [Cell(c, UNPUBLISHED) for c in columns]))
    keys = {c.key for c in columns}
    if sort not in keys and sort not in ("provider", "ownership"):
        sort = "provider"
    order = "desc" if order == "desc" else "asc"
    comparison = Comparison(info_request, columns, rows, sort, order)
    _sort(comparison)
    return comparison


def _sort(comparison: Comparison) -> None:
    """Sort in place; rows without a value come last in both directions."""
    by_name = sorted(comparison.rows, key=lambda r: r.provider.name.casefold())
    descending = comparison.order == "desc"
    if comparison.sort == "provider":
        comparison.rows = list(reversed(by_name)) if descending else by_name
        return
    if comparison.sort == "ownership":
        comparison.rows = sorted(
            by_name, key=lambda r: r.provider.ownership.value, reverse=descending
        )
        return
    index = next(i for i, c in enumerate(comparison.columns) if c.key == comparison.sort)
    with_value = [r for r in by_name if r.cells[index].sort_key() is not None]
    without = [r for r in by_name if r.cells[index].sort_key() is None]
    with_value.sort(key=lambda r: _comparable(r.cells[index].sort_key()), reverse=descending)
    comparison.rows = with_value + without


def _comparable(value):
    """Numbers, dates and text never meet in one column, except a stray text among numbers."""
    if isinstance(value, Decimal | int):
        return (0, value, "")
    if isinstance(value, date):
        return (0, value.toordinal(), "")
    return (1, 0, str(value))
