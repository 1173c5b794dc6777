"""Which publications match: the facet filters as conditions on ``publication_facet``
(one narrow row per publication, written by the triggers of migration 0006), joined with
the text condition where there is one. Only one state at a time: published for results
and facets, withdrawn for the feed's tombstones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from portal.models import Publication, PublicationState
from portal.models.publication import PublicationFacet as F
from portal.search.engines import TextMatch
from portal.search.filters import Filters

FACET_COLUMNS = {
    "committee": F.committee_id,
    "service_area": F.service_area_id,
    "provider": F.provider_id,
    "ownership": F.ownership,
    "kind": F.kind,
    "year": F.year,
}


def conditions(filters: Filters) -> dict[str, sa.ColumnElement]:
    """One condition on publication_facet per facet filter that is set."""
    found = {}
    for name, column in FACET_COLUMNS.items():
        value = getattr(filters, name)
        if value is not None:
            found[name] = column == (value.value if hasattr(value, "value") else value)
    if filters.year is not None:
        # Also as a range of dates (a day wider than the Swedish year: the year column
        # decides), so that newest-first browsing reads that year's end of the date index
        # instead of walking every later publication to find the year's first.
        found["year"] = sa.and_(
            found["year"],
            F.published_at >= datetime(filters.year - 1, 12, 31, tzinfo=UTC),
            F.published_at < datetime(filters.year + 1, 1, 2, tzinfo=UTC),
        )
    return found


def matching(
    select: sa.Select, text: TextMatch, state: PublicationState = PublicationState.PUBLISHED
) -> sa.Select:
    """``select`` from publication_facet restricted to one state and the text query."""
    select = select.select_from(F).where(F.state == state.value)
    if text.impossible:
        select = select.where(sa.false())
    if text.condition is not None:
        select = select.join(Publication, Publication.id == F.publication_id).where(text.condition)
    if text.join is not None:
        select = select.join(text.join, text.join.c.id == F.publication_id)
    return select


def filtered(
    select: sa.Select,
    filters: Filters,
    text: TextMatch,
    state: PublicationState = PublicationState.PUBLISHED,
) -> sa.Select:
    """``select`` from publication_facet with every filter (facet counts, tombstones)."""
    return matching(select, text, state).where(*conditions(filters).values())


@dataclass
class Source:
    """Where the matches of a query come from, and their id and date columns.

    Without text: the narrow facet table. With text and no filter: publication alone
    (its state, date and search index suffice). With both: the two joined.
    """

    id: sa.ColumnElement
    published_at: sa.ColumnElement
    froms: sa.FromClause
    where: list[sa.ColumnElement]

    def select(self, *columns) -> sa.Select:
        return sa.select(*columns).select_from(self.froms).where(*self.where)


def source(
    filters: Filters, text: TextMatch, state: PublicationState = PublicationState.PUBLISHED
) -> Source:
    facet_conditions = list(conditions(filters).values())
    impossible = [sa.false()] if text.impossible else []
    if text.condition is None and text.join is None:
        return Source(
            F.publication_id,
            F.published_at,
            F,
            [F.state == state.value, *facet_conditions, *impossible],
        )
    P = Publication
    froms = P.__table__
    where = [P.state == state, *impossible]
    if text.condition is not None:
        where.append(text.condition)
    if text.join is not None:
        froms = froms.join(text.join, text.join.c.id == P.id)
    if facet_conditions:
        froms = froms.join(F.__table__, F.publication_id == P.id)
        where += facet_conditions
    return Source(P.id, P.published_at, froms, where)
