"""The only place where submission and publication states change.

Each transition locks the submission row, checks the state and the actor's
permission, applies the change, and writes a review event and an audit event in
the caller's transaction. The caller commits. Two concurrent decisions on one
submission: the second finds the new state (PostgreSQL row lock) or a changed
``lock_version`` (SQLite) and gets a clear error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm.exc import StaleDataError

from portal import audit, notifications, policy
from portal.dates import today
from portal.extensions import db
from portal.labels import state_label
from portal.models import (
    Attachment,
    AuditAction,
    Finding,
    InformationRequest,
    MeasureStatus,
    Provider,
    Publication,
    PublicationState,
    PublishedDocument,
    ReviewEvent,
    ReviewState,
    ScanStatus,
    Submission,
    SubmissionKind,
    SubmissionVersion,
    User,
)
from portal.models.base import utcnow
from portal.numbering import next_registration_number
from portal.policy import Action
from storage import scanning_enabled

S = ReviewState


class WorkflowError(Exception):
    """A domain rule refused the change; ``message`` says why, in the user's language."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


class IllegalTransition(WorkflowError):
    pass


class ConcurrentChange(WorkflowError):
    pass


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[ReviewState]
    target: ReviewState | None  # None: the state stays
    action: Action
    kinds: frozenset[SubmissionKind] | None = None  # None: every kind


def _t(name, sources, target, action, kinds=None) -> Transition:
    return Transition(name, frozenset(sources), target, action, kinds and frozenset(kinds))


TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        _t("submit", {S.DRAFT}, S.SUBMITTED, Action.ANSWER),
        _t("resubmit", {S.CLARIFICATION_REQUESTED}, S.SUBMITTED, Action.ANSWER),
        _t("withdraw", {S.DRAFT}, S.WITHDRAWN, Action.ANSWER),
        _t("report_progress", {S.APPROVED}, None, Action.ANSWER, {SubmissionKind.ACTION_PLAN}),
        _t("ask_clarification", {S.SUBMITTED}, S.CLARIFICATION_REQUESTED, Action.REVIEW),
        _t("approve", {S.SUBMITTED}, S.APPROVED, Action.REVIEW),
        _t("reject", {S.SUBMITTED}, S.REJECTED, Action.REVIEW),
        _t("close", {S.APPROVED}, S.CLOSED, Action.REVIEW, {SubmissionKind.ACTION_PLAN}),
        _t("extend_deadline", {S.DRAFT, S.CLARIFICATION_REQUESTED}, None, Action.REVIEW),
    )
}

# What the audit log records for each transition.
TRANSITION_AUDIT = {
    "submit": AuditAction.SUBMISSION_SUBMIT,
    "resubmit": AuditAction.SUBMISSION_RESUBMIT,
    "withdraw": AuditAction.SUBMISSION_WITHDRAW,
    "report_progress": AuditAction.SUBMISSION_REPORT_PROGRESS,
    "ask_clarification": AuditAction.SUBMISSION_ASK_CLARIFICATION,
    "approve": AuditAction.SUBMISSION_APPROVE,
    "reject": AuditAction.SUBMISSION_REJECT,
    "close": AuditAction.SUBMISSION_CLOSE,
    "extend_deadline": AuditAction.SUBMISSION_EXTEND_DEADLINE,
}

# What the audit log records when a provider opens an unasked report.
REPORT_START_AUDIT = {
    SubmissionKind.DEVIATION_REPORT: AuditAction.DEVIATION_REPORT_START,
    SubmissionKind.ACTION_PLAN: AuditAction.ACTION_PLAN_START,
}

EDITABLE = {S.DRAFT, S.CLARIFICATION_REQUESTED}


def available(user: User, submission: Submission) -> list[Transition]:
    """The transitions ``user`` may make on ``submission`` now (for buttons)."""
    return [
        t
        for t in TRANSITIONS.values()
        if submission.state in t.sources
        and (t.kinds is None or submission.kind in t.kinds)
        and policy.can(user, t.action, submission)
        and not _guard_failure(t, submission)
    ]


