"""The forms of information requests: a new request with its rows of fields, and a later
deadline for a request already sent."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from admin.fields import record_id
from admin.scoping import committee_choices
from portal import labels
from portal.dates import today
from portal.extensions import db
from portal.models import Agreement, Provider, ServiceArea
from portal.policy import Action

MAX_FIELDS = 60
RECIPIENTS = [
    ("agreement", _l("En utförare (via avtal)")),
    ("service_area", _l("Alla utförare inom ett verksamhetsområde")),
    ("committee", _l("Alla utförare med avtal med nämnden")),
]


class FieldRowForm(Form):
    """One row of the field-list editor: one piece of information the providers give."""

    label = StringField(_l("Uppgift"), validators=[Length(max=300)])
    help_text = StringField(_l("Hjälptext"), validators=[Length(max=2000)])
    type = SelectField(_l("Typ av svar"), choices=labels.choices(labels.FIELD_TYPE))
    unit = StringField(_l("Enhet"), validators=[Length(max=30)])
    required = BooleanField(_l("Obligatorisk"), default=True)
    for_publication = BooleanField(_l("Svaret är avsett att publiceras"), default=True)


class RequestForm(FlaskForm):
    committee_id = SelectField(_l("Nämnd"), coerce=record_id)
    title = StringField(_l("Rubrik"), validators=[DataRequired(), Length(max=300)])
    kind = SelectField(_l("Vad som begärs"), choices=labels.choices(labels.KIND))
    instructions = TextAreaField(
        _l("Instruktioner till utförarna"),
        validators=[Length(max=10000)],
        description=_l("Till exempel vilken period uppgifterna avser och hur de ska lämnas."),
    )
    deadline = DateField(_l("Svara senast"), validators=[DataRequired()])
    recipients = RadioField(
        _l("Mottagare"), choices=labels.select(RECIPIENTS), default="service_area"
    )
    agreement_id = SelectField(_l("Avtal"), coerce=record_id, validators=[Optional()])
    service_area_id = SelectField(
        _l("Verksamhetsområde"), coerce=record_id, validators=[Optional()]
    )
    recurs_yearly = BooleanField(
        _l("Återkommer varje år"),
        description=_l(
            "Bara för en begäran via avtal. Nästa års begäran skapas automatiskt med samma "
            "uppgifter och svarsdag ett år senare, så länge avtalet gäller."
        ),
    )
    fields = FieldList(FormField(FieldRowForm), min_entries=3, max_entries=MAX_FIELDS)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _offer_choices(self)

    def validate_deadline(self, field) -> None:
        if field.data and field.data <= today():
            raise ValidationError(_l("Svarsdagen måste vara efter i dag."))

    def validate_recurs_yearly(self, field) -> None:
        if field.data and self.recipients.data != "agreement":
            raise ValidationError(_l("En återkommande begäran måste gälla ett avtal."))

    def validate_agreement_id(self, field) -> None:
        if self.recipients.data == "agreement":
            agreement = db.session.get(Agreement, field.data or 0)
            if agreement is None or agreement.committee_id != self.committee_id.data:
                raise ValidationError(_l("Välj ett avtal som nämnden har."))

    def validate_service_area_id(self, field) -> None:
        if self.recipients.data == "service_area":
            area = db.session.get(ServiceArea, field.data or 0)
            if area is None or area.committee_id != self.committee_id.data:
                raise ValidationError(_l("Välj ett verksamhetsområde som hör till nämnden."))

    def validate_fields(self, field) -> None:
        if not self.filled_rows():
            raise ValidationError(_l("Ange minst en uppgift som utförarna ska lämna."))

    def filled_rows(self) -> list[FieldRowForm]:
        """The rows with a label; empty rows are left out of the request."""
        return [row.form for row in self.fields if (row.form.label.data or "").strip()]


def _offer_choices(form: RequestForm) -> None:
    """The committees the user reviews for, and their agreements still running and areas."""
    form.committee_id.choices = committee_choices(Action.REVIEW)
    committees = [c.value for c in form.committee_id.choices] or [-1]
    agreements = db.session.scalars(
        sa.select(Agreement)
        .join(Agreement.provider)
        .where(Agreement.committee_id.in_(committees))
        .where(sa.or_(Agreement.ends_on.is_(None), Agreement.ends_on >= today()))
        .order_by(Provider.name, Agreement.reference)
    ).all()
    form.agreement_id.choices = labels.select(
        [(0, _("Välj avtal"))]
        + [(a.id, f"{a.provider.name}, {a.reference} ({a.service_area.name})") for a in agreements]
    )
    areas = db.session.scalars(
        sa.select(ServiceArea)
        .where(ServiceArea.committee_id.in_(committees))
        .order_by(ServiceArea.name)
    ).all()
    form.service_area_id.choices = labels.select(
        [(0, _("Välj verksamhetsområde"))]
        + [(a.id, f"{a.name} ({a.committee.code})") for a in areas]
    )


class ExtendRequestForm(FlaskForm):
    deadline = DateField(_l("Ny svarsdag"), validators=[DataRequired()])
    reason = TextAreaField(
        _l("Skäl till förlängningen"), validators=[DataRequired(), Length(max=2000)]
    )
