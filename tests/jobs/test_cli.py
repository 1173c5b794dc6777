"""``flask --app portal jobs status|sweep|failed|run-again``, on each real broker."""

from __future__ import annotations

import json

import sqlalchemy as sa

from portal.extensions import db
from portal.jobs import huey
from portal.models import AuditAction, AuditEvent, JobFailure, JobSchedule, OutboundMail
from portal.models.base import utcnow
from tests.jobs.test_status import outbound, swept


def run(app, *args):
    return app.test_cli_runner().invoke(args=["jobs", *args])


def failure(task: str, **arguments) -> int:
    """A failed job's id (the commands look in every scope: keep no object across them)."""
    row = JobFailure(task=task, arguments=arguments, error="OperationalError: gone")
    db.session.add(row)
    db.session.commit()
    return row.id


def audit_events(action: AuditAction) -> list[AuditEvent]:
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


def test_status_text_and_exit_codes(jobs_app):
    result = run(jobs_app, "status")
    assert result.exit_code == 1, result.output  # degraded: no sweep yet
    assert "state:        degraded" in result.output
    assert "no sweep has run yet" in result.output
    assert "last sweep:   never" in result.output
    swept(12)
    result = run(jobs_app, "status")
    assert result.exit_code == 0, result.output
    assert "state:        ok" in result.output
    assert "waiting:      0 (scheduled retries: 0)" in result.output
    assert "failed:       0 jobs, 0 mails" in result.output
    assert "  sweep " in result.output


def test_status_json_lists_the_failures_too(jobs_app):
    swept(3)
    failure("deliver_mail", mail_id=7)
    result = run(jobs_app, "status", "--json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["state"] == "degraded" and report["broker"] == "ok"
    assert report["failed"] == 1 and report["failed_jobs"] == 1
    assert report["periodic"][0]["name"] == "sweep"
    text = run(jobs_app, "status").output
    assert "job " in text and "deliver_mail {'mail_id': 7}" in text


def test_status_exit_code_when_the_broker_is_down(app_config):
    from portal import create_app

    app = create_app({**app_config, "JOBS_URL": "redis://127.0.0.1:1/0"})
    with app.app_context():
        result = run(app, "status")
        assert result.exit_code == 2, result.output
        assert "state:        down" in result.output
        assert json.loads(run(app, "status", "--json").output)["broker"] == "down"


def test_sweep_enqueues_a_due_mail(jobs_app):
    mail = outbound()
    mail_id = mail.id
    result = run(jobs_app, "sweep")
    assert result.exit_code == 0, result.output
    assert "mails_enqueued: 1" in result.output
    assert huey.pending_count() >= 1  # and the daily jobs not run today (caught up)
    db.session.expire_all()
    assert db.session.get(OutboundMail, mail_id).enqueued_at is not None


def test_failed_lists_jobs_and_masked_mails(jobs_app):
    assert run(jobs_app, "failed").output.strip() == "nothing failed"
    job = failure("scan_content", sha256="ab" * 32)
    mail = outbound(failed_at=utcnow(), last_error="550 mailbox unavailable")
    mail_id = mail.id
    out = run(jobs_app, "failed").output
    assert f"job {job}: scan_content" in out
    assert f"mail {mail_id}: to a***@kommun.example" in out and "550 mailbox" in out
    assert "anna.andersson" not in out


def test_run_again_enqueues_resolves_and_audits(jobs_app):
    mail = outbound()
    mail_id = mail.id
    job = failure("deliver_mail", mail_id=mail_id)
    result = run(jobs_app, "run-again", str(job))
    assert result.exit_code == 0, result.output
    assert huey.pending_count() == 1
    db.session.expire_all()
    assert db.session.get(JobFailure, job).resolved_at is not None
    (event,) = audit_events(AuditAction.JOB_RERUN)
    assert event.detail == {"task": "deliver_mail", "arguments": {"mail_id": mail_id}, "via": "cli"}
    assert event.actor_id is None and event.object_id == job
    again = run(jobs_app, "run-again", str(job))
    assert again.exit_code == 1 and "redan" in again.output
    assert huey.pending_count() == 1 and len(audit_events(AuditAction.JOB_RERUN)) == 1
    assert run(jobs_app, "run-again", "99999").exit_code == 1


def test_run_again_of_a_periodic_job_forgets_its_period(jobs_app):
    db.session.add(JobSchedule(name="prune", last_period="2026-12-05"))
    db.session.commit()
    job = failure("prune")
    assert run(jobs_app, "run-again", str(job)).exit_code == 0
    assert huey.pending_count() == 1
    schedule = db.session.scalar(sa.select(JobSchedule).where(JobSchedule.name == "prune"))
    db.session.refresh(schedule)
    assert schedule.last_period == ""


def test_run_again_of_a_given_up_mail(jobs_app):
    mail = outbound(failed_at=utcnow(), attempts=9)
    mail_id = mail.id
    result = run(jobs_app, "run-again", "--mail", str(mail_id))
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    again = db.session.get(OutboundMail, mail_id)
    assert again.failed_at is None and again.next_attempt_at <= utcnow()
    assert huey.pending_count() == 1
    (event,) = audit_events(AuditAction.MAIL_RERUN)
    assert event.detail == {"attempts": 9, "via": "cli"}