def _guard_failure(t: Transition, submission: Submission):
    """Why a transition that the state allows cannot happen, or None."""
    if t.name == "withdraw" and submission.requested:
        return _l("Ett svar på en begäran kan inte dras tillbaka.")
    if t.name in ("submit", "resubmit", "report_progress") and submission.current_draft is None:
        return _l("Det finns inget utkast att skicka in.")
    # Staff decide on what the provider has sent, never on a draft it is still writing.
    if t.name == "close" and not all_measures_done(submission.latest_submitted):
        return _l("Planen kan stängas först när alla åtgärder är genomförda.")
    if t.name == "extend_deadline" and not waits_under_deadline(submission):
        return _l("Det finns ingen svarstid att förlänga.")
    return None


def waits_under_deadline(submission: Submission) -> bool:
    """Staff wait for the provider by a deadline: an answer they asked for that is not in
    yet, or a clarification they asked for. A report the provider started on its own owes
    nobody anything until it is sent."""
    if submission.deadline is None or submission.state not in EDITABLE:
        return False
    return submission.state != S.DRAFT or submission.requested


def all_measures_done(version: SubmissionVersion | None) -> bool:
    measures = (version.answers or {}).get("measures", []) if version else []
    return bool(measures) and all(m.get("status") == MeasureStatus.DONE for m in measures)


def _lock(submission: Submission) -> Submission:
    """Reload the submission under a row lock, so the state checked is the state changed."""
    try:
        db.session.refresh(submission, with_for_update=True)
    except sa_exc.InvalidRequestError as exc:
        raise ConcurrentChange(_l("Ärendet finns inte längre.")) from exc
    return submission


def _apply(name: str, submission: Submission, actor: User, *, comment: str = "", **detail):
    t = TRANSITIONS[name]
    submission = _lock(submission)
    if not policy.can(actor, t.action, submission):
        raise IllegalTransition(_l("Du har inte behörighet att göra detta."))
    if t.kinds is not None and submission.kind not in t.kinds:
        raise IllegalTransition(_l("Åtgärden gäller inte den här typen av ärende."))
    if submission.state not in t.sources:
        raise IllegalTransition(
            _l(
                "Ärendet har redan ändrats (status: %(state)s). Ladda om sidan.",
                state=state_label(submission.state),
            )
        )
    reason = _guard_failure(t, submission)
    if reason:
        raise IllegalTransition(reason)
    before = submission.state
    after = t.target or before
    submission.state = after
    db.session.add(
        ReviewEvent(
            submission=submission,
            actor_id=actor.id,
            action=name,
            from_state=before,
            to_state=after,
            comment=comment,
            detail={k: v for k, v in detail.items() if v is not None},
        )
    )
    audit.record(
        TRANSITION_AUDIT[name],
        submission,
        actor=actor,
        from_state=before,
        to_state=after,
        **detail,
    )
    return submission


def _flush() -> None:
    try:
        db.session.flush()
    except StaleDataError as exc:
        db.session.rollback()
        raise ConcurrentChange(
            _l("Någon annan ändrade ärendet samtidigt. Ladda om sidan och försök igen.")
        ) from exc


def _draft_number(submission: Submission) -> int | None:
    return submission.current_draft.number if submission.current_draft else None


def unsendable_file(attachment: Attachment):
    """Why ``attachment`` keeps its version from being sent, or None when it may go.

    A file goes to the municipality only once it is scanned clean (or, with scanning
    off in development, not scanned): staff never see a file that is not.
    """
    status = attachment.scan_status
    if status == ScanStatus.CLEAN or (status == ScanStatus.NOT_SCANNED and not scanning_enabled()):
        return None
    if status == ScanStatus.INFECTED:
        return _l(
            "Filen %(name)s stoppades av viruskontrollen. Ta bort den och ladda upp en annan fil.",
            name=attachment.display_name,
        )
    return _l(
        "Filen %(name)s kontrolleras fortfarande för virus. Du kan skicka in när kontrollen "
        "är klar.",
        name=attachment.display_name,
    )


