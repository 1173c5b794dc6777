"""Password and code guessing (issue 10, items 5, 6 and 9): nobody can lock an owner out,
a one-time code works once, the second factor cannot be moved without the password, and
every current-password check is rate-limited."""

from __future__ import annotations

import time

import pyotp
import pytest
import sqlalchemy as sa

from portal.auth import throttle
from portal.extensions import db
from portal.models import AuditEvent, OutboundMail, Role, User
from tests.factories import PASSWORD


@pytest.fixture
def app_config(app_config):
    app_config["RATELIMIT_ENABLED"] = True
    # The slow-down is real but short here: the test is about who gets in, not the wait.
    app_config["LOGIN_SLOWDOWN_MAX_SECONDS"] = 0.05
    return app_config


def _from(app, address: str):
    """A client (browser) at ``address``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _login(client, email: str, password: str):
    return client.post("/logga-in", data={"email": email, "password": password})


# --- item 5: no lock-out ------------------------------------------------------------------


@pytest.mark.parametrize("spelling", [str.lower, str.upper, lambda e: f" {e.capitalize()}\t"])
def test_guesses_from_many_clients_do_not_lock_the_owner_out(app, make, spelling):
    owner = make.user(Role.REVIEWER)
    db.session.commit()
    for n in range(4):  # 4 clients x 5 guesses: past any per-address limit
        attacker = _from(app, f"198.51.100.{n}")
        for _ in range(5):
            assert _login(attacker, spelling(owner.email), "fel lösenord igen").status_code == 401
        assert _login(attacker, spelling(owner.email), "fel lösenord igen").status_code == 429
    assert _login(_from(app, "192.0.2.10"), owner.email, PASSWORD).status_code == 302
    reset = _from(app, "192.0.2.11").post("/glomt-losenord", data={"email": owner.email})
    assert reset.status_code == 302
    deadline = time.monotonic() + 10  # the reset mail goes from a thread: let it finish
    while time.monotonic() < deadline:
        mail = db.session.scalar(sa.select(OutboundMail).filter_by(recipient=owner.email))
        if mail is not None and mail.sent_at is not None:
            break
        time.sleep(0.05)
        db.session.expire_all()
    assert mail is not None and "/aterstall/" in mail.body


def test_the_address_alone_is_slowed_down_not_blocked(app, make):
    owner = make.user(Role.REVIEWER)
    db.session.commit()
    assert throttle.slow_down(owner.email) == 0.0
    for n in range(throttle.FREE_FAILURES + 3):
        _login(_from(app, f"198.51.100.{n}"), owner.email, "fel")
    assert throttle.slow_down(owner.email) > 0  # waited, and then the check went on
    assert throttle.slow_down(owner.email.upper()) > 0
    assert throttle.slow_down("någon.annan@kommun.example") == 0.0


def test_one_client_guessing_at_one_address_is_stopped(app, make):
    owner = make.user(Role.REVIEWER)
    db.session.commit()
    attacker = _from(app, "198.51.100.1")
    for _ in range(5):
        _login(attacker, owner.email, "fel")
    assert _login(attacker, owner.email, PASSWORD).status_code == 429
    assert _login(attacker, "en.annan@kommun.example", "fel").status_code == 401


# --- item 6: TOTP -------------------------------------------------------------------------


@pytest.fixture
def two_factor_user(make):
    user = make.user(Role.REVIEWER)
    user.totp_secret = pyotp.random_base32()
    db.session.commit()
    return user


def _code_step(client, user, code: str):
    step = _login(client, user.email, PASSWORD)
    assert "/logga-in/kod" in step.location
    return client.post("/logga-in/kod", data={"code": code})


def test_a_code_works_once(app, two_factor_user):
    code = pyotp.TOTP(two_factor_user.totp_secret).now()
    first = _from(app, "192.0.2.1")
    assert _code_step(first, two_factor_user, code).status_code == 302
    # The same code again, from the same or another client, within its 30 seconds.
    for address in ("192.0.2.1", "192.0.2.2"):
        assert _code_step(_from(app, address), two_factor_user, code).status_code == 401


def test_an_older_code_after_a_newer_one_is_refused(app, two_factor_user):
    totp = pyotp.TOTP(two_factor_user.totp_secret)
    newer, older = totp.at(time.time() + 30), totp.at(time.time() - 30)
    assert _code_step(_from(app, "192.0.2.1"), two_factor_user, newer).status_code == 302
    assert _code_step(_from(app, "192.0.2.2"), two_factor_user, older).status_code == 401


@pytest.mark.parametrize("current", ["", "fel lösenord", PASSWORD.upper()])
def test_the_second_factor_cannot_be_replaced_without_the_password(app, two_factor_user, current):
    client = _from(app, "192.0.2.1")
    _code_step(client, two_factor_user, pyotp.TOTP(two_factor_user.totp_secret).now())
    old_secret = two_factor_user.totp_secret
    assert client.get("/konto/tvafaktor").status_code == 200
    candidate = db.session.get(User, two_factor_user.id).totp_pending_secret
    response = client.post(
        "/konto/tvafaktor", data={"current": current, "code": pyotp.TOTP(candidate).now()}
    )
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(User, two_factor_user.id).totp_secret == old_secret


def test_the_second_factor_is_replaced_with_the_password(app, two_factor_user):
    client = _from(app, "192.0.2.1")
    _code_step(client, two_factor_user, pyotp.TOTP(two_factor_user.totp_secret).now())
    client.get("/konto/tvafaktor")
    candidate = db.session.get(User, two_factor_user.id).totp_pending_secret
    response = client.post(
        "/konto/tvafaktor", data={"current": PASSWORD, "code": pyotp.TOTP(candidate).now()}
    )
    assert response.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, two_factor_user.id)
    assert user.totp_secret == candidate and user.totp_pending_secret is None
    assert (
        db.session.scalar(db.select(AuditEvent).filter_by(action="auth.totp_replaced")) is not None
    )


def test_the_secret_being_set_up_is_not_in_the_session_cookie(app, make):
    user = make.user(Role.REVIEWER)
    db.session.commit()
    client = _from(app, "192.0.2.1")
    _login(client, user.email, PASSWORD)
    page = client.get("/konto/tvafaktor")
    secret = db.session.get(User, user.id).totp_pending_secret
    assert secret and secret in page.get_data(as_text=True)  # shown once, on the page
    cookie = client.get_cookie("session", domain="insyn.test").value
    from itsdangerous import URLSafeTimedSerializer

    serializer = URLSafeTimedSerializer(
        app.config["SECRET_KEY"],
        salt="cookie-session",
        signer_kwargs={"key_derivation": "hmac", "digest_method": __import__("hashlib").sha1},
    )
    content = serializer.loads(cookie)
    assert secret not in repr(content)
    assert secret.lower() not in cookie.lower()


# --- item 9 (and 6): the current-password checks are rate-limited -----------------------


@pytest.mark.parametrize(
    ("path", "data"),
    [
        (
            "/konto/losenord",
            {
                "current": "fel",
                "password": "Ett nytt långt lösen 9",
                "confirm": "Ett nytt långt lösen 9",
            },
        ),
        ("/konto/tvafaktor", {"current": "fel", "code": "123456"}),
    ],
)
def test_current_password_checks_are_limited_per_user(app, make, path, data):
    user = make.user(Role.REVIEWER)
    db.session.commit()
    client = _from(app, "192.0.2.1")
    _login(client, user.email, PASSWORD)
    for _ in range(10):
        assert client.post(path, data=data).status_code == 200
    limited = client.post(path, data=data)
    assert limited.status_code == 429
    assert limited.headers.get("Retry-After")
    # From another client the same user is still limited (the key is the user).
    other = _from(app, "192.0.2.99")
    _login(other, user.email, PASSWORD)
    assert other.post(path, data=data).status_code == 429
