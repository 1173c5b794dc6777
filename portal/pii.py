"""Find personal data in free text: the publication guard and the deviation-form warning.

Recognised kinds:

- ``personnummer`` / ``samordningsnummer``: 10 or 12 digits, separator ``-``,
  ``+`` or none (typographic dashes such as en dash or Word's non-breaking
  hyphen count as ``-``), validated with the ``personnummer`` package (date,
  Luhn checksum, serial not ``000``); a coordination number is a day + 60.
  Twelve-digit forms must start with 18, 19 or 20 (``16...`` is an
  organisation number).
- ``email``: e-mail addresses.
- ``phone``: Swedish phone numbers, national (``08-123 456 78``,
  ``070-123 45 67``, ``(031) 12 34 56``, ``0701234567``) and international
  (``+46 70 123 45 67``, ``+46 (0)8-123 456 78``, ``0046 ...``).

Only digit runs that stand alone count: a number inside a longer digit run is
never a hit. A ten-digit number written without a separator and starting with
``0`` is both a valid-looking phone number and possibly the identity number of
someone born 2000-2009; it is reported as a phone number when the text just
before it says so (``tel``, ``mobil``, ``ring`` ...), otherwise as an identity
number, because the guard must rather ask once too often.

The matched text is personal data: log or audit :attr:`Hit.masked`, never
:attr:`Hit.text`.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

from personnummer import personnummer as _pnr

__all__ = [
    "CONTEXT_CHARS",
    "IDENTITY_NUMBER_KINDS",
    "Hit",
    "PersonalDataKind",
    "contains_identity_number",
    "find_personal_data",
    "masked_context",
]

CONTEXT_CHARS = 40


class PersonalDataKind(StrEnum):
    """What a hit is; the values are stable identifiers (compare with plain strings)."""

    PERSONNUMMER = "personnummer"
    SAMORDNINGSNUMMER = "samordningsnummer"
    EMAIL = "email"
    PHONE = "phone"


IDENTITY_NUMBER_KINDS = frozenset(
    {PersonalDataKind.PERSONNUMMER, PersonalDataKind.SAMORDNINGSNUMMER}
)


@dataclass(frozen=True, slots=True)
class Hit:
    """One occurrence of personal data in a text.

    ``text`` is exactly ``source[start:end]``; ``before``/``after`` are up to
    :data:`CONTEXT_CHARS` characters around it, whitespace collapsed, with ``…``
    where the source goes on. ``normalized`` is a canonical form for grouping
    repeated occurrences (``YYYYMMDD-NNNC``, ``+46...``, lower-cased e-mail).
    """

    kind: PersonalDataKind
    text: str
    start: int
    end: int
    before: str
    after: str
    normalized: str

    @property
    def context(self) -> str:
        """The hit with its surroundings on one line, e.g. for a review list."""
        return f"{self.before}{_collapse(self.text)}{self.after}"

    @property
    def is_identity_number(self) -> bool:
        return self.kind in IDENTITY_NUMBER_KINDS

    @property
    def masked(self) -> str:
        """A form safe for logs and the audit trail: the hit made unrecognisable."""
        if self.kind is PersonalDataKind.EMAIL:
            local, _, domain = self.text.partition("@")
            return f"{local[:1]}***@{domain}"
        digits_left = sum(ch.isdigit() for ch in self.text)
        out = []
        for ch in self.text:
            if ch.isdigit():
                digits_left -= 1
                out.append(ch if digits_left < 2 else "*")
            else:
                out.append(ch)
        return "".join(out)


def find_personal_data(text: str) -> list[Hit]:
    """Every personal-data hit in ``text``, ordered by position."""
    if not text:
        return []
    hits = list(_identity_hits(text))
    taken = _Spans((h.start, h.end) for h in hits)
    hits.extend(h for h in _phone_hits(text) if not taken.overlaps(h.start, h.end))
    hits.extend(_email_hits(text))
    hits.sort(key=lambda h: (h.start, h.end))
    return hits


def masked_context(text: str, hit: Hit, hits: Sequence[Hit] | None = None) -> tuple[str, str, str]:
    """``hit`` in its surroundings as ``(before, masked hit, after)`` for a page to show.

    The same window as :attr:`Hit.before`/:attr:`Hit.after`, but every hit in it (``hits``,
    by default all of ``text``) is shown as its :attr:`Hit.masked` form, the hit itself too;
    a hit the window would cut in two is taken whole, so no part of it shows unmasked.
    """
    if hits is None:
        hits = find_personal_data(text)
    lo = max(0, hit.start - CONTEXT_CHARS)
    hi = min(len(text), hit.end + CONTEXT_CHARS)
    for other in hits:
        if other.start < lo < other.end:
            lo = other.start
        if other.start < hi < other.end:
            hi = other.end
    before = _collapse(_masked_span(text, lo, hit.start, hits)).lstrip()
    after = _collapse(_masked_span(text, hit.end, hi, hits)).rstrip()
    if lo > 0:
        before = "…" + before
    if hi < len(text):
        after += "…"
    return before, _collapse(hit.masked), after


def _masked_span(text: str, start: int, end: int, hits: Sequence[Hit]) -> str:
    """``text[start:end]`` with each hit in it masked. Of a hit that is not wholly inside
    (it overlaps another hit, or the span's edge), the part inside has every letter and
    digit starred."""
    out, cursor = [], start
    for h in sorted(hits, key=lambda h: (h.start, h.end)):
        if h.end <= cursor or h.start >= end:
            continue
        out.append(text[cursor : max(cursor, h.start)])
        if cursor <= h.start and h.end <= end:
            out.append(h.masked)
        else:
            out.append(_STAR_RE.sub("*", text[max(cursor, h.start) : min(end, h.end)]))
        cursor = min(end, h.end)
    out.append(text[cursor:end])
    return "".join(out)


_STAR_RE = re.compile(r"\w")


def contains_identity_number(text: str) -> bool:
    """Whether ``text`` seems to hold a valid personnummer or samordningsnummer."""
    return bool(text) and next(_identity_hits(text), None) is not None


# --- identity numbers ------------------------------------------------------

# Dashes that word processors and PDF text layers put where a "-" was typed.
_DASHES = "\\-\u2010\u2011\u2012\u2013\u2212"
_SPACES = " \u00a0\u202f"

_IDENTITY_RE = re.compile(
    rf"""
    (?<![0-9])
    (?P<century>18|19|20)?
    (?P<date>[0-9]{{6}})
    (?P<sep>[+{_DASHES}]?)
    (?P<serial>[0-9]{{4}})
    (?![0-9])
    """,
    re.VERBOSE,
)

# Words that, just before a bare 0XXXXXXXXX, make it a phone number.
_PHONE_CUE_RE = re.compile(
    r"\b(?:tel|tfn|telefon\w*|mobil\w*|mob|mobile|phone|cell|ring\w*|sms|fax|växel\w*)"
    r"\b[^0-9\n]{0,20}$",
    re.IGNORECASE,
)


def _identity_hits(text: str) -> Iterator[Hit]:
    for m in _IDENTITY_RE.finditer(text):
        century, date, sep, serial = m.group("century", "date", "sep", "serial")
        sep = "" if not sep else "+" if sep == "+" else "-"
        try:
            number = _pnr.Personnummer(f"{century or ''}{date}{sep}{serial}")
        except _pnr.PersonnummerException:
            continue
        if not century and not sep and date.startswith("0") and _phone_cue_before(text, m):
            continue  # reported by _phone_hits instead
        kind = (
            PersonalDataKind.SAMORDNINGSNUMMER
            if number.is_coordination_number()
            else PersonalDataKind.PERSONNUMMER
        )
        normalized = f"{number.full_year}{number.month}{number.day}-{number.num}{number.check}"
        yield _hit(text, kind, m.start(), m.end(), normalized)


def _phone_cue_before(text: str, m: re.Match[str]) -> bool:
    return _PHONE_CUE_RE.search(text, max(0, m.start() - 40), m.start()) is not None


# --- phone numbers -----------------------------------------------------------

# A dash only parts the area code from the subscriber number, whose groups are
# parted by spaces: "08-17 10-15" is opening hours, not a phone number.
_GROUP_SEP = rf"(?:[{_SPACES}]?[{_DASHES}][{_SPACES}]?|[{_SPACES}])"

_PHONE_RE = re.compile(
    rf"""
    (?<![\w+])
    (?:
        (?P<intl>(?:\+|00)46)[{_SPACES}{_DASHES}]?(?:\(0\)[{_SPACES}]?)?(?P<ifirst>[1-9][0-9]{{0,8}})
      | \((?P<pfirst>0[1-9][0-9]{{0,2}})\)[{_SPACES}]?(?P<pnext>[0-9]{{2,8}})
      | (?P<nfirst>0[1-9][0-9]{{0,8}})
    )
    (?P<rest>(?:{_GROUP_SEP}[0-9]{{2,8}}(?:[{_SPACES}][0-9]{{2,8}}){{0,4}})?)
    (?![0-9])
    """,
    re.VERBOSE,
)
_DIGIT_RUN_RE = re.compile(r"[0-9]+")

# Digits after the trunk prefix 0 or the country code: 7-9 for today's plan
# (mobile 9), 6 for the shortest old Stockholm numbers.
_MIN_NSN, _MAX_NSN = 6, 9


def _phone_hits(text: str) -> Iterator[Hit]:
    for m in _PHONE_RE.finditer(text):
        end = _phone_end(m)
        if end is None:
            continue
        digits = "".join(_DIGIT_RUN_RE.findall(text, m.start(), end))
        if m.group("intl"):
            digits = digits.removeprefix("00").removeprefix("46")
        normalized = "+46" + digits.removeprefix("0")
        yield _hit(text, PersonalDataKind.PHONE, m.start(), end, normalized)


def _phone_end(m: re.Match[str]) -> int | None:
    """Where the phone number in ``m`` really ends, or None if it is not one.

    The regex is generous with trailing digit groups; groups are dropped from
    the end while the number is too long (``070-123 45 67 12 st``).
    """
    if m.group("intl"):
        nsn = len(m.group("ifirst"))
        first_ok = nsn <= 3
    elif m.group("pfirst"):
        nsn = len(m.group("pfirst")) - 1 + len(m.group("pnext"))
        first_ok = _area_code_ok(m.group("pfirst"))
    else:
        nsn = len(m.group("nfirst")) - 1
        first_ok = _area_code_ok(m.group("nfirst"))

    groups = [(g.end(), len(g.group())) for g in _DIGIT_RUN_RE.finditer(m.group("rest"))]
    if not groups and not m.group("pfirst"):
        # One unbroken run such as 0701234567 or +46701234567.
        return m.end() if _MIN_NSN < nsn <= _MAX_NSN else None
    if not first_ok:
        return None
    nsn += sum(length for _, length in groups)
    while nsn > _MAX_NSN and groups:
        nsn -= groups.pop()[1]
    if not _MIN_NSN <= nsn <= _MAX_NSN:
        return None
    return m.start("rest") + groups[-1][0] if groups else m.end("pnext")


def _area_code_ok(first: str) -> bool:
    """A national number's first group is its area code: 08, 0XX or 0XXX."""
    return 3 <= len(first) <= 4 or first == "08"


# --- e-mail ------------------------------------------------------------------

_EMAIL_RE = re.compile(r"(?<![\w.%+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])")


def _email_hits(text: str) -> Iterator[Hit]:
    for m in _EMAIL_RE.finditer(text):
        yield _hit(text, PersonalDataKind.EMAIL, m.start(), m.end(), m.group().lower())


# --- helpers -----------------------------------------------------------------

_WHITESPACE_RE = re.compile(r"\s+")


def _collapse(s: str) -> str:
    return _WHITESPACE_RE.sub(" ", s)


def _hit(text: str, kind: PersonalDataKind, start: int, end: int, normalized: str) -> Hit:
    lo, hi = max(0, start - CONTEXT_CHARS), min(len(text), end + CONTEXT_CHARS)
    before = _collapse(text[lo:start]).lstrip()
    after = _collapse(text[end:hi]).rstrip()
    if lo > 0:
        before = "…" + before
    if hi < len(text):
        after += "…"
    return Hit(kind, text[start:end], start, end, before, after, normalized)


class _Spans:
    """Disjoint, ordered spans with a fast overlap test."""

    def __init__(self, spans: Iterable[tuple[int, int]]) -> None:
        ordered = sorted(spans)
        self.starts = [start for start, _ in ordered]
        self.ends = [end for _, end in ordered]

    def overlaps(self, start: int, end: int) -> bool:
        i = bisect.bisect_left(self.starts, end)  # spans starting before `end`
        return i > 0 and self.ends[i - 1] > start
