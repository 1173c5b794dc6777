"""How the background work is doing, for ``/readyz``, the admins' page and ``jobs status``.

The broker says how many jobs wait; the database says how long the oldest work has been
owed (a job message carries no enqueue time, and the rows are what people wait for),
what failed, and when the sweep last ran, which shows whether any worker runs at all.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from portal import mail
from portal.extensions import db
from portal.jobs import huey
from portal.jobs.worker import masked
from portal.models import Attachment, JobFailure, JobSchedule, OutboundMail, ScanStatus
from portal.models.base import utcnow

OK, DEGRADED, DOWN = "ok", "degraded", "down"
EXIT_CODES = {OK: 0, DEGRADED: 1, DOWN: 2}
SWEEP = "sweep"


@dataclass
class PeriodicRun:
    """A periodic job's last run (its ``job_schedule`` row)."""

    name: str
    last_period: str
    outcome: str | None
    started_at: datetime | None
    finished_at: datetime | None


@dataclass
class QueueStatus:
    state: str  # ok, degraded, down
    broker: str  # ok, down
    broker_url: str  # password masked
    broker_error: str = ""
    waiting: int | None = None  # messages in the broker (None: it did not answer)
    scheduled: int | None = None  # retries waiting for their time
    oldest_waiting_seconds: int | None = None  # the oldest due, unleased mail or scan
    failed_jobs: int = 0  # unresolved job_failure rows
    failed_mails: int = 0  # mails given up
    last_sweep_seconds: int | None = None  # None: no sweep has ever run
    periodic: list[PeriodicRun] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # why the state is not ok

    @property
    def failed(self) -> int:
        return self.failed_jobs + self.failed_mails

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.state]

    def summary(self) -> dict:
        """The ``/readyz`` entry (public: no URL)."""
        return {
            "status": self.state,
            "broker": self.broker,
            "waiting": self.waiting,
            "scheduled": self.scheduled,
            "oldest_waiting_seconds": self.oldest_waiting_seconds,
            "failed": self.failed,
            "last_sweep_seconds": self.last_sweep_seconds,
            **({"problems": self.problems} if self.problems else {}),
        }

    def as_dict(self) -> dict:
        """Everything, for ``jobs status --json``."""
        return {**asdict(self), "failed": self.failed}


def queue_status(now: datetime | None = None) -> QueueStatus:
    """The queue as the broker and the database see it; reads only."""
    now = now or utcnow()
    status = QueueStatus(state=OK, broker=OK, broker_url=masked(current_app.config["JOBS_URL"]))
    try:
        status.waiting, status.scheduled = huey.pending_count(), huey.scheduled_count()
    except Exception as exc:  # noqa: BLE001 - redis-py, sqlite3, a closed socket: all "down"
        status.broker, status.broker_error = DOWN, f"{type(exc).__name__}: {exc}"[:300]
    status.oldest_waiting_seconds = _seconds_since(oldest_due(now), now)
    status.failed_jobs, status.failed_mails = failed_counts()
    status.periodic = [
        PeriodicRun(r.name, r.last_period, r.outcome, r.started_at, r.finished_at)
        for r in db.session.scalars(sa.select(JobSchedule).order_by(JobSchedule.name))
    ]
    sweep = next((run for run in status.periodic if run.name == SWEEP), None)
    status.last_sweep_seconds = _seconds_since(sweep and sweep.started_at, now)
    db.session.commit()  # no read transaction left open (a health check, a page)
    status.problems = _problems(status)
    status.state = DOWN if status.broker == DOWN else DEGRADED if status.problems else OK
    return status


def _problems(status: QueueStatus) -> list[str]:
    """Why the state is not ``ok``, in words for operators."""
    if status.broker == DOWN:
        return [f"the broker does not answer: {status.broker_error}"]
    limit = current_app.config["JOBS_DEGRADED_SECONDS"]
    problems = []
    # Immediate mode (the pages' tests) runs each job inside the request: nothing to sweep.
    if status.last_sweep_seconds is None and not huey.immediate:
        problems.append("no sweep has run yet: is a worker running?")
    elif (status.last_sweep_seconds or 0) > limit:
        problems.append(
            f"the last sweep ran {status.last_sweep_seconds} s ago: is a worker running?"
        )
    if (status.oldest_waiting_seconds or 0) > limit:
        problems.append(f"work has waited {status.oldest_waiting_seconds} s")
    if status.failed:
        problems.append(f"{status.failed} failed (flask --app portal jobs failed)")
    return problems


def oldest_due(now: datetime) -> datetime | None:
    """When the oldest work that is owed now fell due: an unsent mail or a pending scan,
    neither leased by a job that is doing it."""
    oldest_mail = sa.select(sa.func.min(OutboundMail.next_attempt_at)).where(mail.due(now))
    oldest_scan = sa.select(sa.func.min(Attachment.scan_next_at)).where(
        Attachment.scan_status == ScanStatus.PENDING_SCAN,
        Attachment.scan_next_at <= now,
        sa.or_(Attachment.scan_claimed_until.is_(None), Attachment.scan_claimed_until < now),
    )
    moments = [db.session.scalar(oldest_mail), db.session.scalar(oldest_scan)]
    return min((m for m in moments if m is not None), default=None)


def failed_counts() -> tuple[int, int]:
    """(unresolved failed jobs, mails given up)."""
    jobs = db.session.scalar(
        sa.select(sa.func.count()).select_from(JobFailure).where(JobFailure.resolved_at.is_(None))
    )
    return jobs, db.session.scalar(sa.select(sa.func.count()).where(given_up_mail()))


def given_up_mail():
    return sa.and_(OutboundMail.failed_at.is_not(None), OutboundMail.sent_at.is_(None))


def failed_jobs() -> list[JobFailure]:
    return db.session.scalars(
        sa.select(JobFailure)
        .where(JobFailure.resolved_at.is_(None))
        .order_by(JobFailure.failed_at.desc(), JobFailure.id.desc())
    ).all()


def given_up_mails() -> list[OutboundMail]:
    return db.session.scalars(
        sa.select(OutboundMail)
        .where(given_up_mail())
        .order_by(OutboundMail.failed_at.desc(), OutboundMail.id.desc())
    ).all()


def masked_address(address: str) -> str:
    """``a***@kommun.se``: enough to tell mails apart, not the person's address."""
    local, at, domain = address.partition("@")
    return f"{local[:1]}***{at}{domain}"


def _seconds_since(moment: datetime | None, now: datetime) -> int | None:
    return None if moment is None else max(0, int((now - moment).total_seconds()))
