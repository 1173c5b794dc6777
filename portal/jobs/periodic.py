"""The periodic jobs, declared in code. Every worker's scheduler fires them; each run
claims its period first (``runtime.periodic``), so each runs once per period. Times are
Stockholm time; the daily ones the sweep also catches up when their minute was missed.

The names are the ``job_schedule`` rows' names, shown to admins.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from portal import attachments, notifications, schedule, search, tenancy
from portal.extensions import db
from portal.jobs import runtime
from portal.jobs import sweep as sweeping
from portal.jobs.runtime import daily_period, local_crontab, minute_period, periodic
from portal.models import JobFailure
from portal.models.base import utcnow

PRUNE_AFTER = timedelta(days=90)
DETAIL_LIMIT = 50  # keys listed in a report; the counts are whole

Clock = Callable[[dict], tuple[int, int]]  # the app's config → (hour, minute), local time


def daily_at(offset_minutes: int = 0) -> Clock:
    """``PORTAL_DAILY_AT``, plus some minutes."""

    def when(config: dict) -> tuple[int, int]:
        hour, minute = config["DAILY_AT"]
        return divmod((hour * 60 + minute + offset_minutes) % (24 * 60), 60)

    return when


def at(hour: int, minute: int) -> Clock:
    return lambda config: (hour, minute)


DAILY: dict[str, Clock] = {}  # daily job name → its time, for the sweep's catch-up


def _daily(when: Clock):
    """A job run once a day at ``when`` (read from the app's configuration when checked)."""

    def schedule_test(now_utc: datetime) -> bool:
        app = runtime.bound_app()  # the scheduler thread has no app context
        if app is None:
            return False
        hour, minute = when(app.config)
        return local_crontab(hour=str(hour), minute=str(minute))(now_utc)

    def wrap(func):
        DAILY[func.__qualname__] = when
        return periodic(schedule_test, daily_period)(func)

    return wrap


def _in_each(work: Callable[[], dict]) -> dict:
    """A daily job's work, done in each municipality; the counts added up."""
    return sweeping.merged(tenancy.in_each_municipality(db.session, work))


@periodic(local_crontab(), minute_period)
def sweep() -> dict:
    return sweeping.sweep()


@_daily(daily_at())
def daily_reminders() -> dict:
    def remind() -> dict:
        run = notifications.send_reminders()
        return {"notices": len(run.sent), "mails": len(run.mails)}

    return _in_each(remind)


@_daily(daily_at(5))
def schedule_requests() -> dict:
    def issue() -> dict:
        result = schedule.schedule_recurring()
        return {
            "issued": len(result.issued),
            "not_yet": len(result.not_yet),
            "ended": len(result.ended),
            "skipped": len(result.skipped),
        }

    return _in_each(issue)


@_daily(at(3, 30))
def nightly_reconcile() -> dict:
    """Compare the object store with the rows; deletes only with PORTAL_RECONCILE_DELETE=1."""
    report = attachments.reconcile(delete=current_app.config["RECONCILE_DELETE"])
    return {
        "orphan_objects": len(report.orphan_objects),
        "missing_objects": len(report.missing_objects),
        "incomplete_uploads": len(report.incomplete_uploads),
        "deleted": len(report.deleted),
        "aborted_uploads": len(report.aborted_uploads),
        "missing": [
            {"attachment": row_id, "key": key}
            for row_id, key in report.missing_objects[:DETAIL_LIMIT]
        ],
        "orphans": report.orphan_objects[:DETAIL_LIMIT],
    }


@_daily(at(4, 0))
def nightly_reindex() -> dict:
    return _in_each(lambda: {"reindexed": search.reindex_all()})


@_daily(at(4, 30))
def prune() -> dict:
    """Forget failed jobs resolved more than 90 days ago."""
    pruned = db.session.execute(
        sa.delete(JobFailure).where(JobFailure.resolved_at < utcnow() - PRUNE_AFTER)
    ).rowcount
    db.session.commit()
    return {"pruned": pruned}
