"""No absolute URL may come from the request's Host (issue 10, item 1).

Every link the portal hands out (mail, feed, API, .docx, CSV, pages) is built on
``PORTAL_BASE_URL``; production refuses hosts that are not configured; X-Forwarded-*
headers count only through ProxyFix with a configured number of hops.
"""

from __future__ import annotations

import io
import time
import zipfile

import pytest
import sqlalchemy as sa

from portal import config as portal_config
from portal.extensions import db
from portal.models import OutboundMail, Role
from tests.conftest import FormClient
from tests.security.conftest import ROLES, client_for, url_for_rule

FORGED = "evil.example"
# The ways a client can try to make the app believe it is reached under another name.
FORGED_HEADERS = [
    {"Host": FORGED},
    {"Host": f"{FORGED}:443"},
    {"Host": f"{FORGED}:80"},
    {"Host": "EVIL.example"},
    {"Host": "insyn.test", "X-Forwarded-Host": FORGED},
    {"Host": "insyn.test", "X-Forwarded-Host": FORGED, "X-Forwarded-Proto": "https"},
    {"Host": "insyn.test", "Forwarded": f"host={FORGED};proto=https"},
    {"Host": "insyn.test", "X-Original-Host": FORGED, "X-Host": FORGED},
]


def _as_browser(client, headers: dict) -> dict:
    """``headers``, with the client's session cookie also given to the forged host: the
    test client sends a cookie only to the host it came from, and a forged Host would
    otherwise test a logged-out visit."""
    cookie = client.get_cookie("session", domain="insyn.test")
    if cookie is not None:
        client.set_cookie("session", cookie.value, domain=FORGED)
    return headers


def _readable(response) -> str:
    """The response's headers and body as text; the text inside a .docx (a zip) too."""
    body = response.get_data()
    text = body.decode("utf-8", "replace")
    if body.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(body)) as docx:
            text = " ".join(docx.read(n).decode("utf-8", "replace") for n in docx.namelist())
    return f"{response.headers}\n{text}".lower()


def _get_rules(app):
    return sorted(
        (r for r in app.url_map.iter_rules() if "GET" in r.methods and r.endpoint != "static"),
        key=lambda r: r.rule,
    )


@pytest.mark.parametrize("role", ROLES)
def test_no_page_of_any_role_echoes_a_forged_host(app, world, role):
    """Every GET route, as every role, with a forged Host and X-Forwarded-Host."""
    client = client_for(app, world, role)
    seen = signed_in = 0
    for rule in _get_rules(app):
        url = url_for_rule(rule, world.own)
        for headers in (FORGED_HEADERS[0], FORGED_HEADERS[4]):
            response = client.get(url, headers=_as_browser(client, headers))
            assert FORGED not in _readable(response), (role, url, headers)
            seen += 1
            private = rule.endpoint.startswith(("admin.", "provider."))
            signed_in += private and response.status_code == 200
    assert seen > 100
    if role != "anonymous":  # the forged requests carried the login: its pages answered
        assert signed_in > 10


@pytest.mark.parametrize("headers", FORGED_HEADERS)
def test_public_links_and_api_links_use_the_base_url(app, world, headers):
    client = app.test_client()
    pages = [
        "/api/v1/",
        "/api/v1/publications?per_page=1&page=1",
        "/api/v1/providers?per_page=1",
        f"/api/v1/publications/{world.own['publication_id']}",
        f"/api/v1/comparisons/{world.own['request_id']}",
        "/api/v1/publications.csv",
        f"/jamfor/{world.own['request_id']}.csv",
        "/flode.atom",
        "/flode.atom?q=Publicerad",
        f"/publicerat/{world.own['publication_id']}",
    ]
    for url in pages:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, url
        text = _readable(response)
        assert FORGED not in text, (url, headers)
    index = client.get("/api/v1/", headers=headers).get_json()
    assert index["publications"] == "http://insyn.test/api/v1/publications"
    links = client.get("/api/v1/publications?per_page=1", headers=headers).get_json()["links"]
    assert links["self"].startswith("http://insyn.test/api/v1/publications?")


