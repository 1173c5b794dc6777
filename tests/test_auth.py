"""Login, sessions, password rules and reset, CSRF, throttling, two-factor."""

from __future__ import annotations

import time

import pyotp
import pytest
import sqlalchemy as sa

from portal.auth.passwords import password_problem
from portal.auth.tokens import reset_token
from portal.extensions import db
from portal.models import AuditEvent, OutboundMail, Role, Setting
from tests.conftest import text_of
from tests.factories import PASSWORD


@pytest.fixture
def reviewer(make):
    user = make.user(Role.REVIEWER, committees=[make.committee()], email="lars@kommun.example")
    db.session.commit()
    return user


def test_login_and_logout(client, reviewer):
    response = client.post(
        "/logga-in", data={"email": "LARS@kommun.example ", "password": PASSWORD}
    )
    assert response.status_code == 302 and response.location.endswith("/handlaggare/")
    assert client.get("/handlaggare/").status_code == 200
    client.post("/logga-ut", data={})
    assert client.get("/handlaggare/").status_code == 302


def test_wrong_password_and_unknown_account_look_the_same(client, reviewer):
    wrong = client.post("/logga-in", data={"email": reviewer.email, "password": "fel-lösenord-123"})
    unknown = client.post(
        "/logga-in", data={"email": "nobody@kommun.example", "password": "x" * 12}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert "Fel e-postadress eller lösenord." in text_of(wrong)
    assert text_of(wrong).replace(reviewer.email, "") == text_of(unknown).replace(
        "nobody@kommun.example", ""
    )


def test_cookie_from_before_logout_is_refused(app, client, reviewer):
    client.login(reviewer)
    with client.session_transaction() as session:
        stolen = dict(session)
    client.post("/logga-ut", data={})
    attacker = app.test_client()
    with attacker.session_transaction() as session:
        session.update(stolen)
    assert attacker.get("/handlaggare/").status_code == 302


def test_password_change_and_deactivation_end_other_sessions(app, client, reviewer):
    other = app.test_client()
    other.login(reviewer)
    client.login(reviewer)
    response = client.post(
        "/konto/losenord",
        data={
            "current": PASSWORD,
            "password": "Ett helt nytt lösenord 77",
            "confirm": "Ett helt nytt lösenord 77",
        },
    )
    assert response.status_code == 302
    assert client.get("/handlaggare/").status_code == 200
    assert other.get("/handlaggare/").status_code == 302
    reviewer.active = False
    reviewer.session_version += 1
    db.session.commit()
    assert client.get("/handlaggare/").status_code == 302


def test_session_is_rotated_at_login(client, reviewer):
    client.get("/logga-in")
    with client.session_transaction() as session:
        session["planted"] = "by attacker"
    client.login(reviewer)
    with client.session_transaction() as session:
        assert "planted" not in session and session["_user_id"].startswith(f"{reviewer.id}:")


def test_idle_and_absolute_timeouts(app, client, reviewer):
    client.login(reviewer)
    with client.session_transaction() as session:
        session["seen_at"] = int(time.time()) - 31 * 60
    assert client.get("/handlaggare/").status_code == 302
    client.login(reviewer)
    with client.session_transaction() as session:
        session["login_at"] = int(time.time()) - 13 * 3600
    response = client.get("/handlaggare/")
    assert response.status_code == 302 and "/logga-in" in response.location


def test_post_without_csrf_token_is_refused(client, reviewer):
    response = client.post(
        "/logga-in", data={"email": reviewer.email, "password": PASSWORD}, csrf=False
    )
    assert response.status_code == 400
    assert "säkerhetskod" in text_of(response)


def test_login_is_throttled_per_account(app, client, reviewer):
    for _ in range(5):
        client.post("/logga-in", data={"email": reviewer.email, "password": "fel lösenord igen"})
    throttled = client.post("/logga-in", data={"email": reviewer.email, "password": PASSWORD})
    assert throttled.status_code == 429
    assert "För många försök" in text_of(throttled)


def test_login_is_throttled_per_ip(client, make):
    for n in range(20):
        client.post(
            "/logga-in", data={"email": f"gissning{n}@kommun.example", "password": "x" * 12}
        )
    assert (
        client.post(
            "/logga-in", data={"email": "ny@kommun.example", "password": "x" * 12}
        ).status_code
        == 429
    )


def test_password_reset_by_mail(app, client, reviewer):
    response = client.post("/glomt-losenord", data={"email": reviewer.email})
    unknown = client.post("/glomt-losenord", data={"email": "nobody@kommun.example"})
    assert response.status_code == unknown.status_code == 302
    (mail,) = db.session.scalars(sa.select(OutboundMail)).all()
    assert mail.recipient == reviewer.email and mail.sent_at is not None
    link = next(line for line in mail.body.splitlines() if "/aterstall/" in line)
    path = link.split("insyn.test", 1)[1]
    new = "Sommarstugan vid sjön 1998"
    assert client.post(path, data={"password": new, "confirm": new}).status_code == 302
    client.login(reviewer, password=new)
    # The link works once.
    assert client.get(path).status_code == 302


def test_password_reset_token_expires(app, client, reviewer, monkeypatch):
    an_hour_ago = time.time() - 3601
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: an_hour_ago)
    token = reset_token(reviewer)
    monkeypatch.undo()
    response = client.get(f"/aterstall/{token}")
    assert response.status_code == 302 and "glomt-losenord" in response.location
    assert client.get(f"/aterstall/{reset_token(reviewer)}").status_code == 200


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("kort", False),
        ("a" * 11, False),
        ("Password1234", False),
        ("qwertyuiop12", False),
        ("lars-hemligt-lösen", False),  # contains the e-mail's local part
        ("Tre gröna äpplen i korgen", True),
        ("x" * 64, True),
        ("x" * 129, False),
    ],
)
def test_password_rules(password, ok):
    assert (password_problem(password, "lars@kommun.example") is None) == ok


def test_totp_for_staff_when_required(app, client, reviewer):
    db.session.add(Setting(key="require_staff_totp", value="1"))
    db.session.commit()
    client.login(reviewer)
    response = client.get("/handlaggare/")
    assert response.status_code == 302 and response.location.endswith("/konto/tvafaktor")
    client.get("/konto/tvafaktor")
    with client.session_transaction() as session:
        secret = session["totp_candidate"]
    assert client.post("/konto/tvafaktor", data={"code": "000000"}).status_code == 200
    assert (
        client.post("/konto/tvafaktor", data={"code": pyotp.TOTP(secret).now()}).status_code == 302
    )
    assert client.get("/handlaggare/").status_code == 200
    client.post("/logga-ut", data={})
    step = client.post("/logga-in", data={"email": reviewer.email, "password": PASSWORD})
    assert "/logga-in/kod" in step.location
    assert client.get("/handlaggare/").status_code == 302
    assert client.post("/logga-in/kod", data={"code": "123456"}).status_code == 401
    assert client.post("/logga-in/kod", data={"code": pyotp.TOTP(secret).now()}).status_code == 302
    assert client.get("/handlaggare/").status_code == 200
    actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert "auth.totp_enabled" in actions


def test_language_switch(client):
    assert 'lang="sv"' in client.get("/").get_data(as_text=True)
    client.post("/sprak/en?next=/", data={})
    assert 'lang="en"' in client.get("/").get_data(as_text=True)
