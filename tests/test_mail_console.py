"""Without a mail server (``make run``), development prints every mail to the console, so
that invitation and password-reset links can be followed; production never does."""

from __future__ import annotations

import re
import time

import pytest

from portal import mail
from portal.extensions import db
from portal.models import Role
from tests.fixtures_jobs import wait_until


def _printed(capsys, pattern: str, timeout: float = 5.0) -> str:
    """Standard output so far, once it matches ``pattern`` (background mails take a moment)."""
    out = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out += capsys.readouterr().out
        if re.search(pattern, out):
            return out
        time.sleep(0.05)
    return out


def test_a_mail_is_printed_framed_with_recipient_subject_and_body(app, capsys):
    assert app.config["SMTP_URL"] == "" and app.config["PORTAL_ENV"] == "development"
    queued = mail.queue(
        "anna@org.example",
        "Välkommen till Insyn",
        "password_reset",
        user=None,
        link="http://insyn.test/aterstall/abc",
    )
    db.session.commit()  # the job runs at commit (immediate mode), as a worker would after
    out = capsys.readouterr().out
    assert "E-MAIL (development: not sent, PORTAL_SMTP_URL is not set)" in out
    assert "To:      anna@org.example" in out
    assert "Subject: Välkommen till Insyn" in out
    assert queued.body.strip() in out
    # Framed: a rule before and after, so it stands out from the request log.
    assert out.count("=" * 78) == 2
    db.session.refresh(queued)
    assert queued.sent_at is not None


def test_an_invitation_link_can_be_followed_from_the_console(client, make, capsys):
    admin = make.user(Role.PROVIDER_ADMIN)
    db.session.commit()
    client.login(admin)
    capsys.readouterr()
    response = client.post(
        "/utforare/organisation/bjud-in",
        data={"email": "ny@org.example", "name": "Ny Kollega", "role": "provider_user"},
    )
    assert response.status_code in (200, 302, 303)
    out = _printed(capsys, r"/utforare/inbjudan/")
    assert "To:      ny@org.example" in out
    (link,) = re.findall(r"http://insyn\.test/utforare/inbjudan/\S+", out)
    client.post("/logga-ut", data={})
    page = client.get(link.removeprefix("http://insyn.test"))
    assert page.status_code == 200


def test_a_password_reset_link_is_printed(client, make, capsys):
    reviewer = make.user(Role.REVIEWER, email="handlaggare@kommun.example")
    db.session.commit()
    client.post("/glomt-losenord", data={"email": reviewer.email})
    out = _printed(capsys, r"http://insyn\.test/\S+")
    assert "To:      handlaggare@kommun.example" in out
    assert re.search(r"http://insyn\.test/\S+", out)


@pytest.fixture
def production(app_config):
    app_config["PORTAL_ENV"] = "production"
    app_config["CLAMD_URL"] = "tcp://127.0.0.1:9"  # required in production; not used here


def test_production_never_prints_mails(production, app, capsys):
    queued = mail.queue("anna@org.example", "Hemligt", "password_reset", user=None, link="x")
    db.session.commit()
    db.session.refresh(queued)
    assert queued.sent_at is not None
    assert "anna@org.example" not in capsys.readouterr().out


def test_the_worker_prints_the_mails_it_delivers(jobs_app, worker_process):
    worker = worker_process()
    queued = mail.queue("bo@org.example", "Från arbetaren", "password_reset", link="x")
    db.session.commit()
    wait_until(lambda: "To:      bo@org.example" in worker.output(), timeout=30, message="printed")
    assert "Subject: Från arbetaren" in worker.output()
    db.session.refresh(queued)
    assert queued.sent_at is not None
