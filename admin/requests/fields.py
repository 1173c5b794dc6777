"""The field-list editor of a new request: its rows start ticked, more rows are added
without JavaScript, and the filled rows become the request's fields."""

from __future__ import annotations

from admin.requests.forms import MAX_FIELDS, RequestForm
from portal.models import FieldType, RequestField

ROWS_ADDED = 3
NEW_ROW = {"required": True, "for_publication": True}


def tick_new_rows(form: RequestForm) -> None:
    """A new form's rows: each answer required and meant for publication."""
    for row in form.fields:
        row.form.required.data = True
        row.form.for_publication.data = True


def add_rows(form: RequestForm) -> None:
    """Three more rows (the button "Lägg till fler rader"), up to the most a request has."""
    for _i in range(ROWS_ADDED):
        if len(form.fields) < MAX_FIELDS:
            form.fields.append_entry(NEW_ROW)


def _unit(row) -> str:
    field_type = FieldType(row.type.data)
    if field_type == FieldType.NUMBER:
        return (row.unit.data or "").strip()
    return "%" if field_type == FieldType.PERCENTAGE else ""


def request_fields(form: RequestForm) -> list[RequestField]:
    """The request's fields, numbered in the order of the filled rows."""
    return [
        RequestField(
            position=position,
            label=row.label.data.strip(),
            help_text=(row.help_text.data or "").strip(),
            type=FieldType(row.type.data),
            unit=_unit(row),
            required=bool(row.required.data),
            for_publication=bool(row.for_publication.data),
        )
        for position, row in enumerate(form.filled_rows(), 1)
    ]
