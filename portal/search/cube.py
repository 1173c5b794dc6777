"""Counts without a text query from the facet "cube": every published combination of
facet values with its count, instead of reading every matching publication."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import PublicationState
from portal.models.publication import PublicationFacet as F
from portal.search.cache import cached
from portal.search.filters import Filters
from portal.search.loading import last_modified
from portal.search.matching import FACET_COLUMNS


def cube() -> list[tuple]:
    """Every published combination of facet values with its count: a few thousand rows
    for 100 000 publications (area decides committee, provider decides ownership). Read
    once per change of the data (at most a minute old, as the facet cache)."""
    columns = list(FACET_COLUMNS.values())

    def read() -> list[tuple]:
        query = (
            sa.select(*columns, sa.func.count())
            .where(F.state == PublicationState.PUBLISHED.value)
            .group_by(*columns)
        )
        return [tuple(row) for row in db.session.execute(query)]

    return cached((str(db.engine.url), "cube", last_modified()), read)


def _wanted(filters: Filters) -> list[tuple[int, object]]:
    """(column of the cube, value) of each facet filter that is set."""
    return [
        (i, getattr(value, "value", value))
        for i, value in ((i, getattr(filters, name)) for i, name in enumerate(FACET_COLUMNS))
        if value is not None
    ]


def count_in_cube(filters: Filters) -> int:
    """How many publications match facet filters (no text query)."""
    rows = cube()
    for i, value in _wanted(filters):
        rows = [row for row in rows if row[i] == value]
    return sum(row[-1] for row in rows)


def count_from_cube(filters: Filters) -> dict[str, dict]:
    """Facet counts without a text query: a row that fails no filter counts for every
    facet, a row that fails one filter counts only for that filter's facet."""
    names = list(FACET_COLUMNS)
    wanted = _wanted(filters)
    counts: list[dict] = [{} for _ in names]
    for row in cube():
        n = row[-1]
        missed = -1
        for i, value in wanted:
            if row[i] != value:
                if missed >= 0:
                    break
                missed = i
        else:
            for i in range(len(names)) if missed < 0 else (missed,):
                value = row[i]
                if value is not None:
                    counts[i][value] = counts[i].get(value, 0) + n
    return dict(zip(names, counts, strict=True))
