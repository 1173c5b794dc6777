"""What every staff list shares: search, filters from the query string, pages, CSV export.

CSV files are written by :mod:`portal.csv_files` in its Swedish Excel dialect, which
is what staff open them in (and guarded against formula injection there); they are
streamed row by row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date

import sqlalchemy as sa
from flask import Response, abort, request

from portal import csv_files
from portal.dates import today
from portal.extensions import db

PER_PAGE = 50
CSV_BATCH = csv_files.BATCH


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


# --- CSV ---------------------------------------------------------------------------------


def csv_response(
    basename: str, header: Sequence[str], rows: Iterable[Sequence], *, dated: bool = True
) -> Response:
    """Stream ``rows`` as a CSV download for Swedish Excel (:data:`portal.csv_files.EXCEL`).

    ``rows`` may query the database as it is iterated: the stream keeps the request's
    session (:mod:`portal.streaming`)."""
    filename = f"{basename}-{today().isoformat()}.csv" if dated else f"{basename}.csv"
    return csv_files.download(
        filename, header, rows, csv_files.EXCEL, headers={"Cache-Control": "no-store"}
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
