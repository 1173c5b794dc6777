"""Publication: choosing what of an approved submission becomes public, the personal-data
guard, redacted copies, and withdrawal."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm import joinedload
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from admin import labels
from admin.answers import Answer, answers_of
from admin.blueprint import bp
from admin.lists import (
    arg,
    choice_arg,
    csv_response,
    int_arg,
    paginate,
    rows_of,
    search,
    wants_csv,
)
from admin.pii_guard import Checked, check_file, check_text, unresolved
from admin.scoping import my_committees
from portal import audit, policy, workflow
from portal import search as public_search
from portal.attachments import UploadError, accept_upload
from portal.extensions import db
from portal.models import (
    Attachment,
    AuditEvent,
    Provider,
    Publication,
    PublicationState,
    PublishedDocument,
    ReviewState,
    ScanStatus,
    Submission,
    SubmissionKind,
)
from portal.policy import Action
from storage import takes_files

PUBLISHABLE_STATES = (ReviewState.APPROVED, ReviewState.CLOSED)
MAX_TITLE, MAX_SUMMARY, MAX_REASON = 300, 5000, 2000


# --- what is waiting to be published, and what is published --------------------------------


def _candidates_select():
    f = {
        "q": arg("q"),
        "committee": int_arg("namnd"),
        "kind": choice_arg("typ", SubmissionKind),
    }
    published = sa.select(Publication.id).where(Publication.submission_id == Submission.id)
    select = (
        policy.visible_submissions(current_user, sa.select(Submission))
        .join(Submission.provider)
        .where(
            Submission.state.in_(PUBLISHABLE_STATES),
            ~published.exists(),
            search(f["q"], Submission.registration_number, Submission.title, Provider.name),
        )
        .options(joinedload(Submission.provider), joinedload(Submission.committee))
        .order_by(Submission.decided_at.desc().nulls_last(), Submission.id.desc())
    )
    if f["committee"]:
        select = select.where(Submission.committee_id == f["committee"])
    if f["kind"]:
        select = select.where(Submission.kind == SubmissionKind(f["kind"]))
    return select, f


@bp.get("/publicering")
def publishing():
    select, f = _candidates_select()
    if wants_csv():
        return csv_response(
            "att-publicera",
            [_("Diarienummer"), _("Ärende"), _("Typ"), _("Utförare"), _("Nämnd"), _("Beslutad")],
            rows_of(
                select,
                lambda s: [
                    s.registration_number,
                    s.title,
                    labels.name(labels.KIND, s.kind),
                    s.provider.name,
                    s.committee.name,
                    s.decided_at,
                ],
            ),
        )
    return render_template(
        "admin/publishing.html", page=paginate(select), f=f, committees=my_committees()
    )


def _publications_select():
    f = {
        "q": arg("q"),
        "committee": int_arg("namnd"),
        "state": choice_arg("status", PublicationState),
    }
    select = (
        policy.visible_submissions(
            current_user, sa.select(Publication).join(Publication.submission)
        )
        .join(Submission.provider)
        .where(search(f["q"], Publication.title, Submission.registration_number, Provider.name))
        .options(joinedload(Publication.submission).joinedload(Submission.provider))
        .order_by(Publication.published_at.desc(), Publication.id.desc())
    )
    if f["committee"]:
        select = select.where(Submission.committee_id == f["committee"])
    if f["state"]:
        select = select.where(Publication.state == PublicationState(f["state"]))
    return select, f


@bp.get("/publiceringar")
def publications():
    select, f = _publications_select()
    if wants_csv():
        return csv_response(
            "publiceringar",
            [
                _("Rubrik"),
                _("Diarienummer"),
                _("Utförare"),
                _("Nämnd"),
                _("Status"),
                _("Publicerad"),
                _("Återkallad"),
                _("Skäl till återkallelse"),
                _("Dokument"),
            ],
            rows_of(
                select,
                lambda p: [
                    p.title,
                    p.submission.registration_number,
                    p.submission.provider.name,
                    p.submission.committee.name,
                    labels.name(labels.PUBLICATION_STATE, p.state),
                    p.published_at,
                    p.withdrawn_at,
                    p.withdrawn_reason,
                    len(p.documents),
                ],
            ),
        )
    return render_template(
        "admin/publications.html", page=paginate(select), f=f, committees=my_committees()
    )


# --- preparing a publication --------------------------------------------------------------


@dataclass
class FileChoice:
    original: Attachment
    label: str  # the answer it belongs to
    copy: Attachment | None  # newest redacted copy

    @property
    def public(self) -> Attachment:
        return self.copy or self.original

    @property
    def problem(self) -> str:
        """Why this file cannot be published now ("" when it can): only a file the virus
        scanner found clean is ever published."""
        status = self.public.scan_status
        if status == ScanStatus.CLEAN:
            return ""
        return str(UNPUBLISHABLE.get(status, UNPUBLISHABLE[None]))


UNPUBLISHABLE = {
    ScanStatus.PENDING_SCAN: _l(
        "Kan inte publiceras ännu: filen ligger i karantän och väntar på virusgenomsökning."
    ),
    ScanStatus.NOT_SCANNED: _l(
        "Kan inte publiceras: filen är inte virusgenomsökt (genomsökningen var avstängd när "
        "filen laddades upp)."
    ),
    ScanStatus.INFECTED: _l(
        "Kan inte publiceras: viruskontrollen hittade skadlig kod och filen är borttagen."
    ),
    None: _l("Kan inte publiceras: filen är inte godkänd i viruskontrollen."),
}


class Draft:
    """The publisher's choices, from the form or, on first view, from the defaults."""

    def __init__(self, submission: Submission, form=None):
        self.submission = submission
        self.version = submission.latest_submitted
        self.answers: list[Answer] = [
            a for a in answers_of(submission, self.version) if a.key != "files" and a.answered
        ]
        self.files = self._files()
        if form is None:
            self.title = f"{submission.title}: {submission.provider.name}"
            self.summary = ""
            self.keys = {a.key for a in self.answers if a.publishable_by_default and a.text}
            self.file_ids = set()
            self.redacted: dict[str, str] = {}
            self.overrides: dict[str, str] = {}
        else:
            self.title = form.get("title", "").strip()[:MAX_TITLE]
            self.summary = form.get("summary", "").strip()[:MAX_SUMMARY]
            known = {a.key for a in self.answers}
            self.keys = {k for k in form.getlist("answer") if k in known}
            ids = {str(c.original.id) for c in self.files}
            self.file_ids = {int(i) for i in form.getlist("document") if i in ids}
            self.redacted = {
                a.key: form.get(f"redacted-{a.key}", "").strip()
                for a in self.answers
                if a.key in self.keys
                and form.get(f"redacted-{a.key}", "").strip()
                and form.get(f"redacted-{a.key}", "").strip() != a.text
            }
            self.overrides = {
                k.removeprefix("override-"): v.strip()[:MAX_REASON]
                for k, v in form.items()
                if k.startswith("override-") and v.strip()
            }

    def _files(self) -> list[FileChoice]:
        if self.version is None:
            return []
        labels_by_slot = {a.key: a.label for a in self.answers}
        copies: dict[int, Attachment] = {}
        originals = self.version.attachments
        for copy in db.session.scalars(
            sa.select(Attachment)
            .where(Attachment.redacts_id.in_([a.id for a in originals] or [-1]))
            .order_by(Attachment.id)
        ):
            copies[copy.redacts_id] = copy  # the newest wins
        return [FileChoice(a, labels_by_slot.get(a.slot, ""), copies.get(a.id)) for a in originals]

    def public_text(self, answer: Answer) -> str:
        return self.redacted.get(answer.key, answer.text)

    def check(self) -> list[Checked]:
        checked = [
            check_text("title", str(_l("Rubrik")), self.title),
            check_text("summary", str(_l("Sammanfattning")), self.summary),
        ]
        checked += [
            check_text(f"answer:{a.key}", a.label, self.public_text(a))
            for a in self.answers
            if a.key in self.keys
        ]
        checked += [
            check_file(c.public, c.public.display_name)
            for c in self.files
            if c.original.id in self.file_ids and not c.problem  # refused in errors()
        ]
        return checked

    def errors(self) -> list[str]:
        out = []
        if not self.title:
            out.append(_("Ange en rubrik för publiceringen."))
        if not self.keys and not self.file_ids:
            out.append(_("Välj minst ett svar eller en fil att publicera."))
        for c in self.files:
            if c.original.id in self.file_ids and c.problem:
                out.append(f"{c.public.display_name}: {c.problem}")
        return out


