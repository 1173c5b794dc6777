"""The forms of the staff-account pages."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length
from wtforms.widgets import CheckboxInput, ListWidget

from admin.fields import record_id
from portal import labels
from portal.extensions import db
from portal.models import Committee, Role

ROLE_CHOICES = [
    SelectChoice(
        Role.REVIEWER.value,
        _l("Handläggare: registret, begäranden, granskning och iakttagelser i sina nämnder"),
    ),
    SelectChoice(
        Role.PUBLISHER.value,
        _l(
            "Publicerare: beslutar vad som publiceras i sina nämnder, efter kontrollen av "
            "personuppgifter"
        ),
    ),
    SelectChoice(
        Role.ADMIN.value,
        _l("Administratör: allt i alla nämnder, och användare, nämnder och inställningar"),
    ),
]


def _stripped(value):
    return value.strip() if isinstance(value, str) else value


def _address(value):
    # As accounts store them: one address, one account, whatever its case.
    return value.strip().lower() if isinstance(value, str) else value


class CommitteesField(SelectMultipleField):
    """Committees as checkboxes (the choices are set by :meth:`StaffAccountForm.offering`)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


# Made before the other fields, so that the new-account form asks for the address first.
_EMAIL = EmailField(
    _l("E-postadress"),
    filters=[_address],
    validators=[
        DataRequired(_l("Ange e-postadressen.")),
        Email(_l("Ange en giltig e-postadress.")),
        Length(max=254),
    ],
    description=_l("Användaren loggar in med den och får länken för att välja lösenord dit."),
)


class StaffAccountForm(FlaskForm):
    name = StringField(
        _l("Namn"),
        filters=[_stripped],
        validators=[DataRequired(_l("Ange namnet.")), Length(max=200)],
    )
    role = RadioField(
        _l("Behörighet"),
        choices=ROLE_CHOICES,
        validators=[DataRequired(_l("Välj behörighet."))],
    )
    committees = CommitteesField(
        _l("Nämnder"),
        coerce=record_id,
        description=_l(
            "Handläggare och publicerare arbetar bara med sina nämnders ärenden. "
            "Administratörer når alla nämnder."
        ),
    )

    def offering(self) -> StaffAccountForm:
        """The form, offering every committee."""
        self.committees.choices = labels.select(
            (c.id, f"{c.name} ({c.code})")
            for c in db.session.scalars(sa.select(Committee).order_by(Committee.name))
        )
        return self

    def values(self) -> dict:
        """Name, role and committees, as :mod:`admin.staff.operations` takes them."""
        ids = self.committees.data or []
        committees = db.session.scalars(sa.select(Committee).where(Committee.id.in_(ids)))
        return {
            "name": self.name.data,
            "role": Role(self.role.data),
            "committees": list(committees) if ids else [],
        }


class NewStaffAccountForm(StaffAccountForm):
    email = _EMAIL
