"""The two full-text engines behind one text condition.

PostgreSQL: the generated column ``publication.search_vector`` (the ``swedish`` text
search configuration; title weighted A, summary B, the rest C) with a GIN index, queried
with ``to_tsquery`` in the same configuration and ranked with ``ts_rank_cd``.
SQLite: the FTS5 external-content table ``publication_fts`` (title, summary,
search_text), kept in sync by triggers on ``publication``, ranked with bm25.
Both schema objects come from migration 0003_public_search.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa

from portal.extensions import db
from portal.search.loading import last_modified
from portal.search.query import fts5_query, tsquery_text

PG_VECTOR = sa.literal_column("publication.search_vector")


def dialect() -> str:
    return db.session.get_bind().dialect.name


def pg_tsquery(expression: str):
    """``expression`` (see :func:`tsquery_text`) as a tsquery in the index's configuration."""
    return sa.func.to_tsquery(sa.literal_column("'swedish'::regconfig"), expression)


@dataclass
class TextMatch:
    """The text condition of a query, and its rank for relevance sorting."""

    condition: sa.ColumnElement | None = None  # on publication (joined)
    rank: sa.ColumnElement | None = None  # ascending is best
    join: sa.Subquery | None = None  # rows of the FTS5 table that match
    impossible: bool = False


def text_match(q: str) -> TextMatch:
    if not q:
        return TextMatch()
    if dialect() == "postgresql":
        expression = tsquery_text(q)
        if not expression:
            return TextMatch(impossible=True)
        query = pg_tsquery(expression)
        return TextMatch(
            condition=PG_VECTOR.op("@@")(query), rank=-sa.func.ts_rank_cd(PG_VECTOR, query)
        )
    expression = fts5_query(q)
    if not expression:
        return TextMatch(impossible=True)
    fts = sa.table("publication_fts", sa.column("rowid"))
    matches = (
        sa.select(
            fts.c.rowid.label("id"),
            sa.literal_column("bm25(publication_fts, 10.0, 4.0, 1.0)").label("rank"),
        )
        .where(sa.literal_column("publication_fts").op("MATCH")(expression))
        .subquery("fts")
    )
    return TextMatch(join=matches, rank=matches.c.rank)


@contextmanager
def index_scans(text: TextMatch):
    """On PostgreSQL, let the rest of the transaction use index scans only, once a text
    query is about to run.

    The GIN index answers ``@@`` exactly (no recheck), but the planner prices ``@@`` on a
    row as almost free and would rather scan the table and test each row, which reads
    every search vector (out of line, migration 0006): seconds instead of milliseconds
    for a word that many publications contain. ``set_config(..., true)`` ends with the
    transaction; the public pages only read.
    """
    if text.condition is not None and dialect() == "postgresql":
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