def _load_for_publishing(submission_id: int) -> Submission:
    submission = policy.load(Submission, submission_id, Action.PUBLISH)
    if submission.state not in PUBLISHABLE_STATES:
        abort(404)
    return submission


def _render_publish(draft: Draft, checked: list[Checked], errors: list[str], status: int = 200):
    publication = db.session.scalar(
        sa.select(Publication).filter_by(submission_id=draft.submission.id)
    )
    return render_template(
        "admin/publish.html",
        s=draft.submission,
        d=draft,
        checked=checked,
        open_groups={g.token for g in unresolved(checked, draft.overrides)},
        errors=errors,
        publication=publication,
    ), status


@bp.route("/publicering/<int:submission_id>", methods=["GET", "POST"])
def publish(submission_id: int):
    submission = _load_for_publishing(submission_id)
    existing = db.session.scalar(sa.select(Publication.id).filter_by(submission_id=submission.id))
    if existing is not None:
        return redirect(url_for("admin.publication", publication_id=existing))
    if request.method == "GET":
        draft = Draft(submission)
        return _render_publish(draft, draft.check(), [])
    draft = Draft(submission, request.form)
    checked = draft.check()
    errors = draft.errors()
    if request.form.get("action") != "publish":
        return _render_publish(draft, checked, errors)
    open_groups = unresolved(checked, draft.overrides)
    if open_groups:
        errors.append(
            _(
                "Publiceringen är stoppad: %(n)d fynd av personuppgifter är inte åtgärdade. "
                "Ladda upp en maskad kopia, ändra lydelsen, välj bort delen eller motivera "
                "varför uppgiften ska publiceras.",
                n=len(open_groups),
            )
        )
    if errors:
        return _render_publish(draft, checked, errors, 422)
    try:
        publication = workflow.publish(
            submission,
            current_user,
            title=draft.title,
            summary=draft.summary,
            # In the order the request asks them (f8, f9, f10: not string order).
            answer_keys=[
                a.key for a in draft.answers if a.key in draft.keys and a.key not in draft.redacted
            ],
            redacted_answers={
                a.key: draft.redacted[a.key]
                for a in draft.answers
                if a.key in draft.keys and a.key in draft.redacted
            },
            documents=[
                PublishedDocument(attachment=c.original, redacted=c.copy)
                for c in draft.files
                if c.original.id in draft.file_ids
            ],
            # The version whose answers and files were checked above is the one published.
            version=draft.version,
        )
        public_search.refresh(publication)
    except workflow.WorkflowError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return redirect(url_for("admin.submission", submission_id=submission_id))
    for c in checked:
        for g in c.groups:
            audit.record(
                "publication.pii_override",
                publication,
                source=c.source,
                kind=g.kind,
                masked=g.masked,
                occurrences=g.count,
                reason=draft.overrides[g.token],
            )
    db.session.commit()
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
        return redirect(url_for("admin.publish", submission_id=submission.id) + "#files")
    try:
        copy = accept_upload(upload, uploader=current_user, slot=f"redacted-{original.id}")
        workflow.attach_redacted_copy(original, copy, current_user)
    except UploadError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        draft = Draft(submission)
        return _render_publish(draft, draft.check(), [exc.message], exc.status)
    except workflow.WorkflowError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return redirect(url_for("admin.publish", submission_id=submission.id))
    db.session.commit()
    flash(
        _(
            "Den maskade kopian av %(name)s är sparad och publiceras i stället för originalet.",
            name=original.display_name,
        ),
        "success",
    )
    return redirect(url_for("admin.publish", submission_id=submission.id) + "#files")