def _sent_mails(after_id: int = 0) -> list[OutboundMail]:
    """The outbox after ``after_id``, once sent (the reset mail goes from a background
    thread, which must not outlive the test)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        db.session.expire_all()
        mails = db.session.scalars(sa.select(OutboundMail).where(OutboundMail.id > after_id)).all()
        if mails and all(m.sent_at is not None for m in mails):
            break
        time.sleep(0.05)
    return mails


@pytest.mark.parametrize("headers", FORGED_HEADERS)
def test_password_reset_mail_links_to_the_base_url(app, client, make, headers):
    user = make.user(Role.REVIEWER)
    db.session.commit()
    token = client.csrf_token()
    response = client.post(
        "/glomt-losenord",
        data={"email": user.email, "csrf_token": token},
        headers=_as_browser(client, headers),
    )
    assert response.status_code == 302
    assert FORGED not in response.headers.get("Location", "")
    (mail,) = _sent_mails()
    assert FORGED not in mail.body.lower()
    assert "http://insyn.test/aterstall/" in mail.body


def test_every_mail_sent_while_forging_links_to_the_base_url(app, world):
    """The pages that send mail (an invitation, a password reset) with a forged Host: every
    mail in the outbox links to the base URL."""
    before = db.session.scalar(sa.func.max(OutboundMail.id).select()) or 0
    admin_a = app.test_client()
    admin_a.login(world.admin_a)
    token = admin_a.csrf_token()
    invited = admin_a.post(
        "/utforare/organisation/bjud-in",
        data={
            "email": "ny.kollega@utforare.example",
            "name": "Ny Kollega",
            "role": Role.PROVIDER_USER.value,
            "csrf_token": token,
        },
        headers=_as_browser(admin_a, {"Host": FORGED}),
    )
    assert invited.status_code == 303
    anonymous = app.test_client()
    token = anonymous.csrf_token()
    reset = anonymous.post(
        "/glomt-losenord",
        data={"email": world.reviewer_x.email, "csrf_token": token},
        headers=_as_browser(anonymous, {"Host": FORGED}),
    )
    assert reset.status_code == 302
    mails = _sent_mails(before)
    assert len(mails) == 2
    for mail in mails:
        assert FORGED not in mail.body.lower(), mail.subject
        assert "http://insyn.test/" in mail.body, mail.subject


def test_production_answers_only_for_its_configured_hosts(app_config):
    settings = portal_config.from_environment(
        "/nonexistent",
        {
            "PORTAL_ENV": "production",
            "PORTAL_SECRET_KEY": "k" * 32,
            "PORTAL_CLAMD_URL": "tcp://127.0.0.1:3310",
            "PORTAL_JOBS_URL": "redis://127.0.0.1:6379/1",
            "PORTAL_BASE_URL": "https://insyn.nacka.se",
            "PORTAL_TRUSTED_HOSTS": "insyn.example, intern.nacka.se",
        },
    )
    assert settings["TRUSTED_HOSTS"] == ["insyn.nacka.se", "insyn.example", "intern.nacka.se"]
    development = portal_config.from_environment("/nonexistent", {})
    assert development["TRUSTED_HOSTS"] is None
    with pytest.raises(portal_config.ConfigError):
        portal_config.from_environment("/nonexistent", {"PORTAL_BASE_URL": "insyn.nacka.se"})


@pytest.fixture
def trusted_app(app, app_config):  # ``app`` makes the tests' municipality
    from portal import create_app

    app_config["TRUSTED_HOSTS"] = ["insyn.test"]
    app = create_app(app_config)
    app.test_client_class = FormClient
    with app.app_context():
        yield app
        db.session.remove()


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Host": "insyn.test"}, 200),
        ({"Host": "insyn.test:443"}, 200),
        ({"Host": FORGED}, 400),
        ({"Host": f"{FORGED}:443"}, 400),
        ({"Host": f"insyn.test.{FORGED}"}, 400),
        ({"Host": f"{FORGED}#insyn.test"}, 400),
        # Without ProxyFix the forwarded host is not even read.
        ({"Host": "insyn.test", "X-Forwarded-Host": FORGED}, 200),
    ],
)
def test_trusted_hosts_refuse_other_names(trusted_app, headers, status):
    response = trusted_app.test_client().get("/api/v1/", headers=headers)
    assert response.status_code == status
    assert FORGED not in response.get_data(as_text=True)


@pytest.fixture
def proxied_app(app, app_config):  # ``app`` makes the tests' municipality
    from portal import create_app

    app_config.update(TRUSTED_HOSTS=["insyn.test"], PROXY_HOPS=1, RATELIMIT_ENABLED=True)
    app = create_app(app_config)
    app.test_client_class = FormClient
    with app.app_context():
        yield app
        db.session.remove()


def test_behind_one_proxy_the_scheme_is_read_and_the_forwarded_host_is_not(proxied_app):
    client = proxied_app.test_client()
    for forged in (FORGED, "insyn.test"):
        response = client.get(
            "/api/v1/", headers={"X-Forwarded-Host": forged, "X-Forwarded-Proto": "https"}
        )
        assert response.status_code == 200
        assert response.get_json()["publications"] == "http://insyn.test/api/v1/publications"
    assert client.get("/api/v1/", headers={"Host": FORGED}).status_code == 400


def test_behind_one_proxy_the_client_is_the_address_the_proxy_saw(proxied_app):
    """Rate limits key on the client: behind one proxy that is the last X-Forwarded-For
    entry; what a client writes in front of it changes nothing."""
    client = proxied_app.test_client()

    def guess(n: int, forwarded_for: str):
        return client.post(
            "/logga-in",
            data={"email": f"gissning{n}@kommun.example", "password": "x" * 12},
            headers={"X-Forwarded-For": forwarded_for},
            environ_base={"REMOTE_ADDR": "10.0.0.2"},
        )

    for n in range(20):
        assert guess(n, f"203.0.113.{n}, 198.51.100.7").status_code == 401
    assert guess(99, "203.0.113.200, 198.51.100.7").status_code == 429
    assert guess(99, "198.51.100.8").status_code == 401
