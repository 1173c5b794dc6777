"""Saving a provider's answers: the draft, its files and the submit, in one transaction.

The views parse the form and check access; these functions take a submission the
actor may answer, run uploads through the storage pipeline, keep the draft and,
when asked, hand over to the workflow (submit, resubmit or a progress report).
Nothing here commits: the view commits once, so state, files and mails agree.

Files are scanned after the commit that keeps them (a job gives the verdict), so a
draft is sent only once every file of it is clean: a submit posted together with new
files saves the draft, and the view sends it in a second transaction when the verdicts
came within the inline wait (:func:`settle_uploads`).
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from portal import audit, workflow
from portal.attachments import UploadError, accept_upload, await_verdicts, refusal
from portal.extensions import db
from portal.models import (
    Agreement,
    Attachment,
    AuditAction,
    ReviewState,
    Submission,
    SubmissionKind,
    SubmissionVersion,
    User,
)
from portal.provider.forms import (
    Evaluation,
    IdentityWarning,
    Posted,
    Sheet,
    evaluate,
    identity_numbers,
    marked_reason,
    posted_from,
)


class AlreadySent(Exception):
    """The submission is no longer open for the provider (typically: a second click on submit)."""

    def __init__(self, submission: Submission):
        super().__init__(submission.id)
        self.submission = submission


class DraftConflict(Exception):
    """Someone changed the submission after the form was opened; nothing was saved."""


@dataclass
class Outcome:
    draft: SubmissionVersion
    evaluation: Evaluation
    identity: list[IdentityWarning] = field(default_factory=list)
    refused_status: int | None = None
    sent: bool = False
    # Files of the draft whose scan has not given its verdict: {input: message}. They keep
    # the draft from being sent but are no mistake to correct.
    scanning: dict[str, str] = field(default_factory=dict)
    # The files added by this post: {attachment id: the input it was chosen in}.
    uploaded: dict[int, str] = field(default_factory=dict)

    @property
    def problems(self) -> bool:
        return bool(self.evaluation.errors or self.identity)

    @property
    def sendable(self) -> bool:
        return not self.problems and not self.scanning


def open_for_answer(submission: Submission) -> bool:
    """Whether the provider may change the submission now (a draft can be saved)."""
    return submission.state in workflow.EDITABLE or (
        submission.kind == SubmissionKind.ACTION_PLAN and submission.state == ReviewState.APPROVED
    )


def _claim(submission: Submission) -> None:
    """Write the submission row first, so that of two concurrent saves only one goes on.

    The update carries the ``lock_version`` check: a second save (a colleague, or a
    double click) waits for the first one's row lock and then finds the version changed.
    """
    flag_modified(submission, "title")
    try:
        db.session.flush()
    except StaleDataError as exc:
        db.session.rollback()
        raise workflow.ConcurrentChange(
            _l("Någon annan ändrade ärendet samtidigt. Ladda om sidan och försök igen.")
        ) from exc


def open_draft(submission: Submission, actor: User) -> tuple[SubmissionVersion, dict[int, int]]:
    """The draft, opened from the latest version when needed, with that version's files.

    Returns the draft and, for a draft opened now, {earlier attachment id: copy id}.
    Submitted versions keep their own attachment rows; the copies point at the same
    stored content (files are stored by their sha256).
    """
    had_draft = submission.current_draft is not None
    previous = submission.latest
    draft = workflow.draft_for_editing(submission, actor)
    mapping: dict[int, int] = {}
    if had_draft or previous is None:
        return draft, mapping
    copies = {}
    for original in previous.attachments:
        copies[original.id] = Attachment(
            version=draft,
            slot=original.slot,
            sha256=original.sha256,
            size=original.size,
            content_type=original.content_type,
            display_name=original.display_name,
            scan_status=original.scan_status,
            quarantine_key=original.quarantine_key,
            uploaded_by_id=original.uploaded_by_id,
            created_at=original.created_at,
            scanned_at=original.scanned_at,
            confidential_reason=original.confidential_reason,
        )
    db.session.add_all(copies.values())
    db.session.flush()
    mapping = {old: new.id for old, new in copies.items()}
    answers = copy.deepcopy(draft.answers or {})
    for measure in answers.get("measures", []):
        if measure.get("evidence") in mapping:
            measure["evidence"] = mapping[measure["evidence"]]
    draft.answers = answers
    draft.confidential = dict(previous.confidential or {})
    return draft, mapping


def save_answers(
    submission: Submission,
    actor: User,
    sheet: Sheet,
    posted: Posted,
    files,
    *,
    send: bool,
    check: bool = False,
) -> Outcome:
    """Keep the posted answers and files in the draft; with ``send``, also submit them.

    With ``check`` the answers are checked as for a submit (the provider goes on to the
    page where they are read through before they are sent), and nothing is sent.

    Raises :class:`AlreadySent` when the submission is closed for the provider,
    :class:`DraftConflict` when it changed since the form was opened, and the
    workflow's errors (a concurrent change) from the workflow itself.
    """
    if not open_for_answer(submission):
        raise AlreadySent(submission)
    # A progress report changes the measures' progress only; the rest is as approved.
    approved_version = submission.submitted_versions[-1] if sheet.progress_only else None
    approved = copy.deepcopy(approved_version.answers or {}) if approved_version else None
    if posted.lock_version is not None and posted.lock_version != submission.lock_version:
        raise DraftConflict()
    _claim(submission)
    draft, mapping = open_draft(submission, actor)

    for attachment_id in posted.remove_files:
        attachment_id = mapping.get(attachment_id, attachment_id)
        for attachment in list(draft.attachments):
            if attachment.id == attachment_id:
                _remove(draft, attachment, actor)
    # The form names the files of the version it was opened from.
    posted.file_marks = {mapping.get(i, i): mark for i, mark in posted.file_marks.items()}
    kept = {a.id for a in draft.attachments}
    posted.file_marks = {i: mark for i, mark in posted.file_marks.items() if i in kept}
    for attachment in draft.attachments:
        if attachment.id in posted.file_marks:
            attachment.confidential_reason = marked_reason(posted.file_marks[attachment.id])

    refused: dict[str, str] = {}
    refused_status = None
    uploads: list[tuple[str, object]] = [
        (spec.key, upload)
        for spec in sheet.file_specs
        for upload in files.getlist(spec.key)
        if upload and upload.filename
    ]
    evidence_uploads: dict[int, Attachment] = {}
    accepted: list[Attachment] = []
    uploaded: list[tuple[Attachment, str]] = []
    for row in posted.measures:
        upload = files.get(f"m-{row['index']}-evidence")
        if upload and upload.filename and not row.get("remove"):
            uploads.append((f"m-{row['index']}-evidence", upload))
    for name, upload in uploads:
        slot = f"evidence-{int(name.split('-')[1]) + 1}" if name.startswith("m-") else name
        try:
            attachment = accept_upload(upload, uploader=actor, slot=slot)
        except UploadError as problem:
            refused[name] = problem.message
            refused_status = max(refused_status or 0, problem.status)
            continue
        attachment.version = draft
        accepted.append(attachment)
        uploaded.append((attachment, name))
        if name.startswith("m-"):
            evidence_uploads[int(name.split("-")[1])] = attachment
        else:
            attachment.confidential_reason = marked_reason(posted.marks.get(name))
    db.session.flush()
    if accepted:
        audit.record(
            AuditAction.SUBMISSION_FILES_ADDED,
            submission,
            actor=actor,
            version=draft.number,
            files=[a.id for a in accepted],
        )

    for row in posted.measures:
        if row["evidence_id"] in mapping:
            row["evidence_id"] = mapping[row["evidence_id"]]
        if row["index"] in evidence_uploads:
            row["evidence_id"] = evidence_uploads[row["index"]].id
    evaluation = evaluate(
        sheet,
        posted,
        final=send or check,
        files_by_slot=Counter(a.slot for a in draft.attachments),
        base_measures=(approved or {}).get("measures", []),
        valid_evidence={a.id for a in draft.attachments},
    )
    if approved is not None:
        evaluation.answers = {**approved, "measures": evaluation.answers["measures"]}
    evaluation.errors.update(refused)
    if sheet.has_measures:
        used = {m.get("evidence") for m in evaluation.answers.get("measures", [])}
        for attachment in list(draft.attachments):
            if attachment.slot.startswith("evidence-") and attachment.id not in used:
                _remove(draft, attachment, actor)

    if evaluation.title:
        submission.title = evaluation.title
    _link_agreement(submission, evaluation.answers.get("agreement_id"))
    # A progress report changes no answer, nor its marking.
    draft.confidential = (
        dict(approved_version.confidential or {}) if approved_version else evaluation.confidential
    )
    workflow.save_draft(submission, actor, evaluation.answers, note=posted.note.strip())
    outcome = Outcome(
        draft=draft,
        evaluation=evaluation,
        refused_status=refused_status,
        uploaded={a.id: name for a, name in uploaded if a in draft.attachments},
    )
    if send or check:
        _check_files(outcome, posted)
    if send and not posted.pii_confirmed:
        outcome.identity = identity_numbers(sheet, posted)
    if send and outcome.sendable:
        _send(submission, actor)
        outcome.sent = True
    return outcome


def _check_files(outcome: Outcome, posted: Posted) -> None:
    """A message on the input of each file of the draft that cannot be sent yet: an
    infected one is an error to correct, one still being scanned only waits."""
    evidence = {row.get("evidence_id"): f"m-{row['index']}-evidence" for row in posted.measures}
    for attachment in outcome.draft.attachments:
        reason = workflow.unsendable_file(attachment)
        if reason is not None:
            found = outcome.evaluation.errors if attachment.infected else outcome.scanning
            found.setdefault(evidence.get(attachment.id, attachment.slot), str(reason))


def settle_uploads(outcome: Outcome, actor: User) -> None:
    """After the commit that kept the files of this post: wait a little for their verdicts
    (``SCAN_INLINE_SECONDS``), so that the page shows them. A file found infected meanwhile
    is refused as an upload of a wrong type is: it leaves the draft and the message stays
    next to its input. The caller commits."""
    if not outcome.uploaded:
        return
    rows = await_verdicts(list(outcome.uploaded), current_app.config["SCAN_INLINE_SECONDS"])
    for attachment in rows:
        refused = refusal(attachment)
        if refused is not None and attachment in outcome.draft.attachments:
            outcome.evaluation.errors[outcome.uploaded[attachment.id]] = refused.message
            outcome.refused_status = max(outcome.refused_status or 0, refused.status)
            _remove(outcome.draft, attachment, actor)


def _send(submission: Submission, actor: User) -> None:
    if submission.state == ReviewState.APPROVED:
        workflow.report_progress(submission, actor)
    else:
        workflow.submit(submission, actor)


def check_draft(submission: Submission, sheet: Sheet) -> Outcome | None:
    """The saved draft checked as for a submit, without changing anything; None when there
    is no draft to send."""
    draft = submission.current_draft
    if draft is None:
        return None
    posted = posted_from(sheet, draft)
    approved = (submission.submitted_versions[-1].answers or {}) if sheet.progress_only else {}
    evaluation = evaluate(
        sheet,
        posted,
        final=True,
        files_by_slot=Counter(a.slot for a in draft.attachments),
        base_measures=approved.get("measures", []),
        valid_evidence={a.id for a in draft.attachments},
    )
    outcome = Outcome(draft=draft, evaluation=evaluation, identity=identity_numbers(sheet, posted))
    _check_files(outcome, posted)
    return outcome


def send_draft(
    submission: Submission,
    actor: User,
    sheet: Sheet,
    *,
    lock_version: int | None,
    pii_confirmed: bool,
) -> Outcome:
    """Send the saved draft as the provider read it through on the check page.

    ``lock_version`` is the submission's as the page showed it: a draft changed since (by a
    colleague, in another tab) raises :class:`DraftConflict`, so that only what was read
    through is sent. The draft is checked again as for a submit; with problems, nothing is
    sent and the outcome says why. Raises :class:`AlreadySent` as :func:`save_answers`.
    """
    if not open_for_answer(submission):
        raise AlreadySent(submission)
    if lock_version is None or lock_version != submission.lock_version:
        raise DraftConflict()
    outcome = check_draft(submission, sheet)
    if outcome is None:
        raise DraftConflict()
    if pii_confirmed:
        outcome.identity = []
    if outcome.sendable:
        _send(submission, actor)
        outcome.sent = True
    return outcome


def _remove(draft: SubmissionVersion, attachment: Attachment, actor: User) -> None:
    draft.attachments.remove(attachment)
    db.session.delete(attachment)
    audit.record(
        AuditAction.SUBMISSION_FILE_REMOVED,
        draft.submission,
        actor=actor,
        version=draft.number,
        attachment=attachment.id,
        sha256=attachment.sha256,
    )


def _link_agreement(submission: Submission, agreement_id: int | None) -> None:
    """An unasked deviation report belongs to the committee of the agreement it is about."""
    if agreement_id is None or agreement_id == submission.agreement_id:
        return
    agreement = db.session.get(Agreement, agreement_id)
    if agreement is None or agreement.provider_id != submission.provider_id:
        return
    submission.agreement = agreement
    submission.service_area_id = agreement.service_area_id
    if submission.request_id is None and submission.finding_id is None:
        submission.committee_id = agreement.committee_id


def start_deviation_report(actor: User, agreement: Agreement, title: str) -> Submission:
    return workflow.start_report(
        Submission(
            kind=SubmissionKind.DEVIATION_REPORT,
            provider_id=actor.provider_id,
            committee_id=agreement.committee_id,
            agreement_id=agreement.id,
            service_area_id=agreement.service_area_id,
            title=title or str(_l("Avvikelse")),
        ),
        actor,
    )


def start_action_plan(actor: User, *, deviation: Submission | None = None, finding=None):
    """An unasked action plan for a deviation report or a staff finding of the organisation."""
    if deviation is not None:
        basis = dict(
            committee_id=deviation.committee_id,
            agreement_id=deviation.agreement_id,
            service_area_id=deviation.service_area_id,
            deviation_id=deviation.id,
            title=workflow.action_plan_title(deviation=deviation),
        )
    else:
        agreement = finding.agreement
        basis = dict(
            committee_id=agreement.committee_id,
            agreement_id=agreement.id,
            service_area_id=agreement.service_area_id,
            finding_id=finding.id,
            title=workflow.action_plan_title(agreement=agreement),
        )
    return workflow.start_report(
        Submission(kind=SubmissionKind.ACTION_PLAN, provider_id=actor.provider_id, **basis),
        actor,
    )