@bp.post("/publicering/<int:submission_id>/maskade/<int:copy_id>/ta-bort")
def redacted_copy_remove(submission_id: int, copy_id: int):
    submission = _load_for_publishing(submission_id)
    copy = policy.load(Attachment, copy_id, Action.PUBLISH)
    in_use = db.session.scalar(
        sa.select(PublishedDocument.id).where(PublishedDocument.redacted_id == copy.id)
    )
    if copy.redacts is None or copy.redacts.version.submission_id != submission.id or in_use:
        abort(404)
    audit.record(
        "attachment.redacted_copy_removed", copy, original=copy.redacts_id, sha256=copy.sha256
    )
    db.session.delete(copy)
    db.session.commit()
    flash(_("Den maskade kopian är borttagen."), "success")
    return redirect(url_for("admin.publish", submission_id=submission.id) + "#files")


# --- a publication ------------------------------------------------------------------------


@dataclass
class PublishedAnswer:
    label: str
    text: str
    redacted: bool  # the publisher's masked wording, not the provider's


def published_answers(publication: Publication) -> list[PublishedAnswer]:
    """The published answers in the order the request or the report form asks them.

    Read from the version published, not a later one. A key the version no longer has
    (which should not happen) is listed last under its key, not dropped silently.
    """
    redacted = publication.redacted_answers or {}
    chosen = set(publication.answer_keys or []) | set(redacted)
    out = []
    for a in answers_of(publication.submission, publication.version):
        if a.key in redacted:
            out.append(PublishedAnswer(a.label, redacted[a.key], True))
        elif a.key in chosen:
            out.append(PublishedAnswer(a.label, a.text, False))
        chosen.discard(a.key)
    for key in [*(publication.answer_keys or []), *redacted]:
        if key in chosen:
            out.append(PublishedAnswer(key, redacted.get(key, ""), key in redacted))
            chosen.discard(key)
    return out


