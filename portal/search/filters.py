"""What the user asked for, read from query parameters: the same names in page URLs, the
API and the feed, with the bounds every request is held to."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace

from flask_babel import lazy_gettext as _l

from portal.models import Ownership, SubmissionKind
from portal.models.base import MAX_ID

PER_PAGE = 20
MAX_PER_PAGE = 100
MAX_PAGE = 10_000
MAX_QUERY_CHARS = 200

SORTS = ("relevance", "newest", "oldest")


class InvalidFilter(ValueError):
    """A query parameter that cannot be understood; ``message`` is for the user."""

    def __init__(self, param: str, message):
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


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


def parse_int(args: Mapping[str, str], name: str, *, low: int = 1, high: int = MAX_ID):
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
