"""The user's query language, translated for each engine: words are ANDed, ``"a phrase"``
is a phrase, ``-word`` excludes, ``or`` between terms means either. Nothing the user types
reaches either engine's own syntax."""

from __future__ import annotations

import re
from dataclasses import dataclass

from portal.search.stemming import stem

_TOKEN = re.compile(r'-?"[^"]*"?|\S+')
_WORD = re.compile(r"\w+")
# Words this long or longer also match as prefixes: Swedish builds compounds, and
# "kvalitet" should find "kvalitetsredovisning".
_MIN_PREFIX = 3


@dataclass(frozen=True)
class _Term:
    words: tuple[str, ...]
    phrase: bool


def _parse(text: str) -> tuple[list[list[_Term]], list[_Term]]:
    """The ANDed groups of alternatives, and the excluded terms. Only word characters
    survive."""
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


def fts5_query(text: str) -> str:
    """The query as an FTS5 expression: each word a prefix of its Swedish stem."""

    def word(w: str) -> str:
        stemmed = stem(w)
        return f'"{stemmed}"*' if len(stemmed) >= _MIN_PREFIX else f'"{w}"'

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
