"""Words and formats of the public pages: dates, file types and facet options (codes are
named by portal.labels, answers and sizes formatted by portal.formatting)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache

from flask_babel import format_date, get_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from portal import labels
from portal.models import FieldType
from portal.published.answers import display_date

FILE_TYPES = {
    "application/pdf": _l("PDF"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": _l("Word-dokument"),
    "application/msword": _l("Word-dokument"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": _l("Excel-fil"),
    "application/vnd.oasis.opendocument.text": _l("OpenDocument-text"),
    "application/vnd.oasis.opendocument.spreadsheet": _l("OpenDocument-kalkylblad"),
    "text/plain": _l("Textfil"),
    "text/csv": _l("CSV-fil"),
    "image/png": _l("PNG-bild"),
    "image/jpeg": _l("JPEG-bild"),
}


def file_type(content_type: str) -> str:
    base = (content_type or "").split(";", 1)[0].strip().lower()
    return str(FILE_TYPES.get(base, labels.FIELD_TYPE[FieldType.FILE]))


def long_date(moment: date | datetime | None) -> str:
    """The date in the municipality's time zone, e.g. "2 mars 2026"."""
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        from portal.dates import local

        moment = local(moment if moment.tzinfo else moment.replace(tzinfo=UTC)).date()
    return _long_date(moment, str(get_locale()))


@lru_cache(maxsize=4096)
def _long_date(day: date, locale: str) -> str:
    # Formatting with babel costs ~80 µs; a result list shows twenty dates per page.
    return format_date(day, "long")


def iso_date(moment: date | datetime | None) -> str:
    """For ``<time datetime>``: the local date of a moment."""
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        from portal.dates import local

        return local(moment).date().isoformat()
    return moment.isoformat()


def facet_options(facet) -> Markup:
    """The ``<option>`` elements of a facet's select. Built once per facet object: the
    facets are cached (portal.search.facet_cache), and the provider facet alone has
    hundreds of values, too many to loop over in the template on every request."""
    html = facet.__dict__.get("_options_html")
    if html is None:
        html = Markup(
            "\n".join(
                f'<option value="{escape(v.value)}"'
                f"{' selected' if v.value == facet.selected else ''}>{escape(v.label)}"
                f"{'' if v.count is None else f' ({int(v.count)})'}</option>"
                for v in facet.values
            )
        )
        facet._options_html = html
    return html


def template_helpers() -> dict:
    return {
        "file_type": file_type,
        "long_date": long_date,
        "iso_date": iso_date,
        "facet_options": facet_options,
        "display_date": display_date,
    }
