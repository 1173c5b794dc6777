"""Review: the queue of submissions, one submission with its history, the decisions, and
the submitted files.

Approving asks first (GOV.UK's confirm pattern): the case page's form posts ``step=confirm``
and gets the question, which names the version and posts the decision itself; a refused
or repeated decision comes back as a conflict, never as a second decision.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from admin.blueprint import bp
from admin.lists import csv_response, paginate, wants_csv
from admin.review import operations, queries
from admin.review.forms import (
    DECISION_BY_SLUG,
    DECISIONS,
    DONE_MESSAGES,
    SLUGS,
    allowed,
    decision_forms,
    text,
)
from admin.scoping import my_committees
from portal import policy, workflow
from portal.attachments import send_attachment, unavailable
from portal.dates import today
from portal.labels import staff_state_label
from portal.models import Attachment, Submission
from portal.policy import Action
from portal.transactions import committed


@bp.get("/arenden")
def queue():
    f = queries.queue_filters()
    select = queries.queue_select(f)
    if wants_csv():
        return csv_response("arenden", queries.queue_columns(), queries.queue_rows(select))
    counts = queries.queue_counts(f)
    page = paginate(select, count=False)
    page.total = queries.queue_total(f, counts)
    return render_template(
        "admin/queue.html",
        page=page,
        f=f,
        counts=counts,
        tabs=queries.STATE_TABS,
        committees=my_committees(),
        providers=queries.queue_providers(f),
        today=today(),
        **queries.queue_names(),
    )


# --- one submission -----------------------------------------------------------------------


def _render(submission: Submission, forms: dict, status: int = 200):
    return render_template(
        "admin/submission.html",
        s=submission,
        forms=forms,
        slugs=SLUGS,
        **queries.case_page(submission),
    ), status


@bp.get("/arenden/<int:submission_id>")
def submission(submission_id: int):
    submission = policy.load(Submission, submission_id)
    return _render(submission, decision_forms(submission))


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
        return _render(submission, decision_forms(submission, (name, form)), 422)
    if name == "approve" and request.form.get("step") == "confirm":
        return _confirm_approval(submission, form)
    shown = request.form.get("version", type=int)
    with committed() as done:
        operations.decide(submission, current_user, name, form, shown)
    if not done:
        submission = policy.load(Submission, submission_id)
        conflict = isinstance(done.refusal, workflow.IllegalTransition | workflow.ConcurrentChange)
        return _render(submission, decision_forms(submission), 409 if conflict else 422)
    flash(str(DONE_MESSAGES[name]), "success")
    return redirect(url_for("admin.submission", submission_id=submission.id))


def _confirm_approval(submission: Submission, form: FlaskForm):
    """The question before an approval: what is approved (the version, the provider, the
    comment) and two ways on. Asked again once decided, it says so instead."""
    if "approve" not in allowed(submission):
        state = staff_state_label(submission.state)
        message = _("Ärendet har redan ändrats (status: %(state)s). Ladda om sidan.", state=state)
        flash(message, "error")
        return _render(submission, decision_forms(submission), 409)
    version = submission.latest_submitted
    return render_template(
        "admin/review_confirm.html",
        s=submission,
        version=version,
        comment=text(form.comment),
        markings=queries.confidential_markings(submission, version),
    )


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