def _require_sendable_files(submission: Submission) -> None:
    draft = submission.current_draft
    for attachment in draft.attachments if draft is not None else []:
        reason = unsendable_file(attachment)
        if reason is not None:
            raise WorkflowError(reason)


def _freeze_draft(submission: Submission, actor: User) -> SubmissionVersion:
    draft = submission.current_draft
    draft.submitted_at = utcnow()
    draft.submitted_by_id = actor.id
    return draft


# Creating submissions ---------------------------------------------------------------------


def issue_request(info_request: InformationRequest, providers: list[Provider], actor: User):
    """Register a request and open one draft answer per recipient provider."""
    if not policy.can(actor, Action.REVIEW, info_request):
        raise IllegalTransition(_l("Du har inte behörighet att skicka begäranden för nämnden."))
    if not providers:
        raise WorkflowError(_l("Begäran har inga mottagare."))
    return _open_answers(info_request, providers, actor)


def issue_scheduled(info_request: InformationRequest, providers: list[Provider]):
    """Issue the next occurrence of a recurring request on behalf of the scheduler (no user).

    ``info_request.previous_id`` must name the occurrence it follows: that link is unique,
    so two scheduler runs racing each other cannot both issue it.
    """
    if info_request.previous_id is None or not info_request.recurs_yearly:
        raise WorkflowError(_l("Bara återkommande begäranden skapas automatiskt."))
    if not providers:
        raise WorkflowError(_l("Begäran har inga mottagare."))
    return _open_answers(info_request, providers, None)


def _open_answers(info_request: InformationRequest, providers: list[Provider], actor):
    if not info_request.fields:
        raise WorkflowError(_l("Ange minst en uppgift som utförarna ska lämna."))
    info_request.registration_number = next_registration_number(info_request.committee)
    info_request.created_by_id = actor.id if actor else None
    db.session.add(info_request)
    db.session.flush()
    submissions = [
        Submission(
            kind=info_request.kind,
            committee=info_request.committee,
            provider=provider,
            request=info_request,
            service_area=info_request.service_area,
            agreement=info_request.agreement,
            title=info_request.title,
            issued_on=today(),
            deadline=info_request.deadline,
            created_by_id=actor.id if actor else None,
        )
        for provider in providers
    ]
    db.session.add_all(submissions)
    db.session.flush()
    audit.record(
        AuditAction.REQUEST_ISSUE if actor else AuditAction.REQUEST_SCHEDULE,
        info_request,
        actor=actor,
        providers=[p.id for p in providers],
        registration_number=info_request.registration_number,
        previous=info_request.previous_id,
    )
    notifications.request_issued(submissions)
    return submissions


def extend_request_deadline(
    info_request: InformationRequest, actor: User, new_deadline: date, reason: str
) -> list[Submission]:
    """Move the deadline of a request and of every answer still waiting for the provider."""
    if not policy.can(actor, Action.REVIEW, info_request):
        raise IllegalTransition(_l("Du har inte behörighet att göra detta."))
    if not reason.strip():
        raise WorkflowError(_l("Ange skälet till den förlängda svarstiden."))
    if new_deadline <= info_request.deadline:
        raise WorkflowError(_l("Den nya svarsdagen måste vara senare än den nuvarande."))
    waiting = db.session.scalars(
        db.select(Submission)
        .where(Submission.request_id == info_request.id, Submission.state.in_(EDITABLE))
        .order_by(Submission.id)
    ).all()
    extended = [
        extend_deadline(s, actor, new_deadline, reason)
        for s in waiting
        if s.deadline is None or s.deadline < new_deadline
    ]
    audit.record(
        AuditAction.REQUEST_EXTEND_DEADLINE,
        info_request,
        actor=actor,
        old_deadline=info_request.deadline.isoformat(),
        deadline=new_deadline.isoformat(),
        reason=reason,
        submissions=[s.id for s in extended],
    )
    info_request.deadline = new_deadline
    _flush()
    return extended


