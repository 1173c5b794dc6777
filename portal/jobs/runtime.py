"""How a job runs: inside the app, with its own database session, its final failure
recorded for admins; and how a periodic job runs once per period however many schedulers
fire it."""

from __future__ import annotations

import functools
import logging
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Flask
from huey import crontab
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from portal import tenancy
from portal.extensions import db
from portal.jobs import huey
from portal.models import JobFailure, JobSchedule
from portal.models.base import utcnow

log = logging.getLogger(__name__)
STOCKHOLM = ZoneInfo("Europe/Stockholm")
_app: Flask | None = None

# Priorities: a scan must not wait behind a thousand mails, or its verdict never shows
# while the uploader waits; periodic work comes last.
SCAN, MAIL, PERIODIC = 100, 50, 10


def bind(app: Flask) -> None:
    """The app every job runs in (one per process: the web's or the worker's)."""
    global _app
    _app = app


def bound_app() -> Flask | None:
    """The app jobs run in; read by code without an app context (the scheduler thread)."""
    return _app


def job(*, priority: int, retries: int = 3, retry_delay: int = 10):
    """A Huey task that runs in the app with its own session. Expected failures (SMTP or
    clamd down) are the body's business, kept in its row; an unexpected exception is
    retried with backoff and, after the last retry, written to ``job_failure``."""

    def wrap(func: Callable) -> Callable:
        @huey.task(
            priority=priority,
            retries=retries,
            retry_delay=retry_delay,
            retry_backoff=3,
            name=func.__qualname__,
            context=True,
        )
        @functools.wraps(func)
        def task(*args, task=None, **kwargs):
            return _run(func, args, kwargs, last_try=task is None or task.retries == 0)

        return task

    return wrap


def _run(func: Callable, args: tuple, kwargs: dict, *, last_try: bool):
    if _app is None:
        raise RuntimeError("no app: call portal.jobs.init_app first")
    started = time.monotonic()
    municipality_id = kwargs.pop("municipality_id", None)
    with _app.app_context(), tenancy.use(municipality_id):
        try:
            result = func(*args, **kwargs)
        except Exception as exc:
            db.session.rollback()
            if last_try:
                record_failure(func.__qualname__, kwargs, exc)  # in its municipality
            raise
        finally:
            db.session.remove()
    log.info(
        "job %s %s: %s (%.2f s)", func.__qualname__, kwargs, result, time.monotonic() - started
    )
    return result


def record_failure(name: str, arguments: dict, exc: BaseException) -> JobFailure:
    """Write a failed job for the admins' list, in a transaction of its own."""
    failure = JobFailure(
        task=name,
        arguments=arguments,
        error=f"{type(exc).__name__}: {exc}"[:2000],
        traceback="".join(traceback.format_exception(exc))[-8000:],
    )
    db.session.add(failure)
    db.session.commit()
    return failure


def local_crontab(**spec) -> Callable[[datetime], bool]:
    """``huey.crontab`` read in Stockholm time (Huey hands periodic tests naive UTC)."""
    match = crontab(**spec)

    def validate(now_utc: datetime) -> bool:
        local = now_utc.replace(tzinfo=UTC).astimezone(STOCKHOLM)
        return match(local.replace(tzinfo=None))

    return validate


def daily_period(now: datetime) -> str:
    """A daily job's period: the local date (a second firing the same day is skipped)."""
    return now.astimezone(STOCKHOLM).date().isoformat()


def minute_period(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def claim_period(name: str, period: str) -> bool:
    """True for exactly one caller per ``(name, period)``, in any number of processes."""
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(
        insert(JobSchedule)
        .values(name=name, last_period="", detail={})
        .on_conflict_do_nothing(index_elements=["name"])
    )
    won = db.session.execute(
        sa.update(JobSchedule)
        .where(JobSchedule.name == name, JobSchedule.last_period < period)
        .values(last_period=period, started_at=utcnow(), finished_at=None, outcome=None)
    ).rowcount
    db.session.commit()
    return won == 1


def finish_period(name: str, outcome: str, detail: dict) -> None:
    db.session.execute(
        sa.update(JobSchedule)
        .where(JobSchedule.name == name)
        .values(finished_at=utcnow(), outcome=outcome, detail=detail)
    )
    db.session.commit()


def periodic(schedule: Callable[[datetime], bool], period: Callable[[datetime], str]):
    """A periodic job declared in code. Every worker's scheduler fires it; the run that
    claims the period does the work and records its outcome, the others return."""

    def wrap(func: Callable[[], dict]) -> Callable:
        name = func.__qualname__

        @huey.periodic_task(schedule, priority=PERIODIC, name=name)
        @functools.wraps(func)
        def task(municipality_id=None):  # national: the body visits each municipality
            return _run(_claimed(func, name, period), (), {}, last_try=True)

        task.run_now = _claimed(func, name, period, force=True)
        return task

    return wrap


def _claimed(func: Callable[[], dict], name: str, period: Callable, *, force: bool = False):
    def body():
        if not claim_period(name, period(utcnow())) and not force:
            return "claimed elsewhere"
        try:
            detail = func() or {}
        except Exception as exc:
            db.session.rollback()
            finish_period(name, "error", {"error": f"{type(exc).__name__}: {exc}"[:500]})
            raise
        finish_period(name, "ok", detail)
        return detail

    body.__qualname__ = name
    return body
