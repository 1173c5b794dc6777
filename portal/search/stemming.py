"""Swedish stems of query words for the SQLite engine.

The Snowball algorithm for Swedish, the one PostgreSQL's ``swedish`` text search
configuration stems with: a word form is searched as a prefix of the stem PostgreSQL
would index, so both engines find the same publications for it.
"""

from __future__ import annotations

import snowballstemmer


def stem(word: str) -> str:
    """The stem of a lowercase word: "avvikelserna" → "avvik"."""
    # A stemmer object keeps its word while it works: one per call, never shared by threads.
    return snowballstemmer.stemmer("swedish").stemWord(word)