def action_plan_title(*, agreement=None, deviation: Submission | None = None) -> str:
    """What an action plan is for, as its title says it: for a deviation report, or after
    the municipality's follow-up of an agreement (never a bare "Åtgärdsplan: AVT-1")."""
    if deviation is not None:
        title = _l(
            "Åtgärdsplan för avvikelsen ”%(title)s” (%(number)s)",
            title=deviation.title,
            number=deviation.registration_number or "",
        )
    else:
        title = _l(
            "Åtgärdsplan efter uppföljning av avtal %(reference)s (%(area)s, %(provider)s)",
            reference=agreement.reference,
            area=agreement.service_area.name,
            provider=agreement.provider.name,
        )
    return str(title)[:300]


def record_finding(finding: Finding, actor: User) -> Submission | None:
    """Record staff's finding on an agreement; a required action plan becomes a request.

    The action plan is opened as a draft for the agreement's provider, due on
    ``finding.action_plan_due``, and linked to the finding.
    """
    if not policy.can(actor, Action.REVIEW, finding):
        raise IllegalTransition(_l("Du har inte behörighet att göra detta."))
    if not finding.meets_requirements and not finding.deficiencies.strip():
        raise WorkflowError(_l("Beskriv bristerna när kraven inte uppfylls."))
    if finding.action_plan_due is not None and finding.action_plan_due <= today():
        raise WorkflowError(_l("Åtgärdsplanen måste begäras till ett datum efter i dag."))
    finding.created_by_id = actor.id
    db.session.add(finding)
    db.session.flush()
    plan = None
    if finding.action_plan_due is not None:
        agreement = finding.agreement
        plan = Submission(
            kind=SubmissionKind.ACTION_PLAN,
            committee_id=agreement.committee_id,
            provider_id=agreement.provider_id,
            agreement=agreement,
            service_area_id=agreement.service_area_id,
            finding=finding,
            title=action_plan_title(agreement=agreement),
            issued_on=today(),
            deadline=finding.action_plan_due,
            created_by_id=actor.id,
        )
        db.session.add(plan)
        db.session.flush()
        db.session.add(
            ReviewEvent(
                submission=plan,
                actor_id=actor.id,
                action="request_action_plan",
                from_state=S.DRAFT,
                to_state=S.DRAFT,
                comment=finding.deficiencies,
                detail={"finding": finding.id, "deadline": finding.action_plan_due.isoformat()},
            )
        )
    audit.record(
        AuditAction.FINDING_RECORD,
        finding,
        actor=actor,
        agreement=finding.agreement_id,
        meets_requirements=finding.meets_requirements,
        action_plan=plan.id if plan else None,
    )
    _flush()
    if plan is not None:
        notifications.on_transition(plan, "request_action_plan", actor, finding.deficiencies)
    return plan


def start_report(submission: Submission, actor: User) -> Submission:
    """Open an unasked deviation report or action plan as a draft of the actor's organisation."""
    if not policy.can(actor, Action.ANSWER, submission):
        raise IllegalTransition(_l("Du har inte behörighet att göra detta."))
    if submission.kind == SubmissionKind.TRANSPARENCY_INFO:
        raise WorkflowError(_l("Insynsinformation lämnas som svar på en begäran."))
    submission.state = S.DRAFT
    submission.created_by_id = actor.id
    submission.issued_on = submission.issued_on or today()
    db.session.add(submission)
    db.session.flush()
    audit.record(REPORT_START_AUDIT[submission.kind], submission, actor=actor)
    return submission


# Provider side ---------------------------------------------------------------------------


