"""Full-text search and faceted browsing of publications: one interface, two engines.

PostgreSQL: the generated column ``publication.search_vector`` (Swedish
configuration; title weighted A, summary B, the rest C) with a GIN index,
queried with ``websearch_to_tsquery`` and ranked with ``ts_rank_cd``.
SQLite: the FTS5 external-content table ``publication_fts`` (title, summary,
search_text), kept in sync by triggers on ``publication``, ranked with bm25.
Both schema objects come from migration 0003_public_search; callers never see the
difference.

What is searched: the publication's own title and summary, and
``Publication.search_text``, which :func:`index_text` builds from exactly what the
public page shows (answers of the version published, as chosen or redacted, provider,
committee, request, the text of the published files or of their redacted copies); never
the submission's own title, unpublished answers or files, or a later version's answers.
The staff side calls :func:`refresh` right after ``workflow.publish``, after withdrawing
(the text of a withdrawn publication is empty) and after editing a publication; migration
0009_public_index_public_text rebuilt the rows indexed before.

Only published publications are ever returned; withdrawn ones stay in the
index (their rows stay) and are filtered out by state.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import sqlalchemy as sa
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from portal.extensions import db
from portal.models import (
    Committee,
    FieldType,
    InformationRequest,
    Ownership,
    Provider,
    Publication,
    PublicationState,
    ScanStatus,
    ServiceArea,
    Submission,
    SubmissionKind,
)
from portal.models.publication import PublicationFacet, PublishedDocument

log = logging.getLogger(__name__)

PER_PAGE = 20
MAX_PER_PAGE = 100
MAX_PAGE = 10_000
MAX_QUERY_CHARS = 200
# PostgreSQL refuses a tsvector over 1 MB; half a million characters stays well below it.
MAX_INDEX_CHARS = 500_000

SORTS = ("relevance", "newest", "oldest")
FACETS = ("committee", "service_area", "provider", "ownership", "kind", "year")


MAX_ID = 2**31 - 1


def get_or_404(model, ident: int):
    """The row with primary key ``ident``, or a 404 (also for ids no column can hold)."""
    from flask import abort

    found = db.session.get(model, ident) if 1 <= ident <= MAX_ID else None
    if found is None:
        abort(404)
    return found


def publication_or_404(ident: int) -> Publication:
    """The publication with everything its page and its API entry show, in one query
    instead of one per relation (submission, provider, committee, service area, request
    and its fields, the version published, documents and their files); or a 404."""
    from flask import abort

    if not 1 <= ident <= MAX_ID:
        abort(404)
    joined = sa.orm.joinedload
    found = (
        db.session.scalars(
            sa.select(Publication)
            .where(Publication.id == ident)
            .options(
                sa.orm.defer(Publication.search_text),
                joined(Publication.submission).options(
                    joined(Submission.provider),
                    joined(Submission.committee),
                    joined(Submission.service_area),
                    joined(Submission.request).joinedload(InformationRequest.fields),
                ),
                joined(Publication.version),
                joined(Publication.documents).options(
                    joined(PublishedDocument.attachment), joined(PublishedDocument.redacted)
                ),
            )
        )
        .unique()
        .one_or_none()
    )
    if found is None:
        abort(404)
    return found


class InvalidFilter(ValueError):
    """A query parameter that cannot be understood; ``message`` is for the user."""

    def __init__(self, param: str, message):
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


# --- filters -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What the user asked for: the same names in page URLs, the API and the feed."""

    q: str = ""
    committee: int | None = None
    service_area: int | None = None
    provider: int | None = None
    ownership: Ownership | None = None
    kind: SubmissionKind | None = None
    year: int | None = None

    def without(self, name: str) -> Filters:
        return replace(self, **{name: "" if name == "q" else None})

    def args(self) -> dict[str, str]:
        """The filters as URL query parameters (only those that are set)."""
        values = {
            "q": self.q,
            "committee": self.committee,
            "service_area": self.service_area,
            "provider": self.provider,
            "ownership": self.ownership and self.ownership.value,
            "kind": self.kind and self.kind.value,
            "year": self.year,
        }
        return {k: str(v) for k, v in values.items() if v not in (None, "")}

    @property
    def empty(self) -> bool:
        return not self.args()


