"""Login, sessions, password rules and reset, CSRF, throttling, two-factor."""

from __future__ import annotations

import statistics
import time

import pyotp
import pytest
import sqlalchemy as sa

from portal.auth.passwords import password_problem
from portal.auth.tokens import reset_token
from portal.extensions import db
from portal.models import AuditEvent, OutboundMail, Role, Setting, User
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
    assert mail.recipient == reviewer.email
    deadline = time.monotonic() + 10
    while mail.sent_at is None and time.monotonic() < deadline:  # sent after the response
        time.sleep(0.05)
        db.session.refresh(mail)
    assert mail.sent_at is not None
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


def test_staff_asked_to_set_up_totp_can_log_out_instead(app, client, reviewer):
    db.session.add(Setting(key="require_staff_totp", value="1"))
    db.session.commit()
    client.login(reviewer)
    assert client.get("/handlaggare/").location.endswith("/konto/tvafaktor")
    response = client.post("/logga-ut", data={})
    assert response.status_code == 302 and not response.location.endswith("/konto/tvafaktor")
    assert client.get("/handlaggare/").location.startswith("/logga-in")


def test_totp_for_staff_when_required(app, client, reviewer):
    db.session.add(Setting(key="require_staff_totp", value="1"))
    db.session.commit()
    client.login(reviewer)
    response = client.get("/handlaggare/")
    assert response.status_code == 302 and response.location.endswith("/konto/tvafaktor")
    client.get("/konto/tvafaktor")
    secret = db.session.get(User, reviewer.id).totp_pending_secret
    wrong = client.post("/konto/tvafaktor", data={"current": PASSWORD, "code": "000000"})
    assert wrong.status_code == 200
    code = pyotp.TOTP(secret).now()
    enabled = client.post("/konto/tvafaktor", data={"current": PASSWORD, "code": code})
    assert enabled.status_code == 302
    assert client.get("/handlaggare/").status_code == 200
    client.post("/logga-ut", data={})
    step = client.post("/logga-in", data={"email": reviewer.email, "password": PASSWORD})
    assert "/logga-in/kod" in step.location
    assert client.get("/handlaggare/").status_code == 302
    assert client.post("/logga-in/kod", data={"code": "123456"}).status_code == 401
    fresh = pyotp.TOTP(secret).at(time.time() + 30)  # the setup code itself is spent
    assert client.post("/logga-in/kod", data={"code": fresh}).status_code == 302
    assert client.get("/handlaggare/").status_code == 200
    actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert "auth.totp_enabled" in actions


def test_language_switch(client):
    assert 'lang="sv"' in client.get("/").get_data(as_text=True)
    client.post("/sprak/en?next=/", data={})
    assert 'lang="en"' in client.get("/").get_data(as_text=True)


# --- ASVS V3: a captured session cookie dies with logout, password change, deactivation ---


def captured_cookie(client) -> str:
    """The browser's session cookie, as an attacker who copied it would replay it."""
    cookie = client.get_cookie("session", domain="insyn.test")
    assert cookie is not None
    return cookie.value


def replayed(app, cookie: str, url: str):
    attacker = app.test_client()
    attacker.set_cookie("session", cookie, domain="insyn.test")
    return attacker.get(url)


def test_cookie_captured_before_a_password_change_is_refused_after(app, client, reviewer):
    client.login(reviewer)
    stolen = captured_cookie(client)
    assert replayed(app, stolen, "/handlaggare/").status_code == 200  # the copy works now
    new = "Ett helt nytt lösenord 77"
    changed = client.post(
        "/konto/losenord", data={"current": PASSWORD, "password": new, "confirm": new}
    )
    assert changed.status_code == 302
    response = replayed(app, stolen, "/handlaggare/")
    assert response.status_code == 302 and "/logga-in" in response.location
    assert client.get("/handlaggare/").status_code == 200  # the changer's own session goes on


def test_cookie_captured_before_a_reset_by_mail_is_refused_after(app, client, reviewer):
    client.login(reviewer)
    stolen = captured_cookie(client)
    new = "Sommarstugan vid sjön 1998"
    reset = app.test_client().post(
        f"/aterstall/{reset_token(reviewer)}", data={"password": new, "confirm": new}
    )
    assert reset.status_code == 302
    assert replayed(app, stolen, "/handlaggare/").status_code == 302
    assert client.get("/handlaggare/").status_code == 302


def test_cookie_captured_before_deactivation_is_refused_after(app, make):
    """Deactivated through the page a provider admin uses; the cookie of the colleague's
    browser is refused at once, even after reactivation (it must log in again)."""
    org = make.provider()
    admin = make.user(Role.PROVIDER_ADMIN, provider_=org)
    colleague = make.user(Role.PROVIDER_USER, provider_=org)
    db.session.commit()
    browser = app.test_client()
    browser.login(colleague)
    stolen = captured_cookie(browser)
    manager = app.test_client()
    manager.login(admin)
    manager.post(f"/utforare/organisation/kollegor/{colleague.id}/inaktivera", data={})
    response = replayed(app, stolen, "/utforare/arenden")
    assert response.status_code == 302 and "/logga-in" in response.location
    manager.post(f"/utforare/organisation/kollegor/{colleague.id}/aktivera", data={})
    assert replayed(app, stolen, "/utforare/arenden").status_code == 302
    assert browser.get("/utforare/arenden").status_code == 302