def draft_for_editing(submission: Submission, actor: User) -> SubmissionVersion:
    """The mutable draft version, opened from the latest version's content when needed."""
    if not policy.can(actor, Action.ANSWER, submission):
        raise IllegalTransition(_l("Du har inte behörighet att göra detta."))
    open_for_edit = submission.state in EDITABLE or (
        submission.kind == SubmissionKind.ACTION_PLAN and submission.state == S.APPROVED
    )
    if not open_for_edit:
        raise IllegalTransition(_l("Ärendet är inskickat och kan inte ändras nu."))
    draft = submission.current_draft
    if draft is None:
        latest = submission.latest
        draft = SubmissionVersion(
            submission=submission,
            number=(latest.number + 1) if latest else 1,
            answers=dict(latest.answers) if latest else {},
            created_by_id=actor.id,
        )
        db.session.add(draft)
    return draft


def save_draft(
    submission: Submission, actor: User, answers: dict, note: str = ""
) -> SubmissionVersion:
    draft = draft_for_editing(submission, actor)
    draft.answers = dict(answers)
    draft.note = note
    draft.updated_by_id = actor.id
    _flush()
    return draft


def submit(submission: Submission, actor: User) -> Submission:
    """Send the draft: first time ``submit``, after a clarification request ``resubmit``."""
    name = "resubmit" if submission.state == S.CLARIFICATION_REQUESTED else "submit"
    _require_sendable_files(submission)
    submission = _apply(name, submission, actor, version=_draft_number(submission))
    version = _freeze_draft(submission, actor)
    if submission.registration_number is None:
        submission.registration_number = next_registration_number(submission.committee)
    submission.submitted_at = version.submitted_at
    _flush()
    notifications.on_transition(submission, name, actor)
    return submission


def report_progress(submission: Submission, actor: User) -> Submission:
    _require_sendable_files(submission)
    submission = _apply("report_progress", submission, actor, version=_draft_number(submission))
    _freeze_draft(submission, actor)
    _flush()
    notifications.on_transition(submission, "report_progress", actor)
    return submission


def withdraw(submission: Submission, actor: User) -> Submission:
    submission = _apply("withdraw", submission, actor)
    _flush()
    return submission


# Reviewer side ---------------------------------------------------------------------------


def ask_clarification(
    submission: Submission, actor: User, question: str, new_deadline: date
) -> Submission:
    if not question.strip():
        raise WorkflowError(_l("Skriv vad utföraren ska förtydliga."))
    submission = _apply(
        "ask_clarification", submission, actor, comment=question, deadline=new_deadline.isoformat()
    )
    submission.deadline = new_deadline
    _flush()
    notifications.on_transition(submission, "ask_clarification", actor, question)
    return submission


def approve(submission: Submission, actor: User, comment: str = "") -> Submission:
    submission = _apply("approve", submission, actor, comment=comment)
    submission.decided_at = utcnow()
    _flush()
    notifications.on_transition(submission, "approve", actor, comment)
    return submission


def reject(submission: Submission, actor: User, reason: str) -> Submission:
    if not reason.strip():
        raise WorkflowError(_l("Ange skälet till att ärendet avslås."))
    submission = _apply("reject", submission, actor, comment=reason)
    submission.decided_at = utcnow()
    _flush()
    notifications.on_transition(submission, "reject", actor, reason)
    return submission


def close(submission: Submission, actor: User, comment: str = "") -> Submission:
    submission = _apply("close", submission, actor, comment=comment)
    submission.decided_at = utcnow()
    _flush()
    notifications.on_transition(submission, "close", actor, comment)
    return submission


def extend_deadline(submission: Submission, actor: User, new_deadline: date, reason: str):
    if not reason.strip():
        raise WorkflowError(_l("Ange skälet till den förlängda svarstiden."))
    if submission.deadline and new_deadline <= submission.deadline:
        raise WorkflowError(_l("Den nya svarsdagen måste vara senare än den nuvarande."))
    old = submission.deadline.isoformat() if submission.deadline else None
    submission = _apply(
        "extend_deadline",
        submission,
        actor,
        comment=reason,
        old_deadline=old,
        deadline=new_deadline.isoformat(),
    )
    submission.deadline = new_deadline
    _flush()
    notifications.on_transition(submission, "extend_deadline", actor, reason)
    return submission


