"""The sweep: one pass over what the database says is owed, run each minute by the
periodic ``sweep`` job and by ``flask --app portal jobs sweep``. A job is only a prompt:
one lost with a killed worker or an emptied Redis is enqueued again from its row here."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from portal import audit, jobs, mail, tenancy
from portal.extensions import db
from portal.jobs import huey, scan
from portal.jobs.mail import deliver_mail
from portal.jobs.runtime import STOCKHOLM, daily_period
from portal.models import AuditAction, JobSchedule, OutboundMail
from portal.models.base import utcnow

BATCH = 2000  # mails enqueued per pass at most


def sweep(now: datetime | None = None) -> dict:
    """Give up on old mails, enqueue the due work whose job was lost (nationally and in
    each municipality), catch up the daily jobs whose minute passed unseen; returns the
    counts (the run's report)."""
    now = now or utcnow()
    empty = broker_empty()

    def owed() -> dict:
        report = {
            "mails_given_up": give_up_mails(now),
            "mails_enqueued": enqueue_lost_mails(now, empty),
        }
        report.update(scan.sweep_scans(now, empty))
        return report

    report = merged(tenancy.in_each_municipality(db.session, owed, national=True))
    return {"broker_empty": empty, **report, "caught_up": catch_up(now)}


def merged(reports: list[dict]) -> dict:
    """One report of several municipalities': counts added, lists joined, text kept once."""
    total: dict = {}
    for report in reports:
        for key, value in report.items():
            if key not in total:
                total[key] = value
            elif isinstance(value, int | list):
                total[key] += value
    return total


def broker_empty() -> bool:
    """Nothing waits in the broker: after a flush or an emptied Redis every due row's job
    is lost, so there is no need to wait ``JOBS_LOST_AFTER_SECONDS`` to know it."""
    try:
        return huey.pending_count() == 0 and huey.scheduled_count() == 0
    except Exception:  # the broker does not answer: enqueueing will say so
        return False


def give_up_mails(now: datetime) -> int:
    """Mark unsent mails older than ``MAIL_GIVE_UP_DAYS`` failed, with an audit event each."""
    cutoff = now - timedelta(days=current_app.config["MAIL_GIVE_UP_DAYS"])
    stale = db.session.scalars(
        sa.select(OutboundMail).where(
            OutboundMail.sent_at.is_(None),
            OutboundMail.failed_at.is_(None),
            OutboundMail.created_at < cutoff,
            sa.or_(OutboundMail.claimed_until.is_(None), OutboundMail.claimed_until < now),
        )
    ).all()
    for outbound in stale:
        outbound.failed_at = now
        audit.record(
            AuditAction.MAIL_FAILED,
            outbound,
            actor=None,
            attempts=outbound.attempts,
            error=outbound.last_error,
        )
    db.session.commit()
    return len(stale)


def enqueue_lost_mails(now: datetime, empty: bool) -> int:
    """Enqueue ``deliver_mail`` for each due mail that no waiting job will deliver: never
    enqueued, enqueued before it fell due again, or long enough ago to be presumed lost."""
    lost_before = now - timedelta(seconds=current_app.config["JOBS_LOST_AFTER_SECONDS"])
    ids = db.session.scalars(
        sa.select(OutboundMail.id)
        .where(
            mail.due(now),
            sa.or_(
                sa.true() if empty else sa.false(),
                OutboundMail.enqueued_at.is_(None),
                OutboundMail.enqueued_at < lost_before,
                OutboundMail.enqueued_at < OutboundMail.next_attempt_at,
            ),
        )
        .order_by(OutboundMail.next_attempt_at)
        .limit(BATCH)
    ).all()
    db.session.commit()  # no read transaction held while jobs run (immediate mode)
    enqueued = []
    for mail_id in ids:
        if not jobs.enqueue(deliver_mail, mail_id=mail_id):
            break  # the broker is down: the rest waits for the next pass
        enqueued.append(mail_id)
    if enqueued:
        db.session.execute(
            sa.update(OutboundMail).where(OutboundMail.id.in_(enqueued)).values(enqueued_at=now)
        )
        db.session.commit()
    return len(enqueued)


def catch_up(now: datetime) -> list[str]:
    """Enqueue the daily jobs not run today whose time has passed (a worker that was down
    or restarting in their minute); their run claims the day like any other."""
    from portal.jobs import periodic  # it declares the sweep job, which imports this module

    today = daily_period(now)
    local = now.astimezone(STOCKHOLM)
    last = dict(db.session.execute(sa.select(JobSchedule.name, JobSchedule.last_period)).all())
    db.session.commit()
    late = [
        name
        for name, when in periodic.DAILY.items()
        if last.get(name, "") < today and (local.hour, local.minute) >= when(current_app.config)
    ]
    for name in late:
        jobs.enqueue(getattr(periodic, name))
    return late
