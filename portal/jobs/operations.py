""" "Kör igen": a failed job or a given-up mail gets another try, with an audit event.

For the admins' page and ``flask --app portal jobs run-again``. Nothing here commits: the
caller commits once (the page in :func:`portal.transactions.committed`), and the job is
enqueued when it does. Two clicks at once run it once: the row is taken with a
conditional ``UPDATE``, and the second finds it taken.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from huey.api import PeriodicTask, TaskWrapper

from portal import audit
from portal.extensions import db
from portal.jobs import enqueue_after_commit
from portal.jobs.mail import deliver_mail
from portal.jobs.status import given_up_mail
from portal.models import AuditAction, JobFailure, JobSchedule, OutboundMail, User
from portal.models.base import utcnow
from portal.workflow import WorkflowError


class Refused(WorkflowError):
    """Nothing to run again: done already, or the job no longer exists."""


def task_named(name: str) -> TaskWrapper | None:
    """The job called ``name`` (a ``job_failure.task``), from the modules that declare jobs."""
    from portal.jobs import mail, periodic, scan  # periodic imports most of the portal

    for module in (mail, periodic, scan):
        task = getattr(module, name, None)
        if isinstance(task, TaskWrapper):
            return task
    return None


def run_again(failure: JobFailure, actor: User | None, *, via: str | None = None) -> None:
    """Enqueue the failed job with its arguments (at commit) and mark the failure resolved.
    A periodic job's period is forgotten first, so the new run is not skipped as done."""
    task = task_named(failure.task)
    if task is None:
        raise Refused(_l("Jobbet finns inte längre och kan inte köras igen."))
    taken = db.session.execute(
        sa.update(JobFailure)
        .where(JobFailure.id == failure.id, JobFailure.resolved_at.is_(None))
        .values(resolved_at=utcnow(), resolved_by_id=actor.id if actor else None)
    ).rowcount
    if not taken:
        raise Refused(_l("Jobbet är redan startat igen."))
    if issubclass(task.task_class, PeriodicTask):
        db.session.execute(
            sa.update(JobSchedule).where(JobSchedule.name == failure.task).values(last_period="")
        )
    audit.record(
        AuditAction.JOB_RERUN,
        failure,
        actor=actor,
        task=failure.task,
        arguments=failure.arguments,
        via=via,
    )
    enqueue_after_commit(task, **failure.arguments)


def rerun_mail(outbound: OutboundMail, actor: User | None, *, via: str | None = None) -> None:
    """Make a given-up mail due now and enqueue its delivery (at commit)."""
    now = utcnow()
    taken = db.session.execute(
        sa.update(OutboundMail)
        .where(OutboundMail.id == outbound.id, given_up_mail())
        .values(failed_at=None, next_attempt_at=now, enqueued_at=now)
    ).rowcount
    if not taken:
        raise Refused(_l("E-postmeddelandet är redan skickat eller på väg."))
    audit.record(AuditAction.MAIL_RERUN, outbound, actor=actor, attempts=outbound.attempts, via=via)
    enqueue_after_commit(deliver_mail, mail_id=outbound.id)
