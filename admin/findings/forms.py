"""The form of a finding on an agreement."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, RadioField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from portal import labels
from portal.dates import today


class FindingForm(FlaskForm):
    assessed_on = DateField(_l("Bedömningsdatum"), validators=[DataRequired()])
    meets_requirements = RadioField(
        _l("Uppfyller utföraren de väsentliga kvalitetskraven?"),
        choices=labels.choices({code: labels.YES_NO[code] for code in ("yes", "no")}),
        validators=[InputRequired(message=_l("Välj ja eller nej."))],
    )
    deficiencies = TextAreaField(
        _l("Brister som har iakttagits"),
        validators=[Length(max=10000)],
        description=_l("Beskriv varje brist så att utföraren kan åtgärda den."),
    )
    goal_effect = TextAreaField(
        _l("Hur bristerna påverkar nämndens måluppfyllelse"), validators=[Length(max=10000)]
    )
    require_plan = BooleanField(_l("Utföraren ska lämna en åtgärdsplan"))
    plan_due = DateField(_l("Åtgärdsplanen ska lämnas senast"), validators=[Optional()])

    def validate_assessed_on(self, field) -> None:
        if field.data and field.data > today():
            raise ValidationError(_l("Bedömningen kan inte vara gjord i framtiden."))

    def validate_deficiencies(self, field) -> None:
        if self.meets_requirements.data == "no" and not (field.data or "").strip():
            raise ValidationError(_l("Beskriv bristerna när kraven inte uppfylls."))

    def validate_plan_due(self, field) -> None:
        if self.require_plan.data:
            if not field.data:
                raise ValidationError(_l("Ange när åtgärdsplanen ska lämnas."))
            if field.data <= today():
                raise ValidationError(_l("Datumet måste vara efter i dag."))
