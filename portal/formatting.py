"""How answers and file sizes read: one set of rules for staff, provider and public pages,
documents and CSV files, in the current language (Babel's number and date formats).

Answers are stored as canonical strings (numbers with a decimal point, dates in ISO
8601, yes/no as ``yes``/``no``); the parsers also read what older versions stored
("1 234,5", "78 %", "ja").
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from babel.numbers import format_decimal, format_percent
from flask_babel import format_date, get_locale

from portal import labels
from portal.models import FieldType
from storage.sizes import format_size

NBSP = "\u00a0"


def parse_number(raw) -> Decimal | None:
    """A stored numeric answer ("1 234,5", "78", "78 %") as a Decimal, or None."""
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, int | float | Decimal):
        return Decimal(str(raw))
    cleaned = "".join(ch for ch in str(raw) if not ch.isspace() and ch != "%")
    cleaned = cleaned.replace(",", ".").replace("\u2212", "-")
    if not cleaned:
        return None
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def parse_date(raw) -> date | None:
    try:
        return date.fromisoformat(str(raw)[:10])
    except (TypeError, ValueError):
        return None


def parse_yes_no(raw) -> bool | None:
    if isinstance(raw, bool):
        return raw
    text = str(raw or "").strip().lower()
    if text in ("yes", "ja", "true", "1", "y", "j"):
        return True
    if text in ("no", "nej", "false", "0", "n"):
        return False
    return None


def is_blank(raw) -> bool:
    return raw is None or raw == "" or raw == [] or raw == {}


def _locale():
    return get_locale() or "sv"


def format_number(number: Decimal) -> str:
    """``1234.5`` → ``1 234,5`` (``1,234.5`` in English), every decimal kept."""
    return format_decimal(number, locale=_locale(), decimal_quantization=False)


def format_long_date(day: date) -> str:
    """``2 mars 2026`` (``March 2, 2026`` in English)."""
    return format_date(day, "long")


def format_answer(field_type: FieldType | str, value, unit: str = "") -> str:
    """An answer as a person reads it; "" when there is none (and for files, which are
    shown as files). What cannot be read as its type is shown as it was stored."""
    if is_blank(value):
        return ""
    kind = str(field_type)
    if kind in (FieldType.NUMBER, FieldType.PERCENTAGE):
        number = parse_number(value)
        if number is None:
            return str(value)
        if kind == FieldType.PERCENTAGE:
            return format_percent(number / 100, locale=_locale(), decimal_quantization=False)
        return f"{format_number(number)}{NBSP}{unit}" if unit else format_number(number)
    if kind == FieldType.YES_NO:
        answer = parse_yes_no(value)
        return str(value) if answer is None else labels.yes_no(answer)
    if kind == FieldType.DATE:
        day = parse_date(value)
        return format_long_date(day) if day else str(value)
    if kind == FieldType.FILE:
        return ""
    return str(value)


def answer_value(field_type: FieldType | str, raw):
    """An answer as a value for CSV cells and the API: a Decimal, a bool, a date or the
    text as stored; None when there is none."""
    if is_blank(raw):
        return None
    kind = str(field_type)
    if kind in (FieldType.NUMBER, FieldType.PERCENTAGE):
        parsed = parse_number(raw)
    elif kind == FieldType.YES_NO:
        parsed = parse_yes_no(raw)
    elif kind == FieldType.DATE:
        parsed = parse_date(raw)
    else:
        return raw
    return str(raw) if parsed is None else parsed


def format_file_size(size: int) -> str:
    """``77 B``, ``1,5 kB``, ``200 MB``: the rule of :func:`storage.sizes.format_size`, which
    the upload limits read by too."""
    return format_size(size)


def template_filters() -> dict:
    """The Jinja filters of every page, mail and document template."""
    return {
        "answer": format_answer,
        "filesize": format_file_size,
        "label": labels.label,
        "yesno": labels.yes_no,
    }