def parse_int(args: Mapping[str, str], name: str, *, low: int = 1, high: int = 2**31 - 1):
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidFilter(
            name, _l("Värdet ska vara ett heltal från %(low)s till %(high)s.", low=low, high=high)
        )
    return int(raw)


def parse_choice(args: Mapping[str, str], name: str, enum_cls):
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return enum_cls(raw)
    except ValueError:
        allowed = ", ".join(m.value for m in enum_cls)
        raise InvalidFilter(
            name, _l("Okänt värde. Tillåtna värden: %(allowed)s.", allowed=allowed)
        ) from None


def parse_filters(args: Mapping[str, str]) -> Filters:
    """Filters from query parameters; raises :class:`InvalidFilter` on a malformed value."""
    # Control characters (NUL among them, which PostgreSQL refuses) are never part of words.
    raw = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in args.get("q") or "")
    q = " ".join(raw.split())
    if len(q) > MAX_QUERY_CHARS:
        raise InvalidFilter("q", _l("Sökordet får vara högst %(n)s tecken.", n=MAX_QUERY_CHARS))
    return Filters(
        q=q,
        committee=parse_int(args, "committee"),
        service_area=parse_int(args, "service_area"),
        provider=parse_int(args, "provider"),
        ownership=parse_choice(args, "ownership", Ownership),
        kind=parse_choice(args, "kind", SubmissionKind),
        year=parse_int(args, "year", low=1900, high=2999),
    )


def parse_sort(args: Mapping[str, str], filters: Filters) -> str:
    raw = (args.get("sort") or "").strip()
    if raw and raw not in SORTS:
        raise InvalidFilter(
            "sort", _l("Okänd sortering. Tillåtna värden: %(allowed)s.", allowed=", ".join(SORTS))
        )
    if not raw or (raw == "relevance" and not filters.q):
        return "relevance" if filters.q else "newest"
    return raw


def parse_page(args: Mapping[str, str], name: str = "page") -> int:
    return parse_int(args, name, high=MAX_PAGE) or 1


def parse_per_page(args: Mapping[str, str]) -> int:
    return parse_int(args, "per_page", high=MAX_PER_PAGE) or PER_PAGE


# --- the two engines ---------------------------------------------------------------------


def _dialect() -> str:
    return db.session.get_bind().dialect.name


_TOKEN = re.compile(r'-?"[^"]*"?|\S+')
_WORD = re.compile(r"\w+")
# Common Swedish inflection endings, longest first: "avvikelserna" is searched as "avvikelse*".
_ENDINGS = (
    "ernas",
    "arnas",
    "ornas",
    "erna",
    "arna",
    "orna",
    "ens",
    "ets",
    "are",
    "ade",
    "na",
    "en",
    "et",
    "er",
    "ar",
    "or",
    "s",
)
_MIN_STEM = 4


def _stem(word: str) -> str:
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= _MIN_STEM:
            return word[: -len(ending)]
    return word


@dataclass(frozen=True)
class _Term:
    words: tuple[str, ...]
    phrase: bool


def _parse(text: str) -> tuple[list[list[_Term]], list[_Term]]:
    """A user's query as web search engines read it: words are ANDed, ``"a phrase"`` is a
    phrase, ``-word`` excludes, ``or`` between terms means either. Returns the ANDed
    groups of alternatives, and the excluded terms. Only word characters survive."""
    groups: list[list[_Term]] = []
    negative: list[_Term] = []
    pending_or = False
    for token in _TOKEN.findall(text):
        exclude = token.startswith("-") and len(token) > 1
        body = token[1:] if exclude else token
        if body.lower() == "or" and not exclude:
            pending_or = bool(groups)
            continue
        words = tuple(_WORD.findall(body.lower()))
        if not words:
            continue
        term = _Term(words, body.startswith('"'))
        if exclude:
            negative.append(term)
        elif pending_or:
            groups[-1].append(term)
        else:
            groups.append([term])
        pending_or = False
    return groups, negative


# Words this long or longer also match as prefixes: Swedish builds compounds, and
# "kvalitet" should find "kvalitetsredovisning".
_MIN_PREFIX = 3


