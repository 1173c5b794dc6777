"""The engine on real brokers (an SQLite file and Redis): jobs enqueued at commit run in
a worker, rolled-back ones never, a broker that is down loses nothing, scans go first."""

from __future__ import annotations

import logging
import threading

import pytest
import sqlalchemy as sa

from portal import jobs
from portal.config import ConfigError
from portal.extensions import db
from portal.jobs import huey
from portal.jobs.runtime import MAIL, PERIODIC, SCAN, claim_period, job, local_crontab
from portal.models import AuditEvent, JobFailure
from tests.fixtures_jobs import wait_until


@job(priority=MAIL)
def note_run(tag: str) -> str:
    """A test job: writes an audit row with its tag."""
    db.session.add(AuditEvent(action="test.job", detail={"tag": tag}))
    db.session.commit()
    return "noted"


@job(priority=PERIODIC, retries=0)
def always_fails(tag: str) -> None:
    raise ValueError(f"broken on purpose: {tag}")


@job(priority=SCAN)
def scan_like(n: int) -> None:
    """A test job with a scan's priority."""


def _runs() -> list[str]:
    db.session.rollback()  # a fresh snapshot (SQLite keeps one per transaction)
    rows = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "test.job"))
    return sorted(row.detail["tag"] for row in rows)


def test_a_job_enqueued_at_commit_runs_in_the_worker(jobs_app, jobs_worker):
    jobs.enqueue_after_commit(note_run, tag="committed")
    db.session.commit()
    jobs.enqueue_after_commit(note_run, tag="rolled back")
    db.session.rollback()
    wait_until(lambda: _runs() == ["committed"], message="the committed job ran")
    jobs.enqueue_after_commit(note_run, tag="second")
    db.session.commit()
    wait_until(lambda: _runs() == ["committed", "second"], message="the second job ran")
    assert huey.pending_count() == 0


def test_nothing_runs_before_commit(jobs_app):
    jobs.enqueue_after_commit(note_run, tag="waiting")
    assert huey.pending_count() == 0  # not yet committed
    db.session.commit()
    assert huey.pending_count() == 1


def test_a_broker_that_is_down_loses_nothing_and_says_so(app, caplog):
    huey.configure("redis://127.0.0.1:1/0")  # nothing listens on port 1
    db.session.add(AuditEvent(action="test.kept", detail={}))
    jobs.enqueue_after_commit(note_run, tag="lost prompt")
    with caplog.at_level(logging.WARNING, logger="portal.jobs"):
        db.session.commit()  # the commit stands; only the prompt is lost
    assert "not enqueued" in caplog.text
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "test.kept"))


def test_scans_go_before_mail_and_periodic_work(jobs_app):
    for n in range(20):
        jobs.enqueue(note_run, tag=f"mail-{n}")
    jobs.enqueue(scan_like, n=1)
    first = huey.dequeue()
    assert first.name == scan_like.name
    assert huey.dequeue().name == note_run.name


def test_a_job_that_fails_for_good_is_recorded(jobs_app, jobs_worker):
    jobs.enqueue(always_fails, tag="x")
    failure = wait_until(lambda: db.session.scalar(sa.select(JobFailure)), message="failure")
    assert failure.task == "always_fails" and failure.arguments == {"tag": "x"}
    assert "ValueError: broken on purpose: x" in failure.error and "Traceback" in failure.traceback
    assert failure.resolved_at is None


def test_the_broker_url_is_checked(app):
    with pytest.raises(ConfigError, match="PORTAL_JOBS_URL"):
        huey.configure("amqp://127.0.0.1/")


@pytest.mark.parametrize("database", ["app", "pg_app"])
def test_one_claim_per_period_among_many(request, database):
    """On the suite's database and on PostgreSQL (the same one when the suite runs there)."""
    app = request.getfixturevalue(database)
    winners = []

    def claim():
        with app.app_context():
            winners.append(claim_period("test-claim", "2026-12-05T06:35"))
            db.session.remove()

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(winners) == [False] * 5 + [True]
    assert not claim_period("test-claim", "2026-12-05T06:35")
    assert not claim_period("test-claim", "2026-12-05T06:34")  # periods only move forward
    assert claim_period("test-claim", "2026-12-05T06:36")


def test_daily_jobs_keep_stockholm_time_over_both_changes():
    from datetime import datetime, timedelta

    def firings(start: datetime, spec: dict) -> list[str]:
        check = local_crontab(**spec)
        minutes = (start + timedelta(minutes=m) for m in range(36 * 60))
        return [f"{t:%m-%d %H:%M}" for t in minutes if check(t)]

    spring, autumn = datetime(2026, 3, 28, 12), datetime(2026, 10, 24, 12)
    assert firings(spring, {"hour": "6", "minute": "0"}) == ["03-29 04:00"]
    assert firings(autumn, {"hour": "6", "minute": "0"}) == ["10-25 05:00"]
    assert firings(spring, {"hour": "2", "minute": "30"}) == []  # that hour is skipped
    assert firings(autumn, {"hour": "2", "minute": "30"}) == ["10-25 00:30", "10-25 01:30"]


def test_a_worker_process_runs_jobs_and_stops_on_term(jobs_app, worker_process):
    worker = worker_process(tasks=["tests.jobs.test_engine"])
    jobs.enqueue(note_run, tag="in another process")
    wait_until(lambda: _runs() == ["in another process"], message="the worker process ran it")
    assert worker.stop() == 0
