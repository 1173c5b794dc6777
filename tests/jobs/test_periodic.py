"""The periodic jobs: when each fires (Stockholm time, ``PORTAL_DAILY_AT``), what each
run records, and once per period however many schedulers fire it (two worker processes
whose schedulers check every second, a job whose period is one second)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal import tenancy
from portal.dates import today
from portal.extensions import db
from portal.jobs import huey, periodic
from portal.jobs.runtime import periodic as periodic_job
from portal.jobs.sweep import catch_up
from portal.models import AuditEvent, JobFailure, JobSchedule
from portal.models.base import utcnow
from tests.fixtures_jobs import wait_until

NAMES = {"sweep", "daily_reminders", "schedule_requests", "nightly_reconcile"}
NAMES |= {"nightly_reindex", "prune"}
_period = threading.local()  # the period the running tick claimed, per worker thread


def second_period(now: datetime) -> str:
    _period.value = now.strftime("%Y-%m-%dT%H:%M:%S")
    return _period.value


@periodic_job(lambda now: True, second_period)
def every_second() -> dict:
    """A test job: each run writes the period it claimed."""
    db.session.add(AuditEvent(action="test.tick", detail={"period": _period.value}))
    db.session.commit()
    return {}


def _firing(when: datetime) -> set[str]:
    return {task.name for task in huey.read_periodic(when)} & NAMES


def test_each_job_fires_at_its_stockholm_time(app):
    app.config["DAILY_AT"] = (6, 0)
    winter = datetime(2026, 12, 5)  # UTC+1
    assert _firing(winter.replace(hour=5, minute=0)) == {"sweep", "daily_reminders"}
    assert _firing(winter.replace(hour=5, minute=5)) == {"sweep", "schedule_requests"}
    assert _firing(winter.replace(hour=2, minute=30)) == {"sweep", "nightly_reconcile"}
    assert _firing(winter.replace(hour=3, minute=0)) == {"sweep", "nightly_reindex"}
    assert _firing(winter.replace(hour=3, minute=30)) == {"sweep", "prune"}
    assert _firing(winter.replace(hour=5, minute=1)) == {"sweep"}
    summer = datetime(2026, 6, 5)  # UTC+2
    assert _firing(summer.replace(hour=4, minute=0)) == {"sweep", "daily_reminders"}
    app.config["DAILY_AT"] = (7, 15)
    assert _firing(winter.replace(hour=6, minute=20)) == {"sweep", "schedule_requests"}


def _run(task) -> JobSchedule:
    task.run_now()
    db.session.expire_all()
    return db.session.scalar(sa.select(JobSchedule).where(JobSchedule.name == task.name))


def test_each_daily_job_records_its_report(app, make):
    w = make.world()
    (waiting,) = make.info_request(w.committee_x, [w.org_a], w.reviewer_x, title="Snart")
    waiting.deadline = today() + timedelta(days=7)
    waiting.issued_on = today() - timedelta(days=30)
    db.session.commit()
    reminders = _run(periodic.daily_reminders)
    assert reminders.outcome == "ok" and reminders.detail["notices"] == 1
    assert reminders.last_period == today().isoformat() and reminders.finished_at
    assert _run(periodic.schedule_requests).detail == {
        "issued": 0,
        "not_yet": 0,
        "ended": 0,
        "skipped": 0,
    }
    reconcile = _run(periodic.nightly_reconcile)
    assert reconcile.outcome == "ok" and reconcile.detail["missing_objects"] == 0
    assert reconcile.detail["deleted"] == 0  # PORTAL_RECONCILE_DELETE is off
    assert _run(periodic.nightly_reindex).detail == {"reindexed": 0}


def test_prune_forgets_old_resolved_failures_only(app):
    old = utcnow() - timedelta(days=91)
    for resolved in (old, utcnow() - timedelta(days=89), None):
        db.session.add(
            JobFailure(task="deliver_mail", error="x", failed_at=old, resolved_at=resolved)
        )
    db.session.commit()
    assert _run(periodic.prune).detail == {"pruned": 1}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(JobFailure)) == 2


def test_a_second_firing_in_the_same_day_does_nothing(app):
    periodic.prune.call_local()
    first = db.session.scalar(sa.select(JobSchedule.started_at).where(JobSchedule.name == "prune"))
    assert periodic.prune.call_local() == "claimed elsewhere"
    db.session.expire_all()
    again = db.session.scalar(sa.select(JobSchedule.started_at).where(JobSchedule.name == "prune"))
    assert again == first


def test_two_schedulers_run_each_period_once(jobs_app, worker_process):
    """Plan §10.3, fault 6: both schedulers fire every tick; the claim lets one run."""
    for _ in range(2):
        worker_process(tasks=["tests.jobs.test_periodic"], periodic=True, fast=True)
    wait_until(lambda: len(_ticks()) >= 6, timeout=20, message="six periods ran")
    periods = _ticks()
    assert len(periods) == len(set(periods)), Counter(periods).most_common(3)


def _ticks() -> list[str]:
    """The periods written (periodic jobs run nationally: their events are national)."""
    db.session.rollback()
    with tenancy.use(None):
        rows = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "test.tick"))
        periods = [row.detail["period"] for row in rows]
        db.session.rollback()
    return periods


@pytest.mark.parametrize("jobs_url", ["sqlite"], indirect=True)
def test_the_sweep_catches_up_daily_jobs_whose_minute_passed(jobs_app):
    jobs_app.config["DAILY_AT"] = (6, 0)
    early = datetime(2026, 12, 5, 4, 45, tzinfo=UTC)  # 05:45 local
    assert catch_up(early) == ["nightly_reconcile", "nightly_reindex", "prune"]
    db.session.add(JobSchedule(name="daily_reminders", last_period="2026-12-05", detail={}))
    db.session.add(JobSchedule(name="prune", last_period="2026-12-04", detail={}))
    db.session.commit()
    late = early + timedelta(hours=2)
    assert catch_up(late) == [n for n in periodic.DAILY if n != "daily_reminders"]
    assert {task.name for task in huey.pending()} == set(periodic.DAILY) - {"daily_reminders"}
