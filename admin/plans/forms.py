"""The forms of the follow-up plan pages: a new plan, its adoption, and one item."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from admin.fields import record_id
from admin.scoping import committee_choices
from portal import labels
from portal.dates import today
from portal.extensions import db
from portal.models import Agreement, FollowUpForm, FollowUpItem, FollowUpPlan, Provider, ServiceArea
from portal.policy import Action

FOCUS_SUGGESTIONS = ["Nöjdhet", "Trygghet", "Delaktighet", "Kommunikation", "Avvikelser"]


class PlanForm(FlaskForm):
    committee_id = SelectField(_l("Nämnd"), coerce=record_id)
    year = IntegerField(_l("År"), validators=[DataRequired(), NumberRange(min=2000, max=2100)])
    copy_previous = BooleanField(
        _l("Utgå från föregående års plan"),
        default=True,
        description=_l(
            "Punkterna kopieras med datumen flyttade ett år. Avtal som har upphört tas inte med."
        ),
    )

    def offering(self) -> PlanForm:
        """The committees the user reviews; before it is posted, next year's plan from
        October on, else this year's."""
        self.committee_id.choices = committee_choices(Action.REVIEW)
        if not self.is_submitted():
            self.year.data = today().year + 1 if today().month >= 10 else today().year
        return self


class AdoptForm(FlaskForm):
    adopted_on = DateField(_l("Datum för nämndens beslut"), validators=[DataRequired()])


class ItemForm(FlaskForm):
    subject = RadioField(
        _l("Vad följs upp?"),
        choices=labels.select(
            [
                ("service_area", _l("Ett helt verksamhetsområde")),
                ("agreement", _l("Ett avtal")),
            ]
        ),
        default="service_area",
    )
    service_area_id = SelectField(
        _l("Verksamhetsområde"), coerce=record_id, validators=[Optional()]
    )
    agreement_id = SelectField(_l("Avtal"), coerce=record_id, validators=[Optional()])
    form = SelectField(_l("Form"), choices=labels.choices(labels.FOLLOW_UP_FORM))
    responsible = StringField(_l("Ansvarig"), validators=[DataRequired(), Length(max=200)])
    planned_from = DateField(_l("Planerad från"), validators=[Optional()])
    planned_to = DateField(_l("Planerad till"), validators=[Optional()])
    interval = StringField(
        _l("Tidplan eller intervall"),
        validators=[Length(max=100)],
        description=_l("Till exempel: årligen, kvalitetsredovisning senast 31 mars."),
    )
    feedback_committee = BooleanField(_l("Återkoppling till nämnden"))
    feedback_provider = BooleanField(_l("Återkoppling till utföraren"))
    feedback_public = BooleanField(_l("Återkoppling till allmänheten"))
    focus_areas = TextAreaField(
        _l("Fokusområden"),
        validators=[Length(max=2000)],
        description=_l("Till exempel: %(list)s.", list=", ".join(FOCUS_SUGGESTIONS).lower()),
    )

    def validate_planned_to(self, field) -> None:
        if field.data and self.planned_from.data and field.data < self.planned_from.data:
            raise ValidationError(_l("Slutdatum kan inte vara före startdatum."))

    def validate_interval(self, field) -> None:
        if not (field.data or "").strip() and not self.planned_from.data:
            raise ValidationError(_l("Ange planerade datum eller ett intervall."))

    def offering(self, plan: FollowUpPlan, item: FollowUpItem) -> ItemForm:
        """The plan's committee's service areas and agreements to choose from; before it
        is posted, the kind of subject the item has."""
        areas = db.session.scalars(
            sa.select(ServiceArea)
            .where(ServiceArea.committee_id == plan.committee_id)
            .order_by(ServiceArea.name)
        ).all()
        agreements = db.session.scalars(
            sa.select(Agreement)
            .join(Agreement.provider)
            .where(Agreement.committee_id == plan.committee_id)
            .order_by(Provider.name, Agreement.reference)
        ).all()
        self.service_area_id.choices = labels.select(
            [(0, _("Välj verksamhetsområde"))] + [(a.id, a.name) for a in areas]
        )
        self.agreement_id.choices = labels.select(
            [(0, _("Välj avtal"))]
            + [
                (a.id, f"{a.provider.name}, {a.reference} ({a.service_area.name})")
                for a in agreements
            ]
        )
        if not self.is_submitted():
            self.subject.data = "agreement" if item.agreement_id else "service_area"
        return self

    def _subject_field(self) -> SelectField:
        return self.agreement_id if self.subject.data == "agreement" else self.service_area_id

    def validate(self, extra_validators=None) -> bool:
        """The fields, then that what is followed up is one of the choices offered."""
        if not super().validate(extra_validators):
            return False
        field = self._subject_field()
        if field.data not in {c.value for c in field.choices if c.value}:
            field.errors.append(_("Välj vad som följs upp."))
            return False
        return True

    def values(self) -> dict:
        """The item's columns as posted."""
        chosen = self._subject_field().data
        return {
            "agreement_id": chosen if self.subject.data == "agreement" else None,
            "service_area_id": chosen if self.subject.data == "service_area" else None,
            "form": FollowUpForm(self.form.data),
            "responsible": self.responsible.data.strip(),
            "planned_from": self.planned_from.data,
            "planned_to": self.planned_to.data,
            "interval": (self.interval.data or "").strip(),
            "feedback_committee": self.feedback_committee.data,
            "feedback_provider": self.feedback_provider.data,
            "feedback_public": self.feedback_public.data,
            "focus_areas": (self.focus_areas.data or "").strip(),
        }
