"""Who gets which e-mail about the providers' work, and the deadline reminders.

| event                                   | to                                          |
| --------------------------------------- | ------------------------------------------- |
| a request is issued (or an action plan  | the provider: its active users and its      |
| is required after a finding)            | functional address                          |
| the provider submits, resubmits or      | the user who sent it (the receipt)          |
| reports progress                        |                                             |
| staff ask for clarification             | the provider                                |
| staff approve, reject or close          | the provider                                |
| staff extend the deadline               | the provider                                |
| 7 and 1 days before the deadline        | the provider                                |
| the deadline has passed                 | the provider, and the officer who asked     |

Mails are written to the outbox in the transaction of the change (see
:mod:`portal.mail`) and delivered by a job once it commits, so a mail server that is
down never loses the change. Reminders are recorded in ``reminder_sent``: the periodic
job ``daily_reminders`` (``portal.jobs.periodic``) and ``flask --app portal notifications
send-reminders`` may run as often as wanted, and an extended deadline gets reminders anew.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import click
import sqlalchemy as sa
from flask.cli import AppGroup
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from portal import mail, municipalities
from portal.dates import local, today
from portal.extensions import db
from portal.models import (
    Attachment,
    OutboundMail,
    Provider,
    ReviewEvent,
    ReviewState,
    Submission,
    User,
)
from portal.models.bookkeeping import ReminderSent
from portal.tenancy_cli import for_each_municipality
from portal.urls import external_url

WAITING = (ReviewState.DRAFT, ReviewState.CLARIFICATION_REQUESTED)
# Review events that set a new deadline for the provider.
DEADLINE_EVENTS = ("ask_clarification", "extend_deadline", "request_action_plan")
DECISION_WORDS = {"approve": _l("godkänt"), "reject": _l("avslagit"), "close": _l("avslutat")}


def provider_recipients(provider_id: int) -> list[str]:
    """The provider's active users who have joined, and its functional address."""
    emails = set(
        db.session.scalars(
            sa.select(User.email).where(
                User.provider_id == provider_id,
                User.active.is_(True),
                User.password_hash.is_not(None),
            )
        )
    )
    provider = db.session.get(Provider, provider_id)
    if provider is not None and provider.email:
        emails.add(provider.email.strip().lower())
    return sorted(emails)


def _staff_recipient(user_id: int | None) -> list[str]:
    user = db.session.get(User, user_id) if user_id else None
    if user is None or not user.active or user.role.is_provider:
        return []
    return [user.email]


def _queue_all(recipients, subject, template: str, **context) -> list[OutboundMail]:
    return [mail.queue(r, subject, template, **context) for r in recipients]


def _decision_subject(name: str, reference: str):
    subjects = {
        "approve": _l("Ärende %(reference)s är godkänt", reference=reference),
        "reject": _l("Ärende %(reference)s är avslaget", reference=reference),
        "close": _l("Ärende %(reference)s är avslutat", reference=reference),
    }
    return subjects[name]


def _signature(submission: Submission) -> str:
    return f"{submission.committee.name}\n{municipalities.current_name()}"


# Events --------------------------------------------------------------------------------------


def request_issued(submissions: list[Submission]) -> list[OutboundMail]:
    """Tell each recipient provider that a request waits for its answer."""
    mails = []
    for submission in submissions:
        request = submission.request
        mails += _queue_all(
            provider_recipients(submission.provider_id),
            _l(
                "Ny begäran från %(committee)s: %(title)s",
                committee=submission.committee.name,
                title=submission.title,
            ),
            "request_issued",
            submission=submission,
            request=request,
            link=external_url("provider.submission", submission_id=submission.id),
            signature=_signature(submission),
        )
    return mails


