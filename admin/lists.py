"""What every staff list shares: search, filters from the query string, pages, CSV export.

CSV files are written for Swedish Excel, which is what staff open them in: UTF-8
with a byte-order mark (without it Excel reads å, ä, ö as two characters each),
``;`` as separator (Swedish Excel uses ``,`` as decimal comma and expects ``;``
between fields), CRLF line ends, dates as ISO 8601 (YYYY-MM-DD), amounts as plain
integers. A cell that starts with ``=``, ``+``, ``-``, ``@`` or a control
character and is not a number gets a leading ``'`` so that Excel shows it instead
of running it as a formula (CSV injection). The file is streamed row by row.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import quote

import sqlalchemy as sa
from flask import Response, abort, request, stream_with_context, url_for

from portal.dates import local, today
from portal.extensions import db

PER_PAGE = 50
CSV_BATCH = 500
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?\d+([.,]\d+)?$")


def wants_csv() -> bool:
    return request.args.get("format") == "csv"


def arg(name: str, default: str = "") -> str:
    return (request.args.get(name) or default).strip()[:200]


def int_arg(name: str) -> int | None:
    value = arg(name)
    return int(value) if value.isdigit() and len(value) < 10 else None


def date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(arg(name)) if arg(name) else None
    except ValueError:
        return None


def choice_arg(name: str, allowed: Iterable) -> str:
    value = arg(name)
    return value if value in {str(a) for a in allowed} else ""


def like(term: str) -> str:
    """A case-insensitive LIKE pattern for ``term`` with its wildcards escaped."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(term: str, *columns):
    """A condition: every word of ``term`` occurs in at least one of ``columns``."""
    words = term.split()
    if not words:
        return sa.true()
    return sa.and_(*(sa.or_(*(c.ilike(like(w), escape="\\") for c in columns)) for w in words[:6]))


def paginate(select, *, count: bool = True):
    """One page of ``select`` (page number from ``?page=``); ``count=False`` leaves ``total``
    to the caller, who may know it already."""
    page = int_arg("page") or 1
    return db.paginate(
        select, page=page, per_page=PER_PAGE, error_out=False, max_per_page=100, count=count
    )


def url_with(**changes) -> str:
    """This page's URL with some query arguments changed (None removes one)."""
    args = request.args.to_dict()
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(request.endpoint, **(request.view_args or {}), **args)


# --- CSV ---------------------------------------------------------------------------------


def cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Ja" if value else "Nej"
    if isinstance(value, datetime):
        return local(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal(1))) if value == value.to_integral() else str(value)
    text = str(value)
    if text.startswith(_FORMULA_START) and not _NUMBER.match(text):
        return "'" + text
    return text


def csv_response(
    basename: str, header: Sequence[str], rows: Iterable[Sequence], *, dated: bool = True
) -> Response:
    """Stream ``rows`` as a CSV download for Excel (see the module docstring)."""
    filename = f"{basename}-{today().isoformat()}.csv" if dated else f"{basename}.csv"

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        buffer.write("\ufeff")
        writer.writerow([cell(h) for h in header])
        for n, row in enumerate(rows, 1):
            writer.writerow([cell(v) for v in row])
            if n % CSV_BATCH == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_")
    return Response(
        stream_with_context(generate()),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{ascii_name}"; '
            f"filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "no-store",
        },
    )


def rows_of(select, to_row: Callable) -> Iterable[Sequence]:
    """Rows for :func:`csv_response` from ``select``, fetched in batches."""
    for obj in db.session.scalars(select.execution_options(yield_per=CSV_BATCH)):
        yield to_row(obj)


def one_of(select):
    obj = db.session.scalar(select)
    if obj is None:
        abort(404)
    return obj