class WithdrawForm(FlaskForm):
    reason = TextAreaField(
        _l("Skäl till återkallelsen"),
        validators=[DataRequired(), Length(max=MAX_REASON)],
        description=_l("Skälet visas för allmänheten på sidan, som finns kvar utan filerna."),
    )


@bp.route("/publiceringar/<int:publication_id>", methods=["GET", "POST"])
def publication(publication_id: int):
    publication = policy.load(Publication, publication_id)
    form = WithdrawForm()
    status = 200
    if request.method == "POST":
        policy.require(Action.PUBLISH, publication)
        if form.validate_on_submit():
            try:
                workflow.withdraw_publication(publication, current_user, form.reason.data.strip())
                # The withdrawn page shows no answers or files: neither may the index.
                public_search.refresh(publication)
            except workflow.WorkflowError as exc:
                db.session.rollback()
                flash(str(exc.message), "error")
                return redirect(url_for("admin.publication", publication_id=publication_id))
            db.session.commit()
            flash(
                _("Publiceringen är återkallad. Sidan finns kvar med skälet, utan filerna."),
                "success",
            )
            return redirect(url_for("admin.publication", publication_id=publication_id))
        status = 422
    overrides = db.session.scalars(
        sa.select(AuditEvent)
        .where(
            AuditEvent.object_type == "publication",
            AuditEvent.object_id == publication.id,
            AuditEvent.action == "publication.pii_override",
        )
        .order_by(AuditEvent.id)
    ).all()
    return render_template(
        "admin/publication.html",
        p=publication,
        published=published_answers(publication),
        overrides=overrides,
        form=form,
    ), status
