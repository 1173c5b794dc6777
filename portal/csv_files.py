"""The one CSV writer of Insyn: every CSV file the portal produces is written here.

Two dialects:

``EXCEL`` (Swedish Excel), for files meant for people: the staff exports and the
public comparison download (``/jamfor/<id>.csv``). UTF-8 with a byte-order mark
(without it Excel reads å, ä, ö as two characters each), ``;`` between fields
(Swedish Excel uses ``,`` as its decimal comma and expects ``;``), CRLF line ends.
Dates as ISO 8601 (``2026-03-31``), times in Swedish time (``2026-03-31 14:05``),
yes/no as ``Ja``/``Nej``, integral amounts as plain integers and other numbers with
a decimal comma (``65,5``).

``MACHINE``, for programs: the open-data API's ``.csv`` files (``/api/v1/*.csv``).
RFC 4180: ``,`` between fields, CRLF line ends, UTF-8 with a byte-order mark (the
API's documented contract since its first version; CSV readers skip it, and
spreadsheet programs need it for å, ä, ö). Numbers with a decimal point (``65.5``),
booleans as ``true``/``false``, dates and times in ISO 8601.

Both are guarded against formula injection (CSV injection): a cell that a
spreadsheet program would run as a formula gets a leading ``'``, which Excel and
LibreOffice show instead of evaluating the cell. That is every cell whose first
character is ``=``, ``+``, ``-`` or ``@`` (or their full-width forms), a tab, CR, LF
or any other control character, also when spaces or invisible characters come
before it (`` =1``) -- except a plain number such as ``-12``, ``+3,5`` or ``-0.5``,
which stays a number. Header cells are guarded like the rest.

Files are written row by row; :func:`download` streams them (in the request's
database session, see :mod:`portal.streaming`) or, with ``stream=False``, sends a
complete body that validators (ETag) can be computed from.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask import Response

from portal import labels
from portal.dates import local
from portal.streaming import streamed_response

BATCH = 500  # rows per streamed chunk
MIMETYPE = "text/csv"


@dataclass(frozen=True)
class Dialect:
    name: str
    delimiter: str
    for_people: bool  # Swedish numbers, Ja/Nej and local times rather than ISO and true/false
    byte_order_mark: bool = True
    line_end: str = "\r\n"


EXCEL = Dialect("excel-sv", delimiter=";", for_people=True)
MACHINE = Dialect("machine", delimiter=",", for_people=False)

_FORMULA_START = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
_NUMBER = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)?")


def needs_guard(text: str) -> bool:
    """Whether a spreadsheet program could take ``text`` for a formula."""
    for i, ch in enumerate(text):
        category = unicodedata.category(ch)
        if category == "Cc":  # tab, CR, LF, other control characters
            return True
        if ch.isspace() or category in ("Zs", "Cf"):  # spaces, zero-width and bidi marks
            continue
        return ch in _FORMULA_START and not _NUMBER.fullmatch(text[i:])
    return False


def guard(text: str) -> str:
    """``text``, with a leading ``'`` if a spreadsheet program would run it."""
    return "'" + text if needs_guard(text) else text


def _number(value: Decimal, decimal_comma: bool) -> str:
    if not value.is_finite():
        return ""
    if value == value.to_integral_value():
        text = str(value.quantize(Decimal(1)))
    else:
        text = format(value.normalize(), "f")
    return text.replace(".", ",") if decimal_comma else text


def cell(value, dialect: Dialect = EXCEL) -> str:
    """``value`` as the text of one cell in ``dialect``, guarded."""
    excel = dialect.for_people
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = labels.yes_no(value) if excel else ("true" if value else "false")
    elif isinstance(value, datetime):
        text = local(value).strftime("%Y-%m-%d %H:%M") if excel else value.isoformat()
    elif isinstance(value, date):
        text = value.isoformat()
    elif isinstance(value, Decimal | float):
        text = _number(Decimal(repr(value) if isinstance(value, float) else value), excel)
    else:
        text = str(value)
    return guard(text)


def chunks(
    header: Sequence, rows: Iterable[Sequence], dialect: Dialect = EXCEL, *, batch: int = 0
) -> Iterator[str]:
    """The file as text, the header first, then ``batch`` (default :data:`BATCH`) rows a
    chunk."""
    batch = batch or BATCH
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=dialect.delimiter, lineterminator=dialect.line_end)
    if dialect.byte_order_mark:
        buffer.write("\ufeff")
    writer.writerow([cell(h, dialect) for h in header])
    for n, row in enumerate(rows, 1):
        writer.writerow([cell(v, dialect) for v in row])
        if n % batch == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def text(header: Sequence, rows: Iterable[Sequence], dialect: Dialect = EXCEL) -> str:
    """The whole file as one string."""
    return "".join(chunks(header, rows, dialect))


def download(
    filename: str,
    header: Sequence,
    rows: Iterable[Sequence],
    dialect: Dialect = EXCEL,
    *,
    stream: bool = True,
    headers: dict | None = None,
) -> Response:
    """A CSV attachment named ``filename``: streamed row by row (``rows`` may query the
    database as they are iterated), or with ``stream=False`` one complete body."""
    from storage.downloads import content_disposition

    response_args = {
        "mimetype": MIMETYPE,
        "headers": {"Content-Disposition": content_disposition("attachment", filename)}
        | (headers or {}),
    }
    if stream:
        return streamed_response(chunks(header, rows, dialect), **response_args)
    return Response(text(header, rows, dialect), **response_args)
