"""Publication: what is waiting to be published and what is published, choosing what of an
approved submission becomes public (with the personal-data guard and redacted copies), and
withdrawal.

Publishing asks first (GOV.UK's confirm pattern): the choices ("check" checks them again),
then "confirm" shows what becomes public, whose "publish" posts the same choices once more;
each step checks them all again, and a submission already published only ever leads to its
publication, so a reload or the back button never publishes twice.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from admin.blueprint import bp
from admin.lists import csv_response, paginate, rows_of, wants_csv
from admin.publication import operations, queries
from admin.publication.choices import Draft
from admin.publication.forms import WithdrawForm
from admin.publication.pii_guard import KIND_LABELS, Checked, unresolved
from admin.publication.queries import PUBLISHABLE_STATES
from admin.scoping import my_committees
from portal import policy
from portal.attachments import UploadError, verdict_inline
from portal.models import Attachment, Publication, Submission
from portal.policy import Action
from portal.transactions import committed
from storage import takes_files


@bp.get("/publicering")
def publishing():
    select, f = queries.candidates()
    if wants_csv():
        columns = queries.candidate_columns()
        return csv_response("att-publicera", columns, rows_of(select, queries.candidate_row))
    return render_template(
        "admin/publishing.html", page=paginate(select), f=f, committees=my_committees()
    )


@bp.get("/publiceringar")
def publications():
    select, f = queries.publications()
    if wants_csv():
        columns = queries.publication_columns()
        return csv_response("publiceringar", columns, rows_of(select, queries.publication_row))
    return render_template(
        "admin/publications.html", page=paginate(select), f=f, committees=my_committees()
    )


# --- preparing a publication --------------------------------------------------------------


def _load_for_publishing(submission_id: int) -> Submission:
    submission = policy.load(Submission, submission_id, Action.PUBLISH)
    if submission.state not in PUBLISHABLE_STATES:
        abort(404)
    return submission


def _render_publish(draft: Draft, checked: list[Checked], errors: list[str], status: int = 200):
    return render_template(
        "admin/publish.html",
        s=draft.submission,
        d=draft,
        checked=checked,
        open_groups={g.token for g in unresolved(checked, draft.overrides)},
        errors=errors,
        publication=queries.publication_of(draft.submission),
    ), status


def _to_files(submission: Submission):
    return redirect(url_for("admin.publish", submission_id=submission.id) + "#files")


@bp.route("/publicering/<int:submission_id>", methods=["GET", "POST"])
def publish(submission_id: int):
    submission = _load_for_publishing(submission_id)
    existing = queries.publication_of(submission)
    if existing is not None:
        return redirect(url_for("admin.publication", publication_id=existing.id))
    posted = request.method == "POST"
    draft = Draft(submission, request.form if posted else None)
    checked = draft.check()
    action = request.form.get("action")
    if action not in ("confirm", "publish"):
        return _render_publish(draft, checked, draft.errors() if posted else [])
    blockers = draft.blockers(checked)
    if blockers:
        return _render_publish(draft, checked, blockers, 422)
    if action == "confirm":
        decisions = draft.decisions(checked)
        return render_template(
            "admin/publish_confirm.html", s=submission, d=draft, decisions=decisions
        )
    with committed() as done:
        publication = operations.publish(draft, checked, current_user)
    if not done:
        return redirect(url_for("admin.submission", submission_id=submission_id))
    flash(_("Publicerat. Uppgifterna syns nu för allmänheten."), "success")
    return redirect(url_for("admin.publication", publication_id=publication.id))


@bp.get("/publicering/<int:submission_id>/bilagor/<int:attachment_id>/maskad")
@bp.get("/publicering/<int:submission_id>/maskade/<int:copy_id>/ta-bort")
def redacted_copy_page(submission_id: int, **_ids):
    """The address of a file form opened with GET (a reload after a refused upload, the
    language switch): the publish page's files, with nothing done (or the case, for
    someone who may not publish it)."""
    submission = policy.load(Submission, submission_id)
    if submission.state in PUBLISHABLE_STATES and policy.can(
        current_user, Action.PUBLISH, submission
    ):
        return redirect(url_for("admin.publish", submission_id=submission_id) + "#files", 303)
    return redirect(url_for("admin.submission", submission_id=submission_id), 303)


@bp.post("/publicering/<int:submission_id>/bilagor/<int:attachment_id>/maskad")
@takes_files
def redacted_copy(submission_id: int, attachment_id: int):
    submission = _load_for_publishing(submission_id)
    original = policy.load(Attachment, attachment_id, Action.PUBLISH)
    version = submission.latest_submitted
    if version is None or original.version_id != version.id:
        abort(404)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Välj den maskade filen att ladda upp."), "error")
        return _to_files(submission)
    try:
        with committed() as done:
            copy = operations.attach_redacted_copy(original, upload, current_user)
        if done:  # the copy's virus scan runs after the commit: its verdict, if it comes soon
            copy = verdict_inline(copy)
    except UploadError as exc:  # refused: nothing of the file is kept
        flash(exc.message, "error")
        draft = Draft(submission)
        return _render_publish(draft, draft.check(), [exc.message], exc.status)
    if not done:
        return redirect(url_for("admin.publish", submission_id=submission.id))
    _flash_copy_saved(original, copy)
    return _to_files(submission)


def _flash_copy_saved(original: Attachment, copy: Attachment) -> None:
    if copy.released:
        message = _(
            "Den maskade kopian av %(name)s är sparad och publiceras i stället för originalet.",
            name=original.display_name,
        )
    else:
        message = _(
            "Den maskade kopian av %(name)s är sparad. Viruskontrollen av den pågår; den kan "
            "publiceras när kontrollen är klar.",
            name=original.display_name,
        )
    flash(message, "success" if copy.released else "info")


@bp.post("/publicering/<int:submission_id>/maskade/<int:copy_id>/ta-bort")
def redacted_copy_remove(submission_id: int, copy_id: int):
    submission = _load_for_publishing(submission_id)
    copy = policy.load(Attachment, copy_id, Action.PUBLISH)
    if not queries.copy_removable(copy, submission):
        abort(404)
    with committed():
        operations.remove_redacted_copy(copy, current_user)
    flash(_("Den maskade kopian är borttagen."), "success")
    return _to_files(submission)


# --- a publication ------------------------------------------------------------------------


@bp.route("/publiceringar/<int:publication_id>", methods=["GET", "POST"])
def publication(publication_id: int):
    publication = policy.load(Publication, publication_id)
    form = WithdrawForm()
    if request.method == "POST":
        policy.require(Action.PUBLISH, publication)
        if form.validate_on_submit():
            with committed() as done:
                operations.withdraw(publication, current_user, form.reason.data.strip())
            if done:
                flash(
                    _("Publiceringen är återkallad. Sidan finns kvar med skälet, utan filerna."),
                    "success",
                )
            return redirect(url_for("admin.publication", publication_id=publication_id))
    return render_template(
        "admin/publication.html",
        p=publication,
        published=queries.published_answers(publication),
        overrides=queries.overrides(publication),
        kind_labels=KIND_LABELS,
        form=form,
    ), 422 if request.method == "POST" else 200
