"""What one public request asks the database stays the same as the data grows: no
statement per listed publication, one for a publication's page, and facet counts and
broad totals from the facet cube (bench/public_load.py measures them at 100 000)."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa

from portal import search
from portal.extensions import db
from portal.models import Ownership, SubmissionKind
from portal.search import Filters


@contextmanager
def statements():
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def test_listing_publications_needs_no_statement_per_publication(client, make, w):
    paths = ("/api/v1/publications", "/sok", "/sok?q=rapport", f"/utforare/{w.org_a.id}")

    def count_statements() -> dict[str, int]:
        counts = {}
        for path in paths:
            client.get(path)  # warm: facet cube and labels are read once per change
            with statements() as seen:
                assert client.get(path).status_code == 200
            counts[path] = len(seen)
        return counts

    make.publication(w, title="Rapport 0")
    db.session.commit()
    one = count_statements()
    for n in range(1, 7):
        make.publication(w, title=f"Rapport {n}")
    db.session.commit()
    assert count_statements() == one


def test_a_publication_is_read_in_one_statement(client, make, w):
    p = make.publication(w, title="En publicering", answers={1: "Svar"})
    db.session.commit()
    path = f"/api/v1/publications/{p.id}"
    with statements() as seen:
        assert client.get(path).status_code == 200
    publication_reads = [s for s in seen if "FROM publication" in s and "max(" not in s]
    assert len(publication_reads) == 1, seen


def test_facet_counts_and_totals_from_the_cube_match_counting(app, make, w):
    for n in range(5):
        p = make.publication(
            w,
            w.org_b if n % 2 else w.org_a,
            area=w.area_y if n % 2 else w.area_x,
            title=f"Rapport {n}",
        )
        p.published_at = datetime(2023 + n % 3, 6, 1, tzinfo=UTC)
    db.session.commit()
    combinations = [
        Filters(),
        Filters(year=2024),
        Filters(provider=w.org_b.id),
        Filters(committee=w.committee_x.id, ownership=Ownership.PRIVATE),
        Filters(kind=SubmissionKind.TRANSPARENCY_INFO, year=2023, service_area=w.area_y.id),
    ]
    with app.test_request_context("/sok"):
        for filters in combinations:
            conditions = search._conditions(filters)
            expected = {}
            for name, column in search.FACET_COLUMNS.items():
                others = [c for n, c in conditions.items() if n != name]
                query = (
                    sa.select(column, sa.func.count())
                    .where(search.F.state == "published", *others)
                    .group_by(column)
                )
                expected[name] = {v: n for v, n in db.session.execute(query) if v is not None}
            assert search._count_from_cube(filters) == expected, filters
            total = db.session.scalar(
                sa.select(sa.func.count()).where(
                    search.F.state == "published", *conditions.values()
                )
            )
            assert search._count_in_cube(filters) == total, filters