def on_transition(submission: Submission, name: str, actor: User | None, comment: str = ""):
    """Queue the mails a workflow transition causes (called by :mod:`portal.workflow`)."""
    link = external_url("provider.submission", submission_id=submission.id)
    recipients = provider_recipients(submission.provider_id)
    reference = submission.registration_number or submission.title
    context = dict(
        submission=submission, link=link, comment=comment, signature=_signature(submission)
    )
    if name in ("submit", "resubmit", "report_progress"):
        version = submission.latest_submitted
        if actor is None or not actor.role.is_provider:
            return []
        return [
            mail.queue(
                actor.email,
                _l(
                    "Kvitto: %(reference)s har tagits emot",
                    reference=submission.registration_number,
                ),
                "receipt",
                version=version,
                submitted=local(version.submitted_at).strftime("%Y-%m-%d kl. %H:%M"),
                what={
                    "submit": "svaret",
                    "resubmit": "kompletteringen",
                    "report_progress": "lägesrapporten",
                }[name],
                receipt_link=external_url(
                    "provider.receipt", submission_id=submission.id, number=version.number
                ),
                **context,
            )
        ]
    if name == "ask_clarification":
        return _queue_all(
            recipients,
            _l("Komplettering begärd: %(reference)s", reference=reference),
            "clarification_requested",
            **context,
        )
    if name in DECISION_WORDS:
        return _queue_all(
            recipients,
            _decision_subject(name, reference),
            "decision",
            decision=DECISION_WORDS[name],
            **context,
        )
    if name == "extend_deadline":
        return _queue_all(
            recipients,
            _l(
                "Ny svarsdag %(deadline)s: %(title)s",
                deadline=submission.deadline.isoformat(),
                title=submission.title,
            ),
            "deadline_extended",
            **context,
        )
    if name == "request_action_plan":
        return _queue_all(
            recipients,
            _l("Åtgärdsplan begärd av %(committee)s", committee=submission.committee.name),
            "action_plan_requested",
            **context,
        )
    return []


# Reminders -----------------------------------------------------------------------------------


def attachment_infected(attachment: Attachment, signature: str) -> list[OutboundMail]:
    """Tell whoever uploaded a file that a later virus scan found it infected and removed it
    (the provider's users when the uploader has left)."""
    owner = attachment.redacts or attachment
    submission = owner.version.submission if owner.version else None
    uploader = attachment.uploaded_by
    if uploader is not None and uploader.active:
        recipients, provider_side = [uploader.email], uploader.role.is_provider
    elif submission is not None:
        recipients, provider_side = provider_recipients(submission.provider_id), True
    else:
        return []
    link = ""
    if submission is not None:
        endpoint = "provider.submission" if provider_side else "admin.submission"
        link = external_url(endpoint, submission_id=submission.id)
    reference = submission and (submission.registration_number or submission.title)
    return _queue_all(
        recipients,
        _l("En fil i %(reference)s är borttagen: virus", reference=reference)
        if reference
        else _l("En fil är borttagen: virus"),
        "attachment_infected",
        attachment=attachment,
        submission=submission,
        signature_found=signature,
        provider_side=provider_side,
        link=link,
        signature=_signature(submission) if submission else municipalities.current_name(),
    )


def deadline_set_on(submission: Submission) -> date:
    """The day the provider learned of the current deadline."""
    moment = db.session.scalar(
        sa.select(sa.func.max(ReviewEvent.created_at)).where(
            ReviewEvent.submission_id == submission.id,
            ReviewEvent.action.in_(DEADLINE_EVENTS),
        )
    )
    if moment is not None:
        return local(moment).date()
    return submission.issued_on or local(submission.created_at).date()


def reminder_due(submission: Submission, day: date) -> str | None:
    """Which deadline mail ``submission`` should have by ``day``, if any.

    A reminder is skipped when the provider learned of the deadline inside the
    reminder's window: a request with five days to answer gets no 7-day reminder.
    """
    if submission.state not in WAITING or submission.deadline is None:
        return None
    days_left = (submission.deadline - day).days
    if days_left < 0:
        return "overdue"
    learned = deadline_set_on(submission)
    for kind, window in (("reminder_1", 1), ("reminder_7", 7)):
        if days_left <= window:
            return kind if learned < submission.deadline - timedelta(days=window) else None
    return None


