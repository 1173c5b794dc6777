"""Security headers on every kind of answer: pages, the API, feeds, downloads and error
pages; HSTS and Secure cookies in the production configuration.
(tests/test_foundation.py::test_security_headers checks the front page in development.)"""

from __future__ import annotations

import re

import pytest

from portal import create_app
from tests.security.conftest import client_for


def assert_safe_headers(response, what: str) -> None:
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    assert csp, f"{what}: no Content-Security-Policy"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, f"{what}: {csp}"
    assert "frame-ancestors 'none'" in csp, f"{what}: {csp}"
    assert headers.get("X-Content-Type-Options") == "nosniff", what
    assert headers.get("Referrer-Policy") in (
        "no-referrer",
        "same-origin",
        "strict-origin",
        "strict-origin-when-cross-origin",
    ), what


def test_pages_api_feeds_downloads_and_errors(app, world):
    own, foreign = world.own, world.foreign
    anonymous = app.test_client()
    provider = client_for(app, world, "user_a")
    reviewer = client_for(app, world, "reviewer_x")
    calls = {
        "front page": (anonymous, "GET", "/"),
        "search": (anonymous, "GET", "/sok?q=Publicerad"),
        "publication": (anonymous, "GET", f"/publicerat/{own['publication_id']}"),
        "API list": (anonymous, "GET", "/api/v1/publications"),
        "API document": (anonymous, "GET", "/api/v1/openapi.json"),
        "API CSV": (anonymous, "GET", "/api/v1/publications.csv"),
        "API 404": (anonymous, "GET", "/api/v1/publications/999999"),
        "Atom feed": (anonymous, "GET", "/flode.atom"),
        "public download (PDF)": (
            anonymous,
            "GET",
            f"/publicerat/{own['publication_id']}/dokument/{own['document_id']}",
        ),
        "provider download (PDF)": (provider, "GET", f"/utforare/filer/{own['attachment_id']}"),
        "staff download (DOCX)": (reviewer, "GET", f"/handlaggare/bilagor/{_docx(world)}"),
        "staff page": (reviewer, "GET", "/handlaggare/arenden"),
        "provider page": (provider, "GET", "/utforare/arenden"),
        "request letter": (
            reviewer,
            "GET",
            f"/handlaggare/begaranden/{own['request_id']}/brev.docx",
        ),
        "404 page": (anonymous, "GET", "/finns-inte"),
        "foreign object (404)": (provider, "GET", f"/utforare/arenden/{foreign['submission_id']}"),
        "405 page": (anonymous, "POST", "/om"),
        "CSRF refusal (400)": (anonymous, "POST", "/logga-in"),
        "login redirect": (anonymous, "GET", "/handlaggare/"),
        "static file": (anonymous, "GET", "/static/css/insyn.css"),
    }
    statuses = {}
    for what, (client, method, url) in calls.items():
        response = client.open(url, method=method)
        response.get_data()
        statuses[what] = response.status_code
        assert_safe_headers(response, what)
        assert response.status_code < 500, what
    assert statuses["404 page"] == 404 and statuses["405 page"] == 405
    assert statuses["CSRF refusal (400)"] == 400 and statuses["login redirect"] == 302
    assert all(statuses[k] == 200 for k in calls if "download" in k or k.startswith("API l"))
    assert "Strict-Transport-Security" not in response.headers  # development


def _docx(world) -> int:
    from portal.extensions import db
    from portal.models import Submission

    approved = db.session.get(Submission, world.own["approved_id"])
    return approved.submitted_versions[0].attachments[0].id


def test_scripts_carry_the_page_nonce(client):
    response = client.get("/logga-in")
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    html = response.get_data(as_text=True)
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or f'nonce="{nonce}"' in tag, tag
    assert " style=" not in html and " onclick=" not in html
    other = client.get("/logga-in").headers["Content-Security-Policy"]
    assert nonce not in other, "a nonce is per response"


@pytest.fixture
def production_app(monkeypatch, app_config, tmp_path):
    """The app as PORTAL_ENV=production builds it; the scanner need not answer."""
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("PORTAL_SECRET_KEY", "a-long-random-production-secret-for-tests")
    monkeypatch.setenv("PORTAL_CLAMD_URL", "tcp://127.0.0.1:9")
    monkeypatch.setenv("PORTAL_JOBS_URL", "redis://127.0.0.1:6379/15")
    monkeypatch.setenv("PORTAL_BASE_URL", "https://insyn.test")  # its host is the trusted one
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "instance"))
    kept_from_environment = ("TESTING", "CLAMD_URL", "BASE_URL")
    return create_app({k: v for k, v in app_config.items() if k not in kept_from_environment})


def test_production_sends_hsts_and_secure_cookies(production_app, world):
    client = production_app.test_client()
    for url in ("/", "/api/v1/publications", "/flode.atom", "/finns-inte"):
        response = client.get(url, base_url="https://insyn.test")
        response.get_data()
        assert_safe_headers(response, url)
        hsts = response.headers.get("Strict-Transport-Security", "")
        assert "max-age=" in hsts and int(re.search(r"max-age=(\d+)", hsts).group(1)) >= 31536000
    page = client.get("/logga-in", base_url="https://insyn.test")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
    # Over HTTPS the CSRF check also wants a same-origin Referer, as a browser sends.
    response = client.post(
        "/logga-in",
        base_url="https://insyn.test",
        headers={"Referer": "https://insyn.test/logga-in"},
        data={
            "csrf_token": token.group(1),
            "email": world.user_a.email,
            "password": "Rätt-häst-batteri-häftklammer",
        },
    )
    assert response.status_code == 302, response.status_code
    cookies = [v for k, v in response.headers.items() if k == "Set-Cookie"]
    session = next(c for c in cookies if c.startswith("session="))
    flags = {part.strip().lower() for part in session.split(";")}
    assert {"httponly", "secure", "samesite=lax"} <= flags, session


def test_development_session_cookie_is_httponly_and_lax(app, world):
    client = app.test_client()
    response = client.login(world.user_a)
    session = next(
        v for k, v in response.headers.items() if k == "Set-Cookie" and v.startswith("session=")
    )
    flags = {part.strip().lower() for part in session.split(";")}
    assert {"httponly", "samesite=lax"} <= flags, session
