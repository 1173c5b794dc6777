"""How a number of bytes reads, for a file and for an upload limit alike: ``77 B``,
``1,5 kB``, ``1,0 MB``, ``200 MB``.

Units of 1024 bytes, as users think of them (the upload limit is configured in such MB):
a file of exactly the limit reads as the limit does. Below 10 of a unit one decimal is
kept, from 10 none; bytes are never shown as ``0 kB``. In the current language.
"""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_decimal
from flask_babel import get_locale

UNITS = (("kB", 1024), ("MB", 1024**2), ("GB", 1024**3))


def format_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    unit, factor = next((u for u in UNITS if size < u[1] * 1024), UNITS[-1])
    scaled = Decimal(size) / factor
    pattern = "#,##0" if scaled >= 10 else "#,##0.0"
    return f"{format_decimal(scaled, format=pattern, locale=get_locale() or 'sv')} {unit}"