def fts5_query(text: str) -> str:
    """The query as an FTS5 expression: each word a prefix of a light Swedish stem.
    Nothing the user types can reach FTS5's own syntax."""

    def word(w: str) -> str:
        stem = _stem(w)
        return f'"{stem}"*' if len(stem) >= _MIN_PREFIX else f'"{w}"'

    def term(t: _Term) -> str:
        if t.phrase:
            return '"' + " ".join(t.words) + '"'
        rendered = " ".join(word(w) for w in t.words)
        return f"({rendered})" if len(t.words) > 1 else rendered

    groups, negative = _parse(text)
    if not groups:
        return ""
    parts = [
        term(g[0]) if len(g) == 1 else "(" + " OR ".join(term(t) for t in g) + ")" for g in groups
    ]
    expression = " AND ".join(parts)
    for t in negative:
        expression = f"({expression}) NOT {term(t)}"
    return expression


def tsquery_text(text: str) -> str:
    """The query in PostgreSQL's ``to_tsquery`` syntax: each word a prefix of its Swedish
    stem (``to_tsquery`` stems it), phrases with ``<->``, ``!`` to exclude."""

    def word(w: str) -> str:
        return f"'{w}':*" if len(w) >= _MIN_PREFIX else f"'{w}'"

    def term(t: _Term) -> str:
        if t.phrase:
            return "(" + " <-> ".join(f"'{w}'" for w in t.words) + ")"
        return "(" + " & ".join(word(w) for w in t.words) + ")"

    groups, negative = _parse(text)
    if not groups:
        return ""
    parts = ["(" + " | ".join(term(t) for t in g) + ")" for g in groups]
    parts += [f"!{term(t)}" for t in negative]
    return " & ".join(parts)


_PG_VECTOR = sa.literal_column("publication.search_vector")
F = PublicationFacet


def _pg_tsquery(expression: str):
    return sa.func.to_tsquery(sa.literal_column("'swedish'::regconfig"), expression)


@dataclass
class _Text:
    """The text condition of a query, and its rank for relevance sorting."""

    condition: sa.ColumnElement | None = None  # on publication (joined)
    rank: sa.ColumnElement | None = None  # ascending is best
    join: sa.Subquery | None = None  # rows of the FTS5 table that match
    impossible: bool = False


def _text_match(q: str) -> _Text:
    if not q:
        return _Text()
    if _dialect() == "postgresql":
        expression = tsquery_text(q)
        if not expression:
            return _Text(impossible=True)
        query = _pg_tsquery(expression)
        return _Text(
            condition=_PG_VECTOR.op("@@")(query), rank=-sa.func.ts_rank_cd(_PG_VECTOR, query)
        )
    expression = fts5_query(q)
    if not expression:
        return _Text(impossible=True)
    fts = sa.table("publication_fts", sa.column("rowid"))
    matches = (
        sa.select(
            fts.c.rowid.label("id"),
            sa.literal_column("bm25(publication_fts, 10.0, 4.0, 1.0)").label("rank"),
        )
        .where(sa.literal_column("publication_fts").op("MATCH")(expression))
        .subquery("fts")
    )
    return _Text(join=matches, rank=matches.c.rank)


FACET_COLUMNS = {
    "committee": F.committee_id,
    "service_area": F.service_area_id,
    "provider": F.provider_id,
    "ownership": F.ownership,
    "kind": F.kind,
    "year": F.year,
}


def _conditions(filters: Filters) -> dict[str, sa.ColumnElement]:
    """One condition on publication_facet per facet filter that is set."""
    conditions = {}
    for name, column in FACET_COLUMNS.items():
        value = getattr(filters, name)
        if value is not None:
            conditions[name] = column == (value.value if hasattr(value, "value") else value)
    if filters.year is not None:
        # Also as a range of dates (a day wider than the Swedish year: the year column
        # decides), so that newest-first browsing reads that year's end of the date index
        # instead of walking every later publication to find the year's first.
        conditions["year"] = sa.and_(
            conditions["year"],
            F.published_at >= datetime(filters.year - 1, 12, 31, tzinfo=UTC),
            F.published_at < datetime(filters.year + 1, 1, 2, tzinfo=UTC),
        )
    return conditions