def test_session_is_rotated_at_login_nothing_anonymous_carries_over(app, client, reviewer):
    """Session fixation: the cookie the attacker planted before login stays anonymous, and
    its CSRF token is not the logged-in session's."""
    client.get("/logga-in")
    planted_token = client.csrf_token()
    planted = captured_cookie(client)
    client.login(reviewer)
    assert captured_cookie(client) != planted
    assert replayed(app, planted, "/handlaggare/").status_code == 302
    response = client.post("/logga-ut", data={"csrf_token": planted_token})
    assert response.status_code == 400  # the planted token does not work in the new session
    assert client.get("/handlaggare/").status_code == 200  # still logged in


def test_activity_keeps_the_idle_timeout_away_but_not_the_absolute_one(app, client, reviewer):
    client.login(reviewer)
    with client.session_transaction() as session:
        session["seen_at"] = int(time.time()) - 29 * 60  # 29 idle minutes: still in
        session["login_at"] = int(time.time()) - 11 * 3600
    assert client.get("/handlaggare/").status_code == 200
    with client.session_transaction() as session:
        assert session["seen_at"] >= int(time.time()) - 5  # the request counted as activity
        session["login_at"] = int(time.time()) - 12 * 3600 - 60  # busy, but 12 h are over
    response = client.get("/handlaggare/")
    assert response.status_code == 302 and "/logga-in" in response.location
    assert "sessionen gick ut" in text_of(client.get(response.location))


# --- no account enumeration: same answer, similar time ------------------------------------


def median_seconds(call, times: int = 7) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


@pytest.fixture
def slow_smtp(jobs_config):
    """A real SMTP server that takes 0.3 s per message, as a distant relay may."""
    import asyncio

    from aiosmtpd.controller import Controller

    from tests.fixtures_services import free_port

    class Slow:
        def __init__(self):
            self.received = []

        async def handle_DATA(self, server, session, envelope):
            await asyncio.sleep(0.3)
            self.received.append(envelope.rcpt_tos)
            return "250 OK"

    handler, port = Slow(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    jobs_config["SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    jobs_config["RATELIMIT_ENABLED"] = False
    yield handler
    controller.stop()


def test_reset_answers_alike_and_as_fast_for_known_and_unknown_addresses(
    slow_smtp, jobs_worker, client, reviewer
):
    known = client.post("/glomt-losenord", data={"email": reviewer.email})
    known_page = text_of(client.get(known.location))
    unknown = client.post("/glomt-losenord", data={"email": "nobody@kommun.example"})
    unknown_page = text_of(client.get(unknown.location))
    assert known.status_code == unknown.status_code == 302
    assert known.location == unknown.location
    assert known_page == unknown_page and "Om adressen hör till ett konto" in known_page
    known_time = median_seconds(
        lambda: client.post("/glomt-losenord", data={"email": reviewer.email})
    )
    unknown_time = median_seconds(
        lambda: client.post("/glomt-losenord", data={"email": "nobody@kommun.example"})
    )
    assert abs(known_time - unknown_time) < 0.1, (known_time, unknown_time)
    # The mail does go out, after the response, and the unknown address gets none.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        db.session.expire_all()
        mails = db.session.scalars(sa.select(OutboundMail)).all()
        if all(m.sent_at is not None for m in mails):
            break
        time.sleep(0.1)
    assert len(mails) == 8 and all(m.sent_at is not None for m in mails)
    assert slow_smtp.received == [[reviewer.email]] * 8
    actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert actions.count("auth.reset_requested_unknown") == 8


def test_login_takes_as_long_for_an_unknown_address(app, client, reviewer):
    app.config["RATELIMIT_ENABLED"] = False
    known = median_seconds(
        lambda: client.post(
            "/logga-in", data={"email": reviewer.email, "password": "fel-lösenord-1234"}
        ),
        5,
    )
    unknown = median_seconds(
        lambda: client.post(
            "/logga-in", data={"email": "nobody@kommun.example", "password": "fel-lösenord-1234"}
        ),
        5,
    )
    # Both verify an argon2 hash (a dummy one for the unknown address).
    assert 0.5 < known / unknown < 2, (known, unknown)


# --- password rules through the forms ------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "status", "message"),
    [
        ("elva tecken", 200, "minst 12 tecken"),
        ("password1234", 200, "för vanligt"),
        ("Hösten123456", 200, "för vanligt"),
        ("å" * 64, 302, None),
        ("Ett lösenord på precis sextiofyra tecken, med mellanslag och ord!", 302, None),
    ],
)
def test_password_rules_on_the_change_form(client, reviewer, password, status, message):
    client.login(reviewer)
    response = client.post(
        "/konto/losenord", data={"current": PASSWORD, "password": password, "confirm": password}
    )
    assert response.status_code == status, text_of(response)[:400]
    if message:
        assert message in text_of(response)
        db.session.refresh(reviewer)
        client.post("/logga-ut", data={})
        client.login(reviewer)  # the old password still works
    else:
        client.post("/logga-ut", data={})
        client.login(reviewer, password=password)


def test_the_shipped_common_password_list_is_used():
    from pathlib import Path

    import portal

    shipped = Path(portal.__file__).parent / "data" / "common-passwords.txt"
    words = [
        w
        for w in shipped.read_text(encoding="utf-8").splitlines()
        if len(w) >= 12 and not w.startswith("#")
    ]
    assert len(words) >= 100
    assert all(password_problem(w) is not None for w in words[:: max(1, len(words) // 50)])
    assert all(password_problem(w.upper()) is not None for w in words[:20])