@dataclass
class ReminderRun:
    sent: list[tuple[int, str]] = field(default_factory=list)  # (submission id, kind)
    mails: list[int] = field(default_factory=list)


def send_reminders(day: date | None = None, *, dry_run: bool = False) -> ReminderRun:
    """Queue the reminders and overdue notices due on ``day`` (default: today in Stockholm).

    Each submission's notice and its mails are committed together; a notice already
    recorded (an earlier run, or a run at the same time) is skipped.
    """
    day = day or today()
    run = ReminderRun()
    ids = db.session.scalars(
        sa.select(Submission.id)
        .where(
            Submission.state.in_(WAITING),
            Submission.deadline.is_not(None),
            Submission.deadline <= day + timedelta(days=7),
        )
        .order_by(Submission.deadline, Submission.id)
    ).all()
    for submission_id in ids:
        submission = db.session.get(Submission, submission_id)
        kind = reminder_due(submission, day)
        if kind is None or _already_sent(submission, kind):
            continue
        if dry_run:
            run.sent.append((submission.id, kind))
            continue
        try:
            # Flushed first: a run at the same moment that recorded it first makes this
            # insert fail here, not later in a query's autoflush while the mails are queued.
            db.session.add(
                ReminderSent(submission_id=submission.id, kind=kind, deadline=submission.deadline)
            )
            db.session.flush()
            mails = _queue_reminder(submission, kind, day)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()  # another run recorded it first
            continue
        run.sent.append((submission_id, kind))
        run.mails += [m.id for m in mails]
    return run


def _already_sent(submission: Submission, kind: str) -> bool:
    return (
        db.session.scalar(
            sa.select(ReminderSent.id).where(
                ReminderSent.submission_id == submission.id,
                ReminderSent.kind == kind,
                ReminderSent.deadline == submission.deadline,
            )
        )
        is not None
    )


def _queue_reminder(submission: Submission, kind: str, day: date) -> list[OutboundMail]:
    context = dict(
        submission=submission,
        link=external_url("provider.submission", submission_id=submission.id),
        days_left=(submission.deadline - day).days,
        signature=_signature(submission),
    )
    recipients = provider_recipients(submission.provider_id)
    if kind == "overdue":
        staff = [e for e in _staff_recipient(submission.created_by_id) if e not in recipients]
        return _queue_all(
            recipients,
            _l("Svaret är försenat: %(title)s", title=submission.title),
            "overdue",
            **context,
        ) + _queue_all(
            staff,
            _l(
                "Försenat svar från %(provider)s: %(title)s",
                provider=submission.provider.name,
                title=submission.title,
            ),
            "overdue_staff",
            staff_link=external_url("admin.start"),
            **context,
        )
    days = context["days_left"]
    when = (
        _l("i morgon")
        if days == 1
        else (_l("i dag") if days == 0 else _l("om %(days)s dagar", days=days))
    )
    return _queue_all(
        recipients,
        _l(
            "Påminnelse: svara senast %(deadline)s – %(title)s",
            deadline=submission.deadline.isoformat(),
            title=submission.title,
        ),
        "reminder",
        when=when,
        **context,
    )


notifications_cli = AppGroup("notifications", help="E-mail notifications to providers.")


@notifications_cli.command("send-reminders")
@click.option("--dry-run", is_flag=True, help="Only list what would be sent.")
@for_each_municipality()
def send_reminders_command(dry_run: bool) -> None:
    """Send the deadline reminders (7 and 1 days before) and overdue notices due today.

    Safe to run from cron at any interval: each notice goes once per deadline.
    """
    run = send_reminders(dry_run=dry_run)
    for submission_id, kind in run.sent:
        click.echo(f"{'would send' if dry_run else 'sent'} {kind} for submission {submission_id}")
    if run.mails:
        sent, failed = mail.deliver(OutboundMail.id.in_(run.mails))
        click.echo(f"mails sent {sent}, kept for retry {failed}")
    click.echo(f"{len(run.sent)} notice(s)")
