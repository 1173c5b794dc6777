"""Review: the queue of submissions, one submission with its history, and the decisions."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm import selectinload
from wtforms import DateField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from admin import labels
from admin.answers import answers_of, changes_between
from admin.blueprint import bp
from admin.lists import (
    arg,
    choice_arg,
    csv_response,
    int_arg,
    paginate,
    search,
    wants_csv,
)
from admin.scoping import in_my_committees, my_committees
from portal import policy, workflow
from portal.attachments import send_attachment, unavailable
from portal.dates import today
from portal.extensions import db
from portal.models import (
    Agreement,
    Attachment,
    Provider,
    Publication,
    ReviewState,
    Submission,
    SubmissionKind,
)
from portal.policy import Action
from portal.workflow import staff_state_label

S = ReviewState
WAITING_ON_PROVIDER = (S.DRAFT, S.CLARIFICATION_REQUESTED)
# The tabs of the queue, in the order of the work.
STATE_TABS = [
    S.SUBMITTED,
    S.CLARIFICATION_REQUESTED,
    S.DRAFT,
    S.APPROVED,
    S.REJECTED,
    S.CLOSED,
    S.WITHDRAWN,
]


def overdue_condition(on=None):
    on = on or today()
    return sa.and_(
        Submission.state.in_(WAITING_ON_PROVIDER),
        Submission.deadline.is_not(None),
        Submission.deadline < on,
    )


def waiting_since():
    """When the submission started waiting for whoever has it now."""
    return sa.func.coalesce(Submission.submitted_at, Submission.created_at)


def _queue_filters() -> dict:
    state = arg("status", S.SUBMITTED.value)
    if state != "alla" and state not in {s.value for s in S}:
        state = S.SUBMITTED.value
    return {
        "q": arg("q"),
        "state": state,
        "committee": int_arg("namnd"),
        "kind": choice_arg("typ", SubmissionKind),
        "provider": int_arg("utforare"),
        "request": int_arg("begaran"),
        "overdue": arg("forsenade") == "ja",
    }


def _conditions(f: dict, *, with_state: bool = True) -> list:
    conditions = []
    if f["q"]:
        conditions.append(
            search(f["q"], Submission.registration_number, Submission.title, Provider.name)
        )
    if with_state and f["state"] != "alla":
        conditions.append(Submission.state == ReviewState(f["state"]))
    if f["committee"]:
        conditions.append(Submission.committee_id == f["committee"])
    if f["kind"]:
        conditions.append(Submission.kind == SubmissionKind(f["kind"]))
    if f["provider"]:
        conditions.append(Submission.provider_id == f["provider"])
    if f["request"]:
        conditions.append(Submission.request_id == f["request"])
    if f["overdue"]:
        conditions.append(overdue_condition())
    return conditions


def _queue_row(s: Submission) -> list:
    return [
        s.registration_number,
        s.title,
        labels.name(labels.KIND, s.kind),
        s.provider.name,
        s.provider.org_number,
        s.committee.name,
        staff_state_label(s.state),
        s.issued_on,
        s.deadline,
        s.overdue(today()),
        s.submitted_at,
        s.decided_at,
    ]


@bp.get("/arenden")
def queue():
    f = _queue_filters()
    searching = bool(f["q"])  # only a text search needs the provider's name in the query
    base = sa.select(Submission)
    visible = policy.visible_submissions(
        current_user, base.join(Submission.provider) if searching else base
    )
    select = (
        visible.where(*_conditions(f))
        # Loaded separately for the 50 rows of the page, not joined in before the sort.
        .options(selectinload(Submission.provider), selectinload(Submission.committee))
        .order_by(waiting_since(), Submission.id)
    )
    if wants_csv():
        rows = (_queue_row(s) for s in db.session.scalars(select.execution_options(yield_per=500)))
        return csv_response(
            "arenden",
            [
                _("Diarienummer"),
                _("Ärende"),
                _("Typ"),
                _("Utförare"),
                _("Organisationsnummer"),
                _("Nämnd"),
                _("Status"),
                _("Begärd"),
                _("Svara senast"),
                _("Försenad"),
                _("Inskickad"),
                _("Beslutad"),
            ],
            rows,
        )
    by_state = sa.select(Submission.state, sa.func.count()).select_from(Submission)
    counted = policy.visible_submissions(
        current_user,
        (by_state.join(Submission.provider) if searching else by_state).group_by(Submission.state),
    )
    counts = dict(db.session.execute(counted.where(*_conditions(f, with_state=False))).all())
    # The counts per state already hold the total: no separate count query for the pages.
    page = paginate(select, count=False)
    page.total = (
        sum(counts.values()) if f["state"] == "alla" else counts.get(ReviewState(f["state"]), 0)
    )
    providers = db.session.execute(
        sa.select(Provider.id, Provider.name)
        .where(
            Provider.agreements.any(in_my_committees(Agreement.committee_id))
            | (Provider.id == (f["provider"] or 0))
        )
        .order_by(Provider.name)
    ).all()
    return render_template(
        "admin/queue.html",
        page=page,
        f=f,
        counts=counts,
        tabs=STATE_TABS,
        committees=my_committees(),
        providers=providers,
        today=today(),
        state_names={state: staff_state_label(state) for state in ReviewState},
        kind_names={kind: str(name) for kind, name in labels.KIND.items()},
        late=_("Försenad"),
        very_late=_("Kraftigt försenad"),
    )


# --- one submission -----------------------------------------------------------------------


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
    comment = TextAreaField(_l("Kommentar (valfri)"), validators=[Length(max=5000)])


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


DECISIONS = {
    "ask_clarification": ("begar-komplettering", ClarificationForm),
    "approve": ("godkann", ApproveForm),
    "reject": ("avsla", RejectForm),
    "close": ("avsluta", CloseForm),
    "extend_deadline": ("forlang", ExtendForm),
}
DECISION_BY_SLUG = {slug: name for name, (slug, _form) in DECISIONS.items()}
DONE_MESSAGES = {
    "ask_clarification": _l("Kompletteringen är begärd. Utföraren kan nu svara igen."),
    "approve": _l("Ärendet är godkänt."),
    "reject": _l("Ärendet är avslaget."),
    "close": _l("Åtgärdsplanen är avslutad."),
    "extend_deadline": _l("Svarstiden är förlängd."),
}


def _forms(submission: Submission, posted: tuple[str, FlaskForm] | None = None) -> dict:
    allowed = {t.name for t in workflow.available(current_user, submission)}
    forms = {}
    for name, (_slug, form_class) in DECISIONS.items():
        if name not in allowed:
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


def _render(submission: Submission, forms: dict, status: int = 200):
    versions = submission.submitted_versions
    history = [
        {
            "version": v,
            "answers": answers_of(submission, v),
            "changes": changes_between(submission, versions[i - 1], v) if i else [],
        }
        for i, v in enumerate(versions)
    ]
    related = db.session.scalars(
        policy.visible_submissions(current_user, sa.select(Submission))
        .where(Submission.deviation_id == submission.id)
        .order_by(Submission.id)
    ).all()
    publication = db.session.scalar(sa.select(Publication).filter_by(submission_id=submission.id))
    return render_template(
        "admin/submission.html",
        s=submission,
        history=list(reversed(history)),
        forms=forms,
        slugs={name: slug for name, (slug, _f) in DECISIONS.items()},
        related=related,
        publication=publication,
        today=today(),
    ), status


@bp.get("/arenden/<int:submission_id>")
def submission(submission_id: int):
    submission = policy.load(Submission, submission_id)
    return _render(submission, _forms(submission))


@bp.get("/arenden/<int:submission_id>/<slug>")
def decide_page(submission_id: int, slug: str):
    """The address of a decision form opened with GET (a reload after a failed decision,
    the language switch, a bookmark): the case with its forms, not 405."""
    if slug not in DECISION_BY_SLUG:
        abort(404)
    policy.load(Submission, submission_id)
    return redirect(
        url_for("admin.submission", submission_id=submission_id) + "#decide-heading", 303
    )


@bp.post("/arenden/<int:submission_id>/<slug>")
def decide(submission_id: int, slug: str):
    name = DECISION_BY_SLUG.get(slug)
    if name is None:
        abort(404)
    submission = policy.load(Submission, submission_id, Action.REVIEW)
    form = DECISIONS[name][1]()
    if not form.validate_on_submit():
        flash(_("Inget är sparat: rätta uppgifterna i formuläret under Handläggning."), "error")
        return _render(submission, _forms(submission, (name, form)), 422)
    try:
        if name == "ask_clarification":
            workflow.ask_clarification(
                submission, current_user, form.question.data.strip(), form.deadline.data
            )
        elif name == "approve":
            workflow.approve(submission, current_user, form.comment.data.strip())
        elif name == "reject":
            workflow.reject(submission, current_user, form.reason.data.strip())
        elif name == "close":
            workflow.close(submission, current_user, form.comment.data.strip())
        else:
            workflow.extend_deadline(
                submission, current_user, form.deadline.data, form.reason.data.strip()
            )
    except workflow.WorkflowError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        submission = policy.load(Submission, submission_id)
        conflict = isinstance(exc, workflow.IllegalTransition | workflow.ConcurrentChange)
        return _render(submission, _forms(submission), 409 if conflict else 422)
    db.session.commit()
    flash(str(DONE_MESSAGES[name]), "success")
    return redirect(url_for("admin.submission", submission_id=submission.id))


# --- files --------------------------------------------------------------------------------


@bp.get("/bilagor/<int:attachment_id>")
def attachment(attachment_id: int):
    """A submitted file or a redacted copy, for staff of the committee; never a draft's file."""
    attachment = policy.load(Attachment, attachment_id)
    if attachment.version is not None and not attachment.version.frozen:
        abort(404)
    if attachment.version is None and attachment.redacts_id is None:
        abort(404)
    refused = unavailable(attachment)
    if refused:
        code, message = refused
        return render_template("errors/error.html", code=code, message=message), code
    return send_attachment(attachment, inline=request.args.get("visa") == "1")
