"""Mail as a job, on real brokers and a real SMTP server: queued mails are delivered by a
worker, a mail is never delivered twice, SMTP down is retried on the backoff kept in the
row, and the sweep gives up after some days."""

# ruff: noqa: F811 - the provider tests' SMTP fixtures, imported, are parameters here
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal import mail
from portal.extensions import db
from portal.jobs import huey, sweep
from portal.models import AuditEvent, OutboundMail
from portal.models.base import utcnow
from tests.fixtures_jobs import wait_until
from tests.provider.conftest import (  # noqa: F401 - fixtures
    app_config,
    smtp_down,
    smtp_server,
    smtp_service,
    start_smtp,
)


def _queue(n: int = 0) -> OutboundMail:
    return mail.queue(f"anna{n}@org.example", f"Meddelande {n}", "password_reset", link="x")


def _fresh(outbound: OutboundMail) -> OutboundMail:
    db.session.rollback()  # a new snapshot: a worker committed in another session
    return db.session.get(OutboundMail, outbound.id, populate_existing=True)


def _attempted(outbound: OutboundMail, attempts: int) -> OutboundMail:
    """The row once its ``attempts``-th attempt is over (counted, and the lease let go)."""

    def over():
        row = _fresh(outbound)
        return row.attempts == attempts and row.claimed_until is None and row

    return wait_until(over, message=f"attempt {attempts} over")


class Clock:
    """The time ``portal.mail`` reads, moved by the test."""

    def __init__(self, monkeypatch):
        self.now = utcnow()
        monkeypatch.setattr(mail, "utcnow", lambda: self.now)

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


def test_a_queued_mail_is_delivered_by_a_worker(jobs_app, smtp_server, jobs_worker):
    queued = _queue()
    db.session.commit()
    wait_until(lambda: smtp_server.messages, message="the worker delivered the mail")
    (received,) = smtp_server.messages
    assert received.message["Message-ID"] == f"<outbox-{queued.id}@insyn>"
    assert received.recipients == ["anna0@org.example"]
    row = wait_until(lambda: _fresh(queued).sent_at and _fresh(queued))
    assert row.attempts == 1 and row.claimed_until is None and row.last_error == ""


def test_a_mail_delivered_twice_is_sent_once(jobs_app, smtp_server):
    queued = _queue()
    db.session.commit()
    assert huey.pending_count() == 1  # the job waits for a worker
    assert mail.deliver_one(queued.id) == "sent"
    assert mail.deliver_one(queued.id) == "nothing to do"
    assert huey.execute(huey.dequeue()) == "nothing to do"  # the job, late: nothing left
    assert len(smtp_server.messages) == 1
    assert _fresh(queued).attempts == 1


def test_a_mail_leased_by_another_delivery_is_left_to_it(jobs_app, smtp_server):
    queued = _queue()
    db.session.commit()
    queued.claimed_until = utcnow() + timedelta(minutes=2)
    db.session.commit()
    assert mail.deliver_one(queued.id) == "nothing to do"
    assert smtp_server.messages == []
    queued.claimed_until = utcnow() - timedelta(seconds=1)  # the lease of a dead worker
    db.session.commit()
    assert mail.deliver_one(queued.id) == "sent"


def test_smtp_down_is_retried_on_the_backoff_then_delivered(
    smtp_down, jobs_app, monkeypatch, jobs_worker
):
    clock = Clock(monkeypatch)
    queued = _queue()
    db.session.commit()
    waits = []
    for attempt in range(1, 8):
        row = _attempted(queued, attempt)
        assert row.sent_at is None and row.last_error.startswith("ConnectionRefusedError")
        waits.append(round((row.next_attempt_at - clock.now).total_seconds() / 60))
        assert sweep.sweep(clock.now)["mails_enqueued"] == 0  # not due yet
        clock.advance(minutes=waits[-1])
        assert sweep.sweep(clock.now)["mails_enqueued"] == 1
    assert waits == [1, 2, 5, 10, 30, 60, 60]
    _attempted(queued, 8)
    controller, inbox = start_smtp(smtp_down)
    try:
        clock.advance(minutes=60)
        assert sweep.sweep(clock.now)["mails_enqueued"] == 1
        wait_until(lambda: _fresh(queued).sent_at, message="delivered once SMTP is back")
        assert len(inbox.messages) == 1
    finally:
        controller.stop()
    assert _fresh(queued).attempts == 9 and _fresh(queued).sent_at == clock.now


def test_a_mail_unsent_for_days_is_given_up_and_can_be_retried(smtp_down, jobs_app, smtp_server):
    queued = _queue()
    db.session.commit()
    assert mail.deliver_one(queued.id) == "retry later"
    later = utcnow() + timedelta(days=jobs_app.config["MAIL_GIVE_UP_DAYS"], minutes=1)
    report = sweep.sweep(later)
    assert report["mails_given_up"] == 1 and report["mails_enqueued"] == 0
    row = _fresh(queued)
    assert row.failed_at == later and row.sent_at is None
    (event,) = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "mail.failed"))
    assert event.object_type == "outboundmail" and event.object_id == queued.id
    assert event.detail["attempts"] == 1 and "ConnectionRefused" in event.detail["error"]
    assert sweep.sweep(later + timedelta(hours=1))["mails_given_up"] == 0  # once
    assert mail.deliver() == (0, 0)  # given up: left alone

    jobs_app.config["SMTP_URL"] = f"smtp://127.0.0.1:{smtp_server.port}"
    runner = jobs_app.test_cli_runner()
    assert "sent 0" in runner.invoke(args=["mail", "retry"]).output
    result = runner.invoke(args=["mail", "retry", "--failed"])
    assert result.exit_code == 0 and "sent 1, still failing 0" in result.output
    row = _fresh(queued)
    assert row.sent_at is not None and row.failed_at is None and len(smtp_server.messages) == 1


@pytest.mark.parametrize("jobs_url", ["sqlite"], indirect=True)
def test_mail_retry_reports_what_still_fails(smtp_down, jobs_app):
    _queue()
    db.session.commit()
    result = jobs_app.test_cli_runner().invoke(args=["mail", "retry"])
    assert result.exit_code == 1 and "sent 0, still failing 1" in result.output
