"""Searching: one page of matching publications with their total, every match for an
export, the latest, and the recently withdrawn (the feed's tombstones).

Bounds keep one request's work small whatever the query matches: totals are exact up to
``COUNT_CAP`` ("more than 10 000" beyond), and relevance ranks the newest
``RANK_CANDIDATES`` matches on PostgreSQL (after them, matches follow newest first).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from portal.extensions import db
from portal.models import Publication, PublicationState
from portal.models.publication import PublicationFacet as F
from portal.search.cube import count_in_cube
from portal.search.engines import TextMatch, dialect, index_scans, pg_tsquery, text_match
from portal.search.filters import PER_PAGE, Filters
from portal.search.loading import load
from portal.search.matching import Source, filtered, source
from portal.search.query import tsquery_text

COUNT_CAP = 10_000
RANK_CANDIDATES = 200


def setting(name: str, default: int) -> int:
    return int(current_app.config.get(name, default))


@dataclass
class Results:
    filters: Filters
    sort: str
    page: int
    per_page: int
    total: int
    items: list[Publication]
    capped: bool = False  # more than ``total`` match

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def first_index(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        return self.first_index + len(self.items) - 1 if self.items else 0


def _by_date(select: sa.Select, found: Source, sort: str) -> sa.Select:
    if sort == "oldest":
        return select.order_by(found.published_at, found.id)
    return select.order_by(found.published_at.desc(), found.id.desc())


def _ids(
    filters: Filters, text: TextMatch, sort: str, offset: int, limit: int | None, total: int
) -> list[int]:
    found = source(filters, text)
    by_date = _by_date(found.select(found.id), found, sort)
    if sort != "relevance" or text.rank is None:
        return list(db.session.scalars(by_date.offset(offset).limit(limit)))
    candidates_n = setting("SEARCH_RANK_CANDIDATES", RANK_CANDIDATES)
    if dialect() != "postgresql" or total <= candidates_n:
        ranked = found.select(found.id).order_by(
            text.rank, found.published_at.desc(), found.id.desc()
        )
        return list(db.session.scalars(ranked.offset(offset).limit(limit)))
    # Rank the newest candidates (reading each one's vector), then go on by date.
    candidates = (
        by_date.add_columns(found.published_at.label("at"))
        .limit(candidates_n)
        .subquery("candidates")
    )
    vector = sa.literal_column("ranked.search_vector")
    ranked_table = Publication.__table__.alias("ranked")
    rank = -sa.func.ts_rank_cd(vector, pg_tsquery(tsquery_text(filters.q)))
    ranked = (
        sa.select(candidates.c.id)
        .join(ranked_table, ranked_table.c.id == candidates.c.id)
        .order_by(rank, candidates.c.at.desc(), candidates.c.id.desc())
    )
    end = offset + limit if limit is not None else None
    ids: list[int] = []
    if offset < candidates_n:
        take = (min(end, candidates_n) if end is not None else candidates_n) - offset
        ids += db.session.scalars(ranked.offset(offset).limit(take))
    if end is None or end > candidates_n:
        start = max(offset, candidates_n)
        ids += db.session.scalars(by_date.offset(start).limit(None if end is None else end - start))
    return ids


def count(filters: Filters, text: TextMatch | None = None, cap: int | None = None) -> int:
    """How many publications match, counting at most ``cap + 1``."""
    if not filters.q and cap is not None:
        # Far beyond the cap (browsing everything, a year, a big committee) the facet
        # cube answers without counting 10 000 rows. It may be a minute old after a
        # provider or submission changes facet values, which cannot move a count this
        # far past the cap back under it; nearer to the cap, count exactly.
        cubed = count_in_cube(filters)
        if cubed > 2 * cap:
            return cubed
    text = text if text is not None else text_match(filters.q)
    found = source(filters, text)
    matches = found.select(found.id)
    if cap is not None:
        matches = matches.limit(cap + 1)
    with index_scans(text):
        return db.session.scalar(sa.select(sa.func.count()).select_from(matches.subquery())) or 0


def search(
    filters: Filters, *, sort: str = "newest", page: int = 1, per_page: int = PER_PAGE
) -> Results:
    """One page of published publications matching ``filters``, with the total count."""
    text = text_match(filters.q)
    cap = setting("SEARCH_COUNT_CAP", COUNT_CAP)
    total = count(filters, text, cap)
    capped = total > cap
    total = min(total, cap)
    items: list[Publication] = []
    if total and (page - 1) * per_page < total:
        offset = (page - 1) * per_page
        with index_scans(text):
            ids = _ids(filters, text, sort, offset, min(per_page, total - offset), total)
        items = load(ids)
    return Results(filters, sort, page, per_page, total, items, capped)


def iterate(filters: Filters, *, sort: str = "newest", batch: int = 1000):
    """Every matching publication, in batches (for CSV export), without a page limit."""
    text = text_match(filters.q)
    total = count(filters, text)
    with index_scans(text):
        ids = _ids(filters, text, sort, 0, None, total)
    for start in range(0, len(ids), batch):
        yield from load(ids[start : start + batch])
        db.session.expunge_all()


def latest(limit: int = 10, filters: Filters | None = None) -> list[Publication]:
    return search(filters or Filters(), sort="newest", per_page=limit).items


def withdrawn(filters: Filters, limit: int = 20) -> list[Publication]:
    """Recently withdrawn publications matching the filters other than the text query
    (the feed tells its readers to remove them)."""
    query = filtered(
        sa.select(F.publication_id), filters.without("q"), TextMatch(), PublicationState.WITHDRAWN
    )
    query = query.join(Publication, Publication.id == F.publication_id)
    ids = db.session.scalars(
        query.order_by(Publication.withdrawn_at.desc(), Publication.id.desc()).limit(limit)
    ).all()
    return load(list(ids))
