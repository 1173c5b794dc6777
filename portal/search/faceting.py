"""Facets: for each filter, its values with their labels and how many matches each has
among the matches of the *other* filters. Without a text query the counts come from the
cube; a text query with more than ``FACET_CAP`` matches gets the values without counts."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import get_locale

from portal import labels
from portal.extensions import db
from portal.models import Committee, Ownership, Provider, ServiceArea, SubmissionKind
from portal.search.cache import cached
from portal.search.cube import count_from_cube
from portal.search.engines import dialect, index_scans, text_match
from portal.search.filters import Filters
from portal.search.loading import last_modified
from portal.search.matching import FACET_COLUMNS, conditions, matching
from portal.search.results import count, setting

FACET_CAP = 5_000


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int | None  # None: not counted (a text query with very many matches)


@dataclass
class Facet:
    name: str
    values: list[FacetValue] = field(default_factory=list)
    selected: str | None = None

    @property
    def selected_label(self) -> str | None:
        for v in self.values:
            if v.value == self.selected:
                return v.label
        return None


def facets(filters: Filters, text_matches: int | None = None) -> dict[str, Facet]:
    """For each facet, its values and counts among the matches of the *other* filters.

    ``text_matches``: how many publications the text query alone matches, when the caller
    knows (a search without facet filters just counted them).
    """

    def compute() -> dict[str, Facet]:
        counts = _count(filters, text_matches)
        return _label(filters, counts) if counts is not None else _uncounted(filters)

    key = (str(db.engine.url), "facets", filters, str(get_locale()), last_modified())
    return cached(key, compute)


def _uncounted(filters: Filters) -> dict[str, Facet]:
    """The facets of everything published, without counts, and the chosen values."""
    everything = facets(Filters())
    result = {}
    for name, facet in everything.items():
        selected = getattr(filters, name)
        selected_key = None if selected is None else str(getattr(selected, "value", selected))
        values = [FacetValue(v.value, v.label, None) for v in facet.values]
        if selected_key is not None and selected_key not in {v.value for v in values}:
            values.append(FacetValue(selected_key, selected_key, None))
        result[name] = Facet(name, values, selected_key)
    return result


def _count(filters: Filters, text_matches: int | None = None) -> dict[str, dict] | None:
    """{facet: {value: count}}, each facet counted under every filter but its own; None
    when the text query alone matches more than FACET_CAP publications."""
    text = text_match(filters.q)
    wanted = conditions(filters)
    if filters.q:
        cap = setting("SEARCH_FACET_CAP", FACET_CAP)
        if text_matches is None:
            text_matches = count(Filters(q=filters.q), text, cap)
        if text_matches > cap:
            return None

    if not filters.q:
        return count_from_cube(filters)

    def others(name: str) -> list[sa.ColumnElement]:
        return [c for n, c in wanted.items() if n != name]

    if dialect() != "postgresql":
        counts = {}
        for name, column in FACET_COLUMNS.items():
            query = (
                matching(sa.select(column, sa.func.count()), text)
                .where(*others(name))
                .group_by(column)
            )
            counts[name] = {v: n for v, n in db.session.execute(query) if v is not None}
        return counts

    # PostgreSQL: one scan for all six. The rows read are those that fail at most one
    # filter; each facet counts, per value, the rows that pass all filters but its own.
    columns = list(FACET_COLUMNS.values())
    query = sa.select(
        *columns,
        *(sa.func.grouping(c) for c in columns),
        *(sa.func.count().filter(sa.and_(sa.true(), *others(name))) for name in FACET_COLUMNS),
    )
    query = matching(query, text)
    if len(wanted) > 1:
        misses = sum(sa.case((c, 0), else_=1) for c in wanted.values())
        query = query.where(misses <= 1)
    query = query.group_by(sa.func.grouping_sets(*columns))
    n = len(columns)
    counts = {name: {} for name in FACET_COLUMNS}
    with index_scans(text):
        rows = db.session.execute(query).all()
    for row in rows:
        values, grouped, numbers = row[:n], row[n : 2 * n], row[2 * n :]
        index = list(grouped).index(0)
        name = list(FACET_COLUMNS)[index]
        if values[index] is not None and numbers[index]:
            counts[name][values[index]] = numbers[index]
    return counts


def _names(model, needed) -> dict[int, str]:
    """id → name of every committee, service area or provider: read again after a minute,
    or at once when an id is new."""

    def read() -> dict[int, str]:
        return dict(db.session.execute(sa.select(model.id, model.name)).all())

    key = (str(db.engine.url), "names", model.__name__)
    return cached(key, read, fits=lambda names: all(ident in names for ident in needed))


def _label(filters: Filters, counts: dict[str, dict]) -> dict[str, Facet]:
    result: dict[str, Facet] = {}
    models = {"committee": Committee, "service_area": ServiceArea, "provider": Provider}
    for name in FACET_COLUMNS:
        selected = getattr(filters, name)
        selected_key = getattr(selected, "value", selected)
        found = dict(counts[name])
        if selected is not None:
            found.setdefault(selected_key, 0)
        if name in models:
            names = _names(models[name], found)
            values = [FacetValue(str(k), names[k], n) for k, n in found.items() if k in names]
            values.sort(key=lambda v: v.label.casefold())
        elif name == "ownership":
            values = [
                FacetValue(o.value, labels.label(o), found[o.value])
                for o in Ownership
                if o.value in found
            ]
        elif name == "kind":
            values = [
                FacetValue(k.value, labels.label(k), found[k.value])
                for k in SubmissionKind
                if k.value in found
            ]
        else:
            values = [FacetValue(str(y), str(y), found[y]) for y in sorted(found, reverse=True)]
        result[name] = Facet(name, values, None if selected is None else str(selected_key))
    return result
