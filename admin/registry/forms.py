"""The forms of the registry pages; ``values()`` gives an operation what the form holds."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, SelectField, StringField, TextAreaField, URLField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from admin.fields import AmountField, record_id, valid_org_number
from admin.scoping import committee_choices, my_service_areas
from portal import labels, tenancy
from portal.extensions import db
from portal.models import Agreement, Impact, Ownership, Provider, Route, ServiceArea
from portal.policy import Action


def _stripped_or_none(value):
    return value.strip() or None if value else None


def _lines(value):
    """One address line per line, without blank ones; None when nothing is left."""
    return "\n".join(filter(None, map(str.strip, (value or "").splitlines()))) or None


def _check_email(field) -> None:
    if field.data and ("@" not in field.data or " " in field.data):
        raise ValidationError(_l("Ange en giltig e-postadress."))


class CommitteeForm(FlaskForm):
    name = StringField(_l("Namn"), validators=[DataRequired(), Length(max=200)])
    code = StringField(
        _l("Kod i diarienummer"),
        validators=[DataRequired(), Length(min=2, max=12)],
        description=_l("Versaler, till exempel VON. Ingår i diarienumren (VON 2026/17)."),
    )
    # Contact details in the letterhead of the committee's documents (optional).
    postal_address = TextAreaField(
        _l("Postadress"),
        validators=[Length(max=300)],
        filters=[_lines],
        description=_l(
            "Står i sidfoten på nämndens brev och rapporter. En adressrad per rad, till "
            "exempel Box 123 och 123 45 Exempelby."
        ),
    )
    phone = StringField(
        _l("Telefon"), validators=[Optional(), Length(max=40)], filters=[_stripped_or_none]
    )
    email = EmailField(
        _l("E-post"), validators=[Optional(), Length(max=254)], filters=[_stripped_or_none]
    )

    def validate_email(self, field) -> None:
        _check_email(field)

    def validate_code(self, field) -> None:
        field.data = field.data.strip().upper()
        if not field.data.replace("-", "").isalnum():
            raise ValidationError(_l("Använd bara bokstäver och siffror."))

    def values(self) -> dict:
        return {
            "name": self.name.data.strip(),
            "code": self.code.data,
            "postal_address": self.postal_address.data,
            "phone": self.phone.data,
            "email": self.email.data,
        }


class ServiceAreaForm(FlaskForm):
    name = StringField(_l("Namn"), validators=[DataRequired(), Length(max=200)])
    committee_id = SelectField(_l("Nämnd"), coerce=record_id)

    def offer_choices(self) -> ServiceAreaForm:
        self.committee_id.choices = committee_choices(Action.ADMINISTER)
        return self

    def values(self) -> dict:
        return {"name": self.name.data.strip(), "committee_id": self.committee_id.data}


class ProviderForm(FlaskForm):
    name = StringField(_l("Namn"), validators=[DataRequired(), Length(max=200)])
    org_number = StringField(
        _l("Organisationsnummer"),
        validators=[DataRequired(), valid_org_number],
        description=_l("Tio siffror, NNNNNN-NNNN. Enheter i egen regi har kommunens nummer."),
    )
    ownership = SelectField(labels.OWNERSHIP_NAME, choices=labels.choices(labels.OWNERSHIP))
    email = EmailField(
        _l("E-post till utföraren"),
        validators=[Optional(), Length(max=254)],
        filters=[_stripped_or_none],
    )
    website = URLField(
        _l("Webbplats"), validators=[Optional(), Length(max=300)], filters=[_stripped_or_none]
    )
    description = TextAreaField(_l("Beskrivning"), validators=[Length(max=4000)])

    def validate_email(self, field) -> None:
        _check_email(field)

    def validate_website(self, field) -> None:
        if field.data and not field.data.startswith(("https://", "http://")):
            raise ValidationError(_l("Ange en adress som börjar med https://"))

    def values(self) -> dict:
        return {
            "name": self.name.data,
            "org_number": self.org_number.data,
            "ownership": Ownership(self.ownership.data),
            "email": self.email.data,
            "website": self.website.data,
            "description": self.description.data,
        }


# The strategic flag as the form offers it: by the rule, or an override either way.
OVERRIDE_CHOICES = [
    ("", _l("Enligt regeln")),
    ("yes", _l("Strategiskt, oavsett regeln")),
    ("no", _l("Inte strategiskt, oavsett regeln")),
]
_OVERRIDE = {"": None, "yes": True, "no": False}


class AgreementForm(FlaskForm):
    reference = StringField(
        _l("Avtalsnummer"),
        validators=[DataRequired(), Length(max=60)],
        description=_l("Nämndens referens för avtalet, auktorisationen eller uppdraget."),
    )
    provider_id = SelectField(_l("Utförare"), coerce=record_id)
    committee_id = SelectField(_l("Nämnd"), coerce=record_id)
    service_area_id = SelectField(_l("Verksamhetsområde"), coerce=record_id)
    route = SelectField(_l("Avtalsform"), choices=labels.choices(labels.ROUTE))
    starts_on = DateField(_l("Gäller från"), validators=[DataRequired()])
    ends_on = DateField(
        _l("Gäller till"),
        validators=[Optional()],
        description=_l("Lämna tomt om avtalet gäller tills vidare."),
    )
    yearly_value_sek = AmountField(_l("Årligt värde (kr)"), validators=[InputRequired()])
    impact = SelectField(
        _l("Påverkan"),
        choices=labels.choices(labels.IMPACT),
        description=_l("Hur stor påverkan verksamheten har på invånarna och nämndens mål."),
    )
    strategic_override = SelectField(
        _l("Strategiskt avtal"), choices=labels.select(OVERRIDE_CHOICES)
    )
    strategic_override_reason = TextAreaField(
        _l("Motivering till avsteg från regeln"), validators=[Length(max=2000)]
    )
    responsible_officer = StringField(_l("Avtalsansvarig"), validators=[Length(max=200)])
    quality_requirements = TextAreaField(
        _l("Väsentliga kvalitetskrav"),
        validators=[Length(max=10000)],
        description=_l("De krav som följs upp och redovisas i årsrapporten."),
    )

    @classmethod
    def of(cls, agreement: Agreement) -> AgreementForm:
        """The form for ``agreement``, offering the providers and the reviewer's committees
        and service areas."""
        form = cls(obj=agreement)
        if not form.is_submitted():
            override = {v: k for k, v in _OVERRIDE.items()}[agreement.strategic_override]
            form.strategic_override.data = override
        form.provider_id.choices = labels.select(
            (p.id, f"{p.name} ({p.org_number})")
            for p in db.session.scalars(
                sa.select(Provider)
                .where(Provider.registered_with(tenancy.current_id()))
                .order_by(Provider.name)
            )
        )
        form.committee_id.choices = committee_choices(Action.REVIEW)
        form.service_area_id.choices = labels.select(
            (a.id, f"{a.name} ({a.committee.code})") for a in my_service_areas(Action.REVIEW)
        )
        return form

    def validate_ends_on(self, field) -> None:
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_l("Slutdatum kan inte vara före startdatum."))

    def validate_strategic_override_reason(self, field) -> None:
        if self.strategic_override.data and not (field.data or "").strip():
            raise ValidationError(_l("Motivera varför regeln inte ska gälla för avtalet."))

    def validate_service_area_id(self, field) -> None:
        area = db.session.get(ServiceArea, field.data) if field.data is not None else None
        if area is None or area.committee_id != self.committee_id.data:
            raise ValidationError(_l("Välj ett verksamhetsområde som hör till nämnden."))

    def values(self) -> dict:
        override = _OVERRIDE[self.strategic_override.data]
        return {
            "reference": self.reference.data.strip(),
            "provider_id": self.provider_id.data,
            "committee_id": self.committee_id.data,
            "service_area_id": self.service_area_id.data,
            "route": Route(self.route.data),
            "starts_on": self.starts_on.data,
            "ends_on": self.ends_on.data,
            "yearly_value_sek": self.yearly_value_sek.data,
            "impact": Impact(self.impact.data),
            "strategic_override": override,
            "strategic_override_reason": (
                self.strategic_override_reason.data.strip() if override is not None else None
            ),
            "responsible_officer": self.responsible_officer.data.strip(),
            "quality_requirements": self.quality_requirements.data.strip(),
        }
