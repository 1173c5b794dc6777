"""The bounds that keep a broad query cheap, with small limits so that they show:
totals exact up to a cap ("more than"), relevance ranking the newest candidates and then
going on by date, facets without counts for a text query with very many matches."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from portal import search
from portal.extensions import db
from tests.conftest import text_of


@pytest.fixture
def app_config(app_config):
    app_config.update(SEARCH_COUNT_CAP=6, SEARCH_RANK_CANDIDATES=3, SEARCH_FACET_CAP=4)
    return app_config


@pytest.fixture
def many(make, w):
    """Eight publications mentioning "bemanning"; the oldest ones say it most often."""
    for n in range(8):
        answer = "bemanning " * (8 - n) + "övrigt"
        p = make.publication(w, title=f"Rapport {n}", answers={1: answer})
        p.published_at = datetime(2026, 1, 1 + n, tzinfo=UTC)
    db.session.commit()


def titles(response) -> list[str]:
    return re.findall(
        r'class="result-title"><a href="[^"]+">([^<]+)<', response.get_data(as_text=True)
    )


def test_totals_are_exact_up_to_the_cap(client, many):
    page = client.get("/sok?q=bemanning&sort=newest")
    assert "Fler än 6 publiceringar" in text_of(page)
    assert "bara de första 6 visas" in text_of(page)
    assert titles(page) == [f"Rapport {n}" for n in (7, 6, 5, 4, 3, 2)]
    api = client.get("/api/v1/publications?q=bemanning&per_page=4").get_json()
    assert (api["total"], api["total_capped"], api["pages"]) == (6, True, 2)
    exact = client.get("/api/v1/publications?q=rapport&provider=999").get_json()
    assert (exact["total"], exact["total_capped"]) == (0, False)
    # The CSV export is not capped: it has every match.
    body = client.get("/api/v1/publications.csv?q=bemanning").get_data(as_text=True)
    assert body.count("\n") == 1 + 8


def test_relevance_ranks_the_newest_candidates_then_goes_on_by_date(client, many, app):
    ranked = client.get("/api/v1/publications?q=bemanning&per_page=2").get_json()
    second = client.get("/api/v1/publications?q=bemanning&per_page=2&page=2").get_json()
    third = client.get("/api/v1/publications?q=bemanning&per_page=2&page=3").get_json()
    order = [p["title"] for p in ranked["items"] + second["items"] + third["items"]]
    if db.engine.dialect.name == "postgresql":
        # The three newest (7, 6, 5) by rank (5 says it most), then 4, 3, 2 by date.
        assert order == [
            "Rapport 5",
            "Rapport 6",
            "Rapport 7",
            "Rapport 4",
            "Rapport 3",
            "Rapport 2",
        ]
    else:
        # SQLite ranks every match (bm25 in the index): most mentions first.
        assert order == [f"Rapport {n}" for n in range(6)]


def test_facets_lose_their_counts_for_a_very_broad_text_query(client, make, many, w):
    make.publication(w, title="Om solrosor")
    broad = client.get("/sok?q=bemanning").get_data(as_text=True)
    assert f'<option value="{w.area_x.id}">Hemtjänst</option>' in broad
    narrow = client.get("/sok?q=solrosor").get_data(as_text=True)
    assert f'<option value="{w.area_x.id}">Hemtjänst (1)</option>' in narrow
    facets = search.facets(search.Filters(q="bemanning"))
    assert {v.count for f in facets.values() for v in f.values} == {None}
