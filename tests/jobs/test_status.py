"""``queue_status()``: what the broker and the database say about the background work,
with each real broker (an SQLite file, Redis)."""

from __future__ import annotations

from datetime import timedelta

from portal import jobs
from portal.extensions import db
from portal.jobs.mail import deliver_mail
from portal.jobs.status import masked_address, queue_status
from portal.models import Attachment, JobFailure, JobSchedule, OutboundMail, ScanStatus
from portal.models.base import utcnow


def swept(seconds_ago: float) -> None:
    """The periodic sweep last ran ``seconds_ago``."""
    started = utcnow() - timedelta(seconds=seconds_ago)
    db.session.add(
        JobSchedule(name="sweep", last_period="x", started_at=started, finished_at=started)
    )
    db.session.commit()


def outbound(**values) -> OutboundMail:
    mail = OutboundMail(recipient="anna.andersson@kommun.example", subject="Hej", body="…")
    for key, value in values.items():
        setattr(mail, key, value)
    db.session.add(mail)
    db.session.commit()
    return mail


def test_ok_counts_what_waits_in_the_broker(jobs_app):
    swept(30)
    mail = outbound()
    assert jobs.enqueue(deliver_mail, mail_id=mail.id)
    status = queue_status()
    assert (status.state, status.broker, status.problems) == ("ok", "ok", [])
    assert status.waiting == 1 and status.scheduled == 0
    assert status.failed == 0
    assert 29 <= status.last_sweep_seconds <= 60
    assert [run.name for run in status.periodic] == ["sweep"]


def test_the_oldest_due_work_comes_from_the_database(jobs_app):
    swept(10)
    now = utcnow()
    outbound(next_attempt_at=now - timedelta(seconds=100))
    # Leased (a job delivers it now), sent or given up: not waiting.
    outbound(next_attempt_at=now - timedelta(hours=5), claimed_until=now + timedelta(minutes=1))
    outbound(next_attempt_at=now - timedelta(hours=5), sent_at=now)
    outbound(next_attempt_at=now - timedelta(hours=5), failed_at=now, sent_at=now)
    assert 100 <= queue_status(now).oldest_waiting_seconds <= 101
    db.session.add(
        Attachment(
            sha256="a" * 64,
            size=1,
            content_type="text/plain",
            display_name="a.txt",
            scan_status=ScanStatus.PENDING_SCAN,
            scan_next_at=now - timedelta(seconds=400),
        )
    )
    db.session.commit()
    status = queue_status(now)
    assert status.oldest_waiting_seconds == 400
    assert status.state == "degraded"  # above JOBS_DEGRADED_SECONDS (300)
    assert status.problems == ["work has waited 400 s"]


def test_a_stale_or_missing_sweep_is_degraded(jobs_app):
    status = queue_status()
    assert status.state == "degraded" and status.last_sweep_seconds is None
    assert "no sweep has run yet" in status.problems[0]
    swept(301)
    status = queue_status()
    assert status.state == "degraded" and status.last_sweep_seconds >= 301


def test_failed_jobs_and_given_up_mails_are_counted(jobs_app):
    swept(5)
    db.session.add(JobFailure(task="deliver_mail", arguments={"mail_id": 1}, error="boom"))
    db.session.add(
        JobFailure(task="prune", arguments={}, error="old", resolved_at=utcnow())  # resolved
    )
    db.session.commit()
    outbound(failed_at=utcnow(), last_error="550 no such user")
    status = queue_status()
    assert (status.failed_jobs, status.failed_mails, status.failed) == (1, 1, 2)
    assert status.state == "degraded"
    assert status.summary()["failed"] == 2


def test_a_broker_that_does_not_answer_is_down(app_config):
    from portal import create_app

    app = create_app({**app_config, "JOBS_URL": "redis://:secret@127.0.0.1:1/0"})
    with app.app_context():
        status = queue_status()
    assert (status.state, status.broker, status.exit_code) == ("down", "down", 2)
    assert status.broker_url == "redis://:***@127.0.0.1:1/0"
    assert "ConnectionError" in status.broker_error
    assert status.waiting is None
    assert "secret" not in str(status.as_dict())


def test_addresses_are_masked():
    assert masked_address("anna.andersson@kommun.example") == "a***@kommun.example"
    assert masked_address("") == "***"