def _matching(
    select: sa.Select, q: str, text: _Text, state: PublicationState = PublicationState.PUBLISHED
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


@contextmanager
def _index_scans(text: _Text):
    """On PostgreSQL, let the rest of the transaction use index scans only, once a text
    query is about to run.

    The GIN index answers ``@@`` exactly (no recheck), but the planner prices ``@@`` on a
    row as almost free and would rather scan the table and test each row, which reads
    every search vector (out of line, migration 0006): seconds instead of milliseconds
    for a word that many publications contain. ``set_config(..., true)`` ends with the
    transaction; the public pages only read.
    """
    if text.condition is not None and _dialect() == "postgresql":
        session = db.session()
        connection = session.connection()
        transaction = session.get_transaction()
        if session.info.get("insyn.index_scans") is not transaction:
            # The request's Last-Modified first (it is kept for the request): max(updated_at)
            # is one step down an index, but without index scans it reads every row.
            last_modified()
            # And no JIT: with sequential scans "off" every later query of the request
            # that has to scan a small table (the facet labels) costs 10^10 in the
            # planner's eyes, and compiling it took 25-150 ms here for a 1 ms query.
            connection.execute(
                sa.text(
                    "SELECT set_config('enable_seqscan', 'off', true), "
                    "set_config('enable_indexscan', 'off', true), set_config('jit', 'off', true)"
                )
            )
            session.info["insyn.index_scans"] = transaction
    yield


@dataclass
class _Source:
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


def _source(
    filters: Filters, text: _Text, state: PublicationState = PublicationState.PUBLISHED
) -> _Source:
    conditions = list(_conditions(filters).values())
    impossible = [sa.false()] if text.impossible else []
    if text.condition is None and text.join is None:
        return _Source(
            F.publication_id, F.published_at, F, [F.state == state.value, *conditions, *impossible]
        )
    P = Publication
    froms = P.__table__
    where = [P.state == state, *impossible]
    if text.condition is not None:
        where.append(text.condition)
    if text.join is not None:
        froms = froms.join(text.join, text.join.c.id == P.id)
    if conditions:
        froms = froms.join(F.__table__, F.publication_id == P.id)
        where += conditions
    return _Source(P.id, P.published_at, froms, where)


def _filtered(
    select: sa.Select,
    filters: Filters,
    text: _Text,
    state: PublicationState = PublicationState.PUBLISHED,
) -> sa.Select:
    """``select`` from publication_facet with every filter (facet counts, tombstones)."""
    return _matching(select, filters.q, text, state).where(*_conditions(filters).values())


# --- searching ---------------------------------------------------------------------------

# Bounds that keep one request's work small whatever the query matches: totals are
# exact up to COUNT_CAP ("more than 10 000" beyond), and relevance ranks the newest
# RANK_CANDIDATES matches on PostgreSQL (after them, matches follow newest first).
COUNT_CAP = 10_000
RANK_CANDIDATES = 200
# Facet counts are given when the text query matches at most this many publications;
# beyond, the facets list their values without counts.
FACET_CAP = 5_000


def _setting(name: str, default: int) -> int:
    from flask import current_app

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


def _by_date(select: sa.Select, source: _Source, sort: str) -> sa.Select:
    if sort == "oldest":
        return select.order_by(source.published_at, source.id)
    return select.order_by(source.published_at.desc(), source.id.desc())


def _ids(
    filters: Filters, text: _Text, sort: str, offset: int, limit: int | None, total: int
) -> list[int]:
    source = _source(filters, text)
    by_date = _by_date(source.select(source.id), source, sort)
    if sort != "relevance" or text.rank is None:
        return list(db.session.scalars(by_date.offset(offset).limit(limit)))
    candidates_n = _setting("SEARCH_RANK_CANDIDATES", RANK_CANDIDATES)
    if _dialect() != "postgresql" or total <= candidates_n:
        ranked = source.select(source.id).order_by(
            text.rank, source.published_at.desc(), source.id.desc()
        )
        return list(db.session.scalars(ranked.offset(offset).limit(limit)))
    # Rank the newest candidates (reading each one's vector), then go on by date.
    candidates = (
        by_date.add_columns(source.published_at.label("at"))
        .limit(candidates_n)
        .subquery("candidates")
    )
    vector = sa.literal_column("ranked.search_vector")
    ranked_table = Publication.__table__.alias("ranked")
    rank = -sa.func.ts_rank_cd(vector, _pg_tsquery(tsquery_text(filters.q)))
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


def count(filters: Filters, text: _Text | None = None, cap: int | None = None) -> int:
    """How many publications match, counting at most ``cap + 1``."""
    if not filters.q and cap is not None:
        # Far beyond the cap (browsing everything, a year, a big committee) the facet
        # cube answers without counting 10 000 rows. It may be a minute old after a
        # provider or submission changes facet values, which cannot move a count this
        # far past the cap back under it; nearer to the cap, count exactly.
        cubed = _count_in_cube(filters)
        if cubed > 2 * cap:
            return cubed
    text = text if text is not None else _text_match(filters.q)
    source = _source(filters, text)
    matches = source.select(source.id)
    if cap is not None:
        matches = matches.limit(cap + 1)
    with _index_scans(text):
        return db.session.scalar(sa.select(sa.func.count()).select_from(matches.subquery())) or 0


def search(
    filters: Filters, *, sort: str = "newest", page: int = 1, per_page: int = PER_PAGE
) -> Results:
    """One page of published publications matching ``filters``, with the total count."""
    text = _text_match(filters.q)
    cap = _setting("SEARCH_COUNT_CAP", COUNT_CAP)
    total = count(filters, text, cap)
    capped = total > cap
    total = min(total, cap)
    items: list[Publication] = []
    if total and (page - 1) * per_page < total:
        offset = (page - 1) * per_page
        with _index_scans(text):
            ids = _ids(filters, text, sort, offset, min(per_page, total - offset), total)
        items = _load(ids)
    return Results(filters, sort, page, per_page, total, items, capped)


def _load(ids: list[int]) -> list[Publication]:
    """The publications with everything a result list shows, in the order of ``ids``."""
    if not ids:
        return []
    # The request too (the API lists it: one query per row otherwise); not the search text
    # (kilobytes per row, out of line on PostgreSQL, never shown in a list).
    options = (
        sa.orm.defer(Publication.search_text),
        sa.orm.joinedload(Publication.submission).options(
            sa.orm.joinedload(Submission.provider),
            sa.orm.joinedload(Submission.committee),
            sa.orm.joinedload(Submission.service_area),
            sa.orm.joinedload(Submission.request),
        ),
    )
    rows = (
        db.session.scalars(sa.select(Publication).where(Publication.id.in_(ids)).options(*options))
        .unique()
        .all()
    )
    by_id = {p.id: p for p in rows}
    return [by_id[i] for i in ids if i in by_id]


def iterate(filters: Filters, *, sort: str = "newest", batch: int = 1000):
    """Every matching publication, in batches (for CSV export), without a page limit."""
    text = _text_match(filters.q)
    total = count(filters, text)
    with _index_scans(text):
        ids = _ids(filters, text, sort, 0, None, total)
    for start in range(0, len(ids), batch):
        yield from _load(ids[start : start + batch])
        db.session.expunge_all()


# --- facets ------------------------------------------------------------------------------


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


OWNERSHIP_LABELS = {
    Ownership.PRIVATE: _l("Privat utförare"),
    Ownership.IN_HOUSE: _l("Kommunens egen regi"),
    Ownership.MUNICIPAL_COMPANY: _l("Kommunalt bolag"),
    Ownership.NON_PROFIT: _l("Idéburen organisation"),
}
KIND_LABELS = {
    SubmissionKind.TRANSPARENCY_INFO: _l("Insynsinformation"),
    SubmissionKind.DEVIATION_REPORT: _l("Avvikelserapport"),
    SubmissionKind.ACTION_PLAN: _l("Åtgärdsplan"),
    "follow_up_report": _l("Uppföljningsrapport"),
}


def ownership_label(value) -> str:
    return str(OWNERSHIP_LABELS.get(value, value))


def kind_label(value) -> str:
    return str(KIND_LABELS.get(value, str(getattr(value, "value", value)).replace("_", " ")))


class _FacetCache:
    """Facet counts per (filters, language), valid while no publication changes and for
    at most ``ttl`` seconds (names and ownership of providers can change on their own).

    Counting facets reads every match; the same few filter combinations (the start
    page, the unfiltered browse page, one service area) are asked for again and again.
    """

    def __init__(self, size: int = 512, ttl: float = 60.0):
        self.size, self.ttl = size, ttl
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, version):
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            stored_version, stored_at, value = entry
            if stored_version != version or time.monotonic() - stored_at > self.ttl:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def put(self, key, version, value) -> None:
        with self._lock:
            self._entries[key] = (version, time.monotonic(), value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            _name_cache.clear()


facet_cache = _FacetCache()


def facets(filters: Filters, text_matches: int | None = None) -> dict[str, Facet]:
    """For each facet, its values and counts among the matches of the *other* filters.

    ``text_matches``: how many publications the text query alone matches, when the caller
    knows (a search without facet filters just counted them).
    """
    key = (str(db.engine.url), filters, str(get_locale()))
    version = last_modified()
    cached = facet_cache.get(key, version)
    if cached is None:
        counts = _count_facets(filters, text_matches)
        cached = _label(filters, counts) if counts is not None else _uncounted(filters)
        facet_cache.put(key, version, cached)
    return cached


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


def _count_facets(filters: Filters, text_matches: int | None = None) -> dict[str, dict] | None:
    """{facet: {value: count}}, each facet counted under every filter but its own; None
    when the text query alone matches more than FACET_CAP publications."""
    text = _text_match(filters.q)
    conditions = _conditions(filters)
    if filters.q:
        cap = _setting("SEARCH_FACET_CAP", FACET_CAP)
        if text_matches is None:
            text_matches = count(Filters(q=filters.q), text, cap)
        if text_matches > cap:
            return None

    if not filters.q:
        return _count_from_cube(filters)

    def others(name: str) -> list[sa.ColumnElement]:
        return [c for n, c in conditions.items() if n != name]

    if _dialect() != "postgresql":
        counts = {}
        for name, column in FACET_COLUMNS.items():
            query = (
                _matching(sa.select(column, sa.func.count()), filters.q, text)
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
    query = _matching(query, filters.q, text)
    if len(conditions) > 1:
        misses = sum(sa.case((c, 0), else_=1) for c in conditions.values())
        query = query.where(misses <= 1)
    query = query.group_by(sa.func.grouping_sets(*columns))
    n = len(columns)
    counts = {name: {} for name in FACET_COLUMNS}
    with _index_scans(text):
        rows = db.session.execute(query).all()
    for row in rows:
        values, grouped, numbers = row[:n], row[n : 2 * n], row[2 * n :]
        index = list(grouped).index(0)
        name = list(FACET_COLUMNS)[index]
        if values[index] is not None and numbers[index]:
            counts[name][values[index]] = numbers[index]
    return counts


def _cube() -> list[tuple]:
    """Every published combination of facet values with its count: a few thousand rows
    for 100 000 publications (area decides committee, provider decides ownership). Read
    once per change of the data (at most a minute old, as the facet cache)."""
    key = (str(db.engine.url), "cube")
    version = last_modified()
    cube = facet_cache.get(key, version)
    if cube is None:
        columns = list(FACET_COLUMNS.values())
        cube = [
            tuple(row)
            for row in db.session.execute(
                sa.select(*columns, sa.func.count())
                .where(F.state == PublicationState.PUBLISHED.value)
                .group_by(*columns)
            )
        ]
        facet_cache.put(key, version, cube)
    return cube


def _wanted(filters: Filters) -> list[tuple[int, object]]:
    """(column of the cube, value) of each facet filter that is set."""
    return [
        (i, getattr(value, "value", value))
        for i, value in ((i, getattr(filters, name)) for i, name in enumerate(FACET_COLUMNS))
        if value is not None
    ]


def _count_in_cube(filters: Filters) -> int:
    """How many publications match facet filters (no text query), from :func:`_cube`."""
    rows = _cube()
    for i, value in _wanted(filters):
        rows = [row for row in rows if row[i] == value]
    return sum(row[-1] for row in rows)


def _count_from_cube(filters: Filters) -> dict[str, dict]:
    """Facet counts without a text query, from :func:`_cube` instead of reading every
    matching publication: a row that fails no filter counts for every facet, a row that
    fails one filter counts only for that filter's facet."""
    names = list(FACET_COLUMNS)
    wanted = _wanted(filters)
    counts: list[dict] = [{} for _ in names]
    for row in _cube():
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


_name_cache: dict = {}


def _names(model, needed) -> dict[int, str]:
    """id → name of every committee, service area or provider: read again after a minute,
    or at once when an id is new."""
    key = (str(db.engine.url), model.__name__)
    stored = _name_cache.get(key)
    if (
        stored is None
        or time.monotonic() - stored[0] > 60
        or any(ident not in stored[1] for ident in needed)
    ):
        stored = (time.monotonic(), dict(db.session.execute(sa.select(model.id, model.name)).all()))
        _name_cache[key] = stored
    return stored[1]


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
            labels = _names(models[name], found)
            values = [FacetValue(str(k), labels[k], n) for k, n in found.items() if k in labels]
            values.sort(key=lambda v: v.label.casefold())
        elif name == "ownership":
            values = [
                FacetValue(o.value, ownership_label(o), found[o.value])
                for o in Ownership
                if o.value in found
            ]
        elif name == "kind":
            values = [
                FacetValue(k.value, kind_label(k), found[k.value])
                for k in SubmissionKind
                if k.value in found
            ]
        else:
            values = [FacetValue(str(y), str(y), found[y]) for y in sorted(found, reverse=True)]
        result[name] = Facet(name, values, None if selected is None else str(selected_key))
    return result


def withdrawn(filters: Filters, limit: int = 20) -> list[Publication]:
    """Recently withdrawn publications matching the filters other than the text query
    (the feed tells its readers to remove them)."""
    query = _filtered(
        sa.select(F.publication_id), filters.without("q"), _Text(), PublicationState.WITHDRAWN
    )
    query = query.join(Publication, Publication.id == F.publication_id)
    ids = db.session.scalars(
        query.order_by(Publication.withdrawn_at.desc(), Publication.id.desc()).limit(limit)
    ).all()
    return _load(list(ids))


def latest(limit: int = 10, filters: Filters | None = None) -> list[Publication]:
    return search(filters or Filters(), sort="newest", per_page=limit).items


def last_modified() -> datetime | None:
    """When anything public last changed: a publication published, edited or withdrawn.

    One indexed look-up (once per request); an upper bound for every page, which is what
    Last-Modified needs.
    """
    from flask import g, has_request_context

    if has_request_context() and "insyn_last_modified" in g:
        return g.insyn_last_modified
    changed = db.session.scalar(sa.select(sa.func.max(Publication.updated_at)))
    if has_request_context():
        g.insyn_last_modified = changed
    return changed


# --- what is indexed ---------------------------------------------------------------------


def approved_answers(publication: Publication) -> dict:
    """The answers of the version the publisher checked and published (pinned by the
    publication): never those of a later version, such as an action plan's progress
    report, which no publisher has seen."""
    return dict(publication.version.answers or {})


def shown_answers(publication: Publication) -> dict:
    """The chosen originals of the published version and, in their place, the publisher's
    redacted wordings, {key: value}. Raw material of
    :func:`portal.public.answers.public_answers`, which decides what the public sees."""
    from portal.models.publication import public_answers

    return public_answers(publication, approved_answers(publication))


def public_documents(publication: Publication) -> list:
    """The published documents the public may download: scanned clean, of a live publication."""
    if publication.state != PublicationState.PUBLISHED:
        return []
    return [d for d in publication.documents if d.public_file.scan_status == ScanStatus.CLEAN]


def _flatten(value) -> Iterable[str]:
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _flatten(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _flatten(item)
    elif value is not None and value != "":
        yield str(value)


# The columns of a measure that the publication page shows (templates/public/publication.html)
# and the API gives (portal.public.answers.Answer.measures); nothing else of a measure is
# public (its ``evidence`` is an internal attachment id).
SHOWN_MEASURE_KEYS = ("description", "owner", "due", "status", "done_on")


def _shown_words(answer) -> Iterable[str]:
    """The words of one public answer as its page shows them: a file answer by its
    documents (indexed with their text, below), measures by the columns the table shows,
    anything else as given."""
    if answer.type == FieldType.FILE.value:
        return
    if answer.type == "measures" and answer.measures:
        for measure in answer.measures:
            yield from _flatten(list(measure.values()))
    elif answer.answered:
        yield from _flatten(answer.raw)


def index_text(publication: Publication) -> str:
    """What the public page of ``publication`` shows, as one text for search.

    The index holds only what the public can read, so that no query (a whole word, a
    prefix, a phrase, an exclusion) can tell anything else: the facts of the page
    (provider and its organisation number, committee and its code, service area,
    registration number, the request answered), the public answers as the page lists them
    (the chosen originals or the publisher's redacted wordings, see
    :func:`portal.public.answers.public_answers`) and the published documents, each by the
    name and text of its public file: the redacted copy where there is one, and only once
    scanned clean. Never the submission's own title (the publisher writes the
    publication's), unpublished answers or files, or the original of a redacted file.
    A withdrawn publication's page shows none of it, so its text is empty.

    Title and summary are indexed from their own columns (with higher weight),
    so they are not repeated here.
    """
    from portal.public.answers import public_answers

    if publication.state != PublicationState.PUBLISHED:
        return ""
    submission = publication.submission
    parts: list[str] = [
        submission.provider.name,
        submission.provider.org_number,
        submission.committee.name,
        submission.committee.code,
        submission.registration_number or "",
    ]
    if submission.service_area is not None:
        parts.append(submission.service_area.name)
    request: InformationRequest | None = submission.request
    if request is not None:
        parts += [request.title, request.registration_number]
    for answer in public_answers(publication):
        if request is not None:
            parts.append(answer.label)
        parts.extend(_shown_words(answer))
    labels = {f.key: f.label for f in request.fields} if request is not None else {}
    text = "\n".join(p for p in parts if p)
    for document in public_documents(publication):
        budget = MAX_INDEX_CHARS - len(text)
        if budget <= 0:
            break
        heading = [labels.get(document.attachment.slot, ""), document.public_file.display_name]
        text += (
            "\n"
            + "\n".join(h for h in heading if h)
            + "\n"
            + _document_text(document.public_file, budget)
        )
    return text[:MAX_INDEX_CHARS]


def _document_text(attachment, budget: int) -> str:
    from portal.documents.text import extract
    from storage import StoreError, current_store

    try:
        with current_store().get(attachment.storage_key) as stream:
            return extract(stream, attachment.content_type, max_chars=budget).text
    except StoreError:
        # The page still works; reindexing later (flask public reindex) picks the text up.
        log.warning("document %s missing from the store; indexed without its text", attachment.id)
        return ""


def refresh(publication: Publication) -> Publication:
    """Recompute ``search_text`` of ``publication``; the index follows (trigger/generated)."""
    publication.search_text = index_text(publication)
    db.session.flush()
    return publication


def reindex_all(batch: int = 200) -> int:
    """Recompute the search text of every publication; returns how many. Commits per batch."""
    ids = db.session.scalars(sa.select(Publication.id).order_by(Publication.id)).all()
    for start in range(0, len(ids), batch):
        for publication in db.session.scalars(
            sa.select(Publication).where(Publication.id.in_(ids[start : start + batch]))
        ):
            publication.search_text = index_text(publication)
        db.session.commit()
    if _dialect() == "sqlite":
        db.session.execute(
            sa.text("INSERT INTO publication_fts(publication_fts) VALUES ('rebuild')")
        )
        db.session.commit()
    return len(ids)


# --- schema objects outside the models ---------------------------------------------------


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic autogenerate: the search objects of migration 0003_public_search are not in
    the models (they differ per database); without this, ``flask db migrate`` drops them."""
    if type_ == "table" and name and name.startswith("publication_fts"):
        return False
    if type_ == "column" and name == "search_vector" and obj.table.name == "publication":
        return False
    return not (type_ == "index" and name == "ix_publication_search_vector")


def init_app(app) -> None:
    migrate_config = app.extensions.get("migrate")
    if migrate_config is None:
        return
    previous = migrate_config.configure_args.get("include_object")
    if previous is None:
        migrate_config.configure_args["include_object"] = include_object
    elif previous is not include_object:
        migrate_config.configure_args["include_object"] = lambda *a: (
            previous(*a) and include_object(*a)
        )
