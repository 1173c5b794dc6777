"""The background-jobs page: administrators only; "Kör igen" runs the job again (here at
once: the pages' tests run each job at the request's commit), resolves and audits."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditAction, AuditEvent, JobFailure, OutboundMail, Role
from portal.models.base import utcnow
from tests.conftest import text_of

PAGE = "/handlaggare/jobb"


def given_up(recipient: str = "anna.andersson@kommun.example") -> OutboundMail:
    mail = OutboundMail(
        recipient=recipient,
        subject="Påminnelse: Kvalitetsredovisning 2026",
        body="Hej",
        failed_at=utcnow(),
        attempts=40,
        last_error="SMTPServerDisconnected: Connection unexpectedly closed",
    )
    db.session.add(mail)
    db.session.commit()
    return mail


def failed_delivery() -> JobFailure:
    """A delivery job that failed for good, for a mail still to send."""
    mail = OutboundMail(recipient="bo@utforare.example", subject="Ny begäran", body="Hej")
    db.session.add(mail)
    db.session.flush()
    failure = JobFailure(
        task="deliver_mail", arguments={"mail_id": mail.id}, error="OperationalError: gone"
    )
    db.session.add(failure)
    db.session.commit()
    return failure


def audited(action: AuditAction) -> list[AuditEvent]:
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


def test_only_administrators_see_the_page(client, make):
    failed_delivery()
    given_up()
    assert client.get(PAGE).status_code == 302  # to the login
    reviewer, publisher, admin = (make.user(r) for r in (Role.REVIEWER, Role.PUBLISHER, Role.ADMIN))
    db.session.commit()
    for user in (reviewer, publisher):
        client.login(user)
        assert client.get(PAGE).status_code == 404
        client.post("/logga-ut", data={})
    client.login(admin)
    page = client.get(PAGE)
    assert page.status_code == 200
    text = text_of(page)
    assert "Bakgrundsjobb" in text and "Skicka e-post" in text
    assert "OperationalError: gone" in text
    assert "a***@kommun.example" in text and "anna.andersson" not in text
    assert "Påminnelse: Kvalitetsredovisning 2026" in text
    assert text.count("Kör igen") == 2


def test_run_again_enqueues_resolves_and_audits(client, make):
    admin = make.user(Role.ADMIN)
    failure = failed_delivery()  # commits
    mail_id = failure.arguments["mail_id"]
    client.login(admin)
    response = client.post(f"{PAGE}/{failure.id}/kor-igen", data={})
    assert response.status_code == 303 and response.location.endswith(PAGE)
    db.session.expire_all()
    assert db.session.get(OutboundMail, mail_id).sent_at is not None  # the job ran
    resolved = db.session.get(JobFailure, failure.id)
    assert resolved.resolved_at is not None and resolved.resolved_by_id == admin.id
    (event,) = audited(AuditAction.JOB_RERUN)
    assert event.actor_id == admin.id and event.object_id == failure.id
    assert event.detail == {"task": "deliver_mail", "arguments": {"mail_id": mail_id}}
    # A second click (another tab) runs nothing twice.
    again = client.post(f"{PAGE}/{failure.id}/kor-igen", data={}, follow_redirects=True)
    assert "Jobbet är redan startat igen." in text_of(again)
    assert len(audited(AuditAction.JOB_RERUN)) == 1
    assert "Inga jobb har misslyckats." in text_of(client.get(PAGE))


def test_run_again_sends_a_given_up_mail(client, make):
    admin = make.user(Role.ADMIN)
    mail = given_up()  # commits
    client.login(admin)
    page = client.post(f"{PAGE}/epost/{mail.id}/kor-igen", data={}, follow_redirects=True)
    assert "E-postmeddelandet skickas igen." in text_of(page)
    db.session.expire_all()
    again = db.session.get(OutboundMail, mail.id)
    assert again.failed_at is None and again.sent_at is not None
    (event,) = audited(AuditAction.MAIL_RERUN)
    assert event.actor_id == admin.id and event.detail == {"attempts": 40}


def test_run_again_needs_the_csrf_token_and_an_administrator(client, make):
    admin, reviewer = make.user(Role.ADMIN), make.user(Role.REVIEWER)
    failure = failed_delivery()
    mail = given_up()
    client.login(admin)
    assert client.post(f"{PAGE}/{failure.id}/kor-igen", data={}, csrf=False).status_code == 400
    assert client.post(f"{PAGE}/epost/{mail.id}/kor-igen", data={}, csrf=False).status_code == 400
    assert client.post(f"{PAGE}/99999/kor-igen", data={}).status_code == 404
    client.post("/logga-ut", data={})
    client.login(reviewer)
    assert client.post(f"{PAGE}/{failure.id}/kor-igen", data={}).status_code == 404
    db.session.expire_all()
    assert db.session.get(JobFailure, failure.id).resolved_at is None
    assert db.session.get(OutboundMail, mail.id).failed_at is not None
    assert not audited(AuditAction.JOB_RERUN) and not audited(AuditAction.MAIL_RERUN)


def test_the_buttons_addresses_opened_with_get_show_the_page(client, make):
    admin = make.user(Role.ADMIN)
    failure = failed_delivery()
    client.login(admin)
    response = client.get(f"{PAGE}/{failure.id}/kor-igen")
    assert response.status_code == 303 and response.location.endswith(PAGE)
    db.session.expire_all()
    assert db.session.get(JobFailure, failure.id).resolved_at is None


def test_the_start_page_links_here_when_something_failed(client, make):
    admin, reviewer = make.user(Role.ADMIN), make.user(Role.REVIEWER)
    db.session.commit()
    client.login(admin)
    assert "bakgrundsjobb har misslyckats" not in text_of(client.get("/handlaggare/"))
    given_up()
    start = client.get("/handlaggare/")
    assert "1 bakgrundsjobb har misslyckats." in text_of(start)
    assert f'href="{PAGE}"' in start.get_data(as_text=True)
    client.post("/logga-ut", data={})
    client.login(reviewer)
    assert "bakgrundsjobb" not in text_of(client.get("/handlaggare/"))


def test_the_page_in_a_browser(chromium, axe, server, make):
    """A screenshot for a person to look at (test-artifacts/jobs/), axe-core on the page,
    and "Kör igen" clicked as an administrator would."""
    from pathlib import Path

    from tests.admin.test_confirmations import staff_signed_in
    from tests.browser import AXE_OPTIONS

    artifacts = Path(__file__).resolve().parents[2] / "test-artifacts" / "jobs"
    artifacts.mkdir(parents=True, exist_ok=True)
    failure = failed_delivery()
    given_up()
    admin = make.user(Role.ADMIN)
    db.session.commit()
    page = staff_signed_in(chromium, server, admin)
    page.goto(server + PAGE)
    main = page.inner_text("main")
    assert "Skicka e-post" in main and "OperationalError: gone" in main
    page.screenshot(path=str(artifacts / "jobs.png"), full_page=True)
    results = axe.run(page, options=AXE_OPTIONS)
    assert len(results.response["passes"]) > 10
    assert not results.violations_count, results.generate_report()
    page.click("main form button:has-text('Kör igen') >> nth=0")
    page.wait_for_url("**" + PAGE)
    page.context.close()
    db.session.expire_all()
    assert db.session.get(JobFailure, failure.id).resolved_at is not None