# Publication -----------------------------------------------------------------------------


def publish(
    submission: Submission,
    actor: User,
    *,
    title: str,
    summary: str,
    answer_keys: list[str],
    documents: list[PublishedDocument],
    search_text: str = "",
    redacted_answers: dict[str, str] | None = None,
    version: SubmissionVersion | None = None,
) -> Publication:
    """Make the chosen parts of an approved submission public.

    The publication pins ``version``: the submitted version the publisher checked (by
    default the newest submitted one). The public reads that version only, so a later
    version (an action plan's progress report) is never public without a new decision;
    a submission is published once.
    """
    submission = _lock(submission)
    if not policy.can(actor, Action.PUBLISH, submission):
        raise IllegalTransition(_l("Du har inte behörighet att publicera."))
    if submission.state not in (S.APPROVED, S.CLOSED):
        raise IllegalTransition(_l("Bara godkända ärenden kan publiceras."))
    if db.session.query(Publication.id).filter_by(submission_id=submission.id).first():
        raise IllegalTransition(_l("Ärendet är redan publicerat."))
    if version is None:
        version = submission.latest_submitted
    if version is None or version.submission is not submission or version.submitted_at is None:
        raise WorkflowError(_l("Bara en inskickad version av ärendet kan publiceras."))
    # The files are those of the version published, nothing of another version.
    if any(d.attachment.version is not version for d in documents):
        raise WorkflowError(_l("Publicerade filer måste höra till versionen som publiceras."))
    publication = Publication(
        submission=submission,
        version=version,
        title=title,
        summary=summary,
        answer_keys=list(answer_keys),
        documents=documents,
        search_text=search_text,
        redacted_answers=dict(redacted_answers or {}),
        published_by_id=actor.id,
    )
    db.session.add(publication)
    db.session.flush()
    audit.record(
        AuditAction.PUBLICATION_PUBLISH,
        publication,
        actor=actor,
        submission=submission.id,
        version=version.number,
        documents=[d.public_file.id for d in documents],
    )
    _flush()
    return publication


def attach_redacted_copy(original: Attachment, copy: Attachment, actor: User) -> Attachment:
    """Keep ``copy`` (a fresh upload) as the redacted copy to publish instead of ``original``.

    The newest redacted copy of an attachment is the one offered for publication.
    """
    if original.version is None or original.redacts_id is not None:
        raise WorkflowError(_l("Bara en inlämnad bilaga kan få en maskad kopia."))
    if not policy.can(actor, Action.PUBLISH, original):
        raise IllegalTransition(_l("Du har inte behörighet att publicera."))
    copy.redacts = original
    copy.slot = f"redacted-{original.id}"[:40]
    db.session.add(copy)
    db.session.flush()
    audit.record(
        AuditAction.ATTACHMENT_REDACTED_COPY,
        copy,
        actor=actor,
        original=original.id,
        submission=original.version.submission_id,
        sha256=copy.sha256,
    )
    return copy


def withdraw_publication(publication: Publication, actor: User, reason: str) -> Publication:
    """Withdraw with a public reason: the page stays, the files go."""
    if not policy.can(actor, Action.PUBLISH, publication):
        raise IllegalTransition(_l("Du har inte behörighet att återkalla publiceringar."))
    if not reason.strip():
        raise WorkflowError(_l("Ange ett skäl; det visas för allmänheten."))
    db.session.refresh(publication, with_for_update=True)
    if publication.state != PublicationState.PUBLISHED:
        raise IllegalTransition(_l("Publiceringen är redan återkallad."))
    publication.state = PublicationState.WITHDRAWN
    publication.withdrawn_at = utcnow()
    publication.withdrawn_reason = reason
    audit.record(AuditAction.PUBLICATION_WITHDRAW, publication, actor=actor, reason=reason)
    _flush()
    return publication
