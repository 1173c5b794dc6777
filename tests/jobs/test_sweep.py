"""The sweep on real brokers: it enqueues the due mails whose job is lost (never enqueued,
enqueued too long ago, or the broker emptied), never one leased or not yet due, and its
periodic run records what it did."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from portal import jobs
from portal.extensions import db
from portal.jobs import huey, periodic, sweep
from portal.jobs.mail import deliver_mail
from portal.models import JobSchedule, OutboundMail
from portal.models.base import utcnow


def _mail(now, **values) -> OutboundMail:
    values = {"next_attempt_at": now, "enqueued_at": now, **values}
    row = OutboundMail(recipient="anna@org.example", subject="Hej", body="Hej!", **values)
    db.session.add(row)
    db.session.commit()
    return row


def _waiting_mails() -> list[int]:
    return sorted(t.kwargs["mail_id"] for t in huey.pending() if t.name == "deliver_mail")


def _sweep(now) -> int:
    return sweep.enqueue_lost_mails(now, sweep.broker_empty())


def test_mails_whose_job_is_lost_are_enqueued_once(jobs_app):
    now = utcnow()
    lost_after = timedelta(seconds=jobs_app.config["JOBS_LOST_AFTER_SECONDS"])
    never = _mail(now, enqueued_at=None)
    long_ago = _mail(now, enqueued_at=now - lost_after - timedelta(seconds=1))
    due_again = _mail(now, enqueued_at=now - timedelta(minutes=3), next_attempt_at=now)
    waiting = _mail(now, enqueued_at=now)
    jobs.enqueue(deliver_mail, mail_id=waiting.id)  # its job waits in the broker
    _mail(now, next_attempt_at=now + timedelta(minutes=5))  # not due
    _mail(now, claimed_until=now + timedelta(minutes=1), enqueued_at=None)  # being delivered
    _mail(now, sent_at=now, enqueued_at=None)
    _mail(now, failed_at=now, enqueued_at=None)
    assert _sweep(now) == 3
    assert _waiting_mails() == sorted([waiting.id, never.id, long_ago.id, due_again.id])
    db.session.expire_all()
    assert db.session.get(OutboundMail, never.id).enqueued_at == now
    assert _sweep(now + timedelta(seconds=1)) == 0  # their jobs wait now


def test_after_the_broker_was_emptied_every_due_mail_is_enqueued_at_once(jobs_app):
    now = utcnow()
    rows = [_mail(now, enqueued_at=now) for _ in range(3)]
    _mail(now, claimed_until=now + timedelta(minutes=1))
    huey.flush()  # the broker lost its messages
    assert sweep.broker_empty()
    assert _sweep(now) == 3
    assert _waiting_mails() == [row.id for row in rows]


def test_the_periodic_sweep_records_its_report(jobs_app):
    _mail(utcnow() - timedelta(seconds=1), enqueued_at=None)
    periodic.sweep.run_now()
    db.session.expire_all()
    run = db.session.scalar(sa.select(JobSchedule).where(JobSchedule.name == "sweep"))
    assert run.outcome == "ok" and run.finished_at is not None
    assert run.detail["mails_enqueued"] == 1 and run.detail["mails_given_up"] == 0
    assert len(run.last_period) == len("2026-12-05T06:35")


def test_the_cli_sweep_function_returns_counts(jobs_app):
    report = sweep.sweep()
    assert report["mails_enqueued"] == 0 and report["mails_given_up"] == 0
    assert set(report["caught_up"]) <= set(periodic.DAILY)
