"""The forms of the decisions on a submission, and which of them a reviewer is offered."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from portal import workflow
from portal.dates import today
from portal.models import Submission


class ClarificationForm(FlaskForm):
    question = TextAreaField(
        _l("Vad ska utföraren komplettera?"),
        validators=[DataRequired(), Length(max=5000)],
        description=_l("Skriv precis vilka uppgifter som saknas eller behöver förtydligas."),
    )
    deadline = DateField(_l("Ny svarsdag"), validators=[DataRequired()])

    def validate_deadline(self, field) -> None:
        if field.data and field.data <= today():
            raise ValidationError(_l("Svarsdagen måste vara efter i dag."))


class ApproveForm(FlaskForm):
    comment = TextAreaField(_l("Kommentar (frivillig)"), validators=[Length(max=5000)])


class RejectForm(FlaskForm):
    reason = TextAreaField(
        _l("Skäl till avslag"),
        validators=[DataRequired(), Length(max=5000)],
        description=_l("Skälet visas för utföraren."),
    )


class CloseForm(FlaskForm):
    comment = TextAreaField(
        _l("Hur har effekten av åtgärderna följts upp?"),
        validators=[DataRequired(), Length(max=5000)],
    )


class ExtendForm(FlaskForm):
    deadline = DateField(_l("Ny svarsdag"), validators=[DataRequired()])
    reason = TextAreaField(
        _l("Skäl till förlängningen"), validators=[DataRequired(), Length(max=2000)]
    )


# Each decision (a workflow transition's name): the last part of its address, its form.
DECISIONS = {
    "ask_clarification": ("begar-komplettering", ClarificationForm),
    "approve": ("godkann", ApproveForm),
    "reject": ("avsla", RejectForm),
    "close": ("avsluta", CloseForm),
    "extend_deadline": ("forlang", ExtendForm),
}
DECISION_BY_SLUG = {slug: name for name, (slug, _form) in DECISIONS.items()}
SLUGS = {name: slug for name, (slug, _form) in DECISIONS.items()}
DONE_MESSAGES = {
    "ask_clarification": _l("Kompletteringen är begärd. Utföraren kan nu svara igen."),
    "approve": _l("Ärendet är godkänt."),
    "reject": _l("Ärendet är avslaget."),
    "close": _l("Åtgärdsplanen är avslutad."),
    "extend_deadline": _l("Svarstiden är förlängd."),
}


def text(field) -> str:
    """A text field's answer, stripped ("" when the field was not posted at all)."""
    return (field.data or "").strip()


def allowed(submission: Submission) -> set[str]:
    """The decisions the signed-in user may take on ``submission`` now."""
    return {t.name for t in workflow.available(current_user, submission)}


def decision_forms(submission: Submission, posted: tuple[str, FlaskForm] | None = None) -> dict:
    """The forms of the decisions the user may take, the one ``posted`` as it was sent."""
    forms = {}
    permitted = allowed(submission)
    for name, (_slug, form_class) in DECISIONS.items():
        if name not in permitted:
            continue
        if posted and posted[0] == name:
            forms[name] = posted[1]
            continue
        form = form_class(formdata=None)
        if name == "ask_clarification":
            form.deadline.data = today() + timedelta(days=14)
        if name == "extend_deadline" and submission.deadline:
            form.deadline.data = max(submission.deadline, today()) + timedelta(days=14)
        forms[name] = form
    return forms
