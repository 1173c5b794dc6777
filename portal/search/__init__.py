"""Full-text search and faceted browsing of publications: one interface, two engines.

- :mod:`.filters`: what the user asked for (query parameters, their bounds);
- :mod:`.query` and :mod:`.stemming`: the user's query language for each engine;
- :mod:`.engines`: PostgreSQL's tsvector and SQLite's FTS5 behind one text condition;
- :mod:`.matching`: the facet filters and the text condition as one select;
- :mod:`.results`: a page of results, every match, the latest, the withdrawn;
- :mod:`.faceting`, :mod:`.cube`, :mod:`.cache`: facet values, counts and their cache;
- :mod:`.index`: what is indexed (only what the public page shows);
- :mod:`.loading`: reading publications for the pages and the API, Last-Modified;
- :mod:`.schema`: the search objects Alembic's autogenerate must leave alone.

Only published publications are ever returned; withdrawn ones stay in the index (their
rows stay, with an empty text) and are filtered out by state.
"""

from portal.models.base import MAX_ID
from portal.models.publication import PublicationFacet as F
from portal.policy import SHOWN_MEASURE_KEYS, approved_answers, public_documents, shown_answers
from portal.search.cache import facet_cache
from portal.search.cube import count_from_cube as _count_from_cube
from portal.search.cube import count_in_cube as _count_in_cube
from portal.search.faceting import FACET_CAP, Facet, FacetValue, facets
from portal.search.filters import (
    MAX_PAGE,
    MAX_PER_PAGE,
    MAX_QUERY_CHARS,
    PER_PAGE,
    SORTS,
    Filters,
    InvalidFilter,
    parse_choice,
    parse_filters,
    parse_int,
    parse_page,
    parse_per_page,
    parse_sort,
)
from portal.search.index import index_text, refresh, reindex_all
from portal.search.loading import get_or_404, last_modified, publication_or_404
from portal.search.matching import FACET_COLUMNS
from portal.search.matching import conditions as _conditions
from portal.search.query import fts5_query, tsquery_text
from portal.search.results import (
    COUNT_CAP,
    RANK_CANDIDATES,
    Results,
    count,
    iterate,
    latest,
    search,
    withdrawn,
)
from portal.search.schema import include_object, init_app

__all__ = [
    "COUNT_CAP",
    "F",
    "FACET_CAP",
    "FACET_COLUMNS",
    "MAX_ID",
    "MAX_PAGE",
    "MAX_PER_PAGE",
    "MAX_QUERY_CHARS",
    "PER_PAGE",
    "RANK_CANDIDATES",
    "SHOWN_MEASURE_KEYS",
    "SORTS",
    "Facet",
    "FacetValue",
    "Filters",
    "InvalidFilter",
    "Results",
    "_conditions",
    "_count_from_cube",
    "_count_in_cube",
    "approved_answers",
    "count",
    "facet_cache",
    "facets",
    "fts5_query",
    "get_or_404",
    "include_object",
    "index_text",
    "init_app",
    "iterate",
    "last_modified",
    "latest",
    "parse_choice",
    "parse_filters",
    "parse_int",
    "parse_page",
    "parse_per_page",
    "parse_sort",
    "publication_or_404",
    "public_documents",
    "refresh",
    "reindex_all",
    "search",
    "shown_answers",
    "tsquery_text",
    "withdrawn",
]
