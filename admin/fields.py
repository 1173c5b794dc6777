"""Form fields staff type Swedish-style values into."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.se import orgnr
from wtforms import StringField
from wtforms.validators import ValidationError

from portal.models.base import MAX_ID

_SPACES = re.compile(r"[\s\u00a0\u202f]")


def record_id(value) -> int:
    """``coerce`` of a select of records (0: none chosen): a posted id, refused (not a
    database error) when it could not be a row's id at all."""
    number = int(value)
    if not 0 <= number <= MAX_ID:
        raise ValueError(f"not a record id: {number}")
    return number


class AmountField(StringField):
    """Whole kronor; accepts "12 000 000", "12000000" and "12 000 000 kr"."""

    def process_formdata(self, valuelist):
        self.data = None
        if not valuelist or not valuelist[0].strip():
            return
        raw = _SPACES.sub("", valuelist[0]).removesuffix("kr").removesuffix(":-")
        try:
            value = Decimal(raw.replace(",", "."))
        except InvalidOperation:
            value = None
        if value is None or value < 0 or value != value.to_integral() or value >= 10**14:
            self.raw_error = _l("Ange beloppet i hela kronor, till exempel 2 500 000.")
            raise ValueError(str(self.raw_error))
        self.data = value

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else f"{int(self.data):,}".replace(",", " ")


def valid_org_number(form, field) -> None:
    try:
        field.data = orgnr.format(orgnr.validate(field.data or ""))
    except StdnumError as exc:
        raise ValidationError(
            _l("Organisationsnumret är inte giltigt. Skriv det som NNNNNN-NNNN.")
        ) from exc
