"""Every next/return parameter stays on this site, read the way a browser reads it; pages
that repeat their query string pass on only plain query names (issue 10, items 2 and 11)."""

from __future__ import annotations

import re
from urllib.parse import quote, urljoin, urlsplit

import pytest

from portal.auth import two_factor
from portal.extensions import db
from portal.models import Role
from portal.urls import safe_redirect_target
from tests.factories import PASSWORD

# Values of ?next= that a browser would follow off the site, as typed (quoted below) and
# as raw query text (already percent-encoded, the way they arrive in a link).
OFFSITE = [
    "//evil.example",
    "///evil.example",
    "////evil.example/x",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    " //evil.example",
    "\x00//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\\/evil.example",
    "https://evil.example",
    "HTTPS://evil.example/",
    "http:evil.example",
    "http:/evil.example",
    "//evil.example@insyn.test",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
]
# Line breaks: a browser drops them, so these stay on this site, but must never split the
# Location header or answer 500.
INJECTION = ["/\r\nSet-Cookie: injected=1", "/x\r\nLocation: //evil.example"]
OFFSITE_RAW = [
    "/%09/evil.example",
    "/%0a/evil.example",
    "/%0d%0a/evil.example",
    "%2F%2Fevil.example",
    "/%5Cevil.example",
    "%5C%5Cevil.example",
    "%09//evil.example",
]
INJECTION_RAW = ["/%0d%0aSet-Cookie:%20injected=1", "%0d%0aLocation:%20//evil.example"]
ONSITE = ["/handlaggare/", "/sok?q=hemtj%C3%A4nst&page=2", "/publicerat/1#bilagor"]


def _followed_to(location: str) -> str | None:
    """The host a browser goes to for ``location`` on http://insyn.test/."""
    as_browser = re.sub(r"[\t\n\r]", "", location).strip().replace("\\", "/")
    return urlsplit(urljoin("http://insyn.test/login", as_browser)).hostname


def _query_values(typed=OFFSITE, raw=OFFSITE_RAW):
    yield from (quote(v, safe="") for v in typed)
    yield from raw


def _injections():
    return list(_query_values(INJECTION, INJECTION_RAW))


@pytest.mark.parametrize("value", OFFSITE)
def test_the_helper_refuses_every_offsite_spelling(value):
    assert safe_redirect_target(value, "/default") == "/default"


@pytest.mark.parametrize("value", ["/", "/handlaggare/arenden?status=alla", "/a/b#c", "/%2F"])
def test_the_helper_keeps_paths_on_this_site(value):
    assert safe_redirect_target(value, "/default") == value


@pytest.mark.parametrize("raw", list(_query_values()))
def test_login_never_sends_anyone_off_site(app, client, make, raw):
    user = make.user(Role.REVIEWER)
    db.session.commit()
    response = client.post(
        f"/logga-in?next={raw}", data={"email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert _followed_to(response.headers["Location"]) in (None, "insyn.test")
    assert "injected" not in str(response.headers.get("Set-Cookie"))
    assert response.headers["Location"].endswith("/handlaggare/")


@pytest.mark.parametrize("raw", list(_query_values()))
def test_language_switch_never_sends_anyone_off_site(client, raw):
    response = client.post(f"/sprak/en?next={raw}", data={})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("raw", [*list(_query_values())[::3], "%2F%2Fevil.example"])
def test_the_two_factor_step_never_sends_anyone_off_site(app, client, make, raw):
    user = make.user(Role.REVIEWER)
    user.totp_secret = two_factor.pyotp.random_base32()
    db.session.commit()
    step = client.post(f"/logga-in?next={raw}", data={"email": user.email, "password": PASSWORD})
    assert step.status_code == 302 and "/logga-in/kod" in step.headers["Location"]
    assert _followed_to(step.headers["Location"]) in (None, "insyn.test")
    code = two_factor.pyotp.TOTP(user.totp_secret).now()
    done = client.post(step.headers["Location"], data={"code": code})
    assert done.status_code == 302
    assert done.headers["Location"].endswith("/handlaggare/")


@pytest.mark.parametrize("raw", _injections())
def test_line_breaks_in_next_split_no_header(app, client, make, raw):
    user = make.user(Role.REVIEWER)
    db.session.commit()
    for response in (
        client.post(f"/sprak/en?next={raw}", data={}),
        client.post(f"/logga-in?next={raw}", data={"email": user.email, "password": PASSWORD}),
    ):
        assert response.status_code == 302
        assert "injected" not in str(response.headers.getlist("Set-Cookie"))
        assert len(response.headers.getlist("Location")) == 1
        assert _followed_to(response.headers["Location"]) in (None, "insyn.test")
        assert not re.search(r"[\r\n]", response.headers["Location"])


@pytest.mark.parametrize("target", ONSITE)
def test_login_follows_next_on_this_site(app, client, make, target):
    user = make.user(Role.REVIEWER)
    db.session.commit()
    response = client.post(
        f"/logga-in?next={quote(target, safe='')}",
        data={"email": user.email, "password": PASSWORD},
    )
    assert response.headers["Location"] == target


# --- url_with: the page's own links ------------------------------------------------------

SPECIAL = "_external=1&_scheme=javascript&_anchor=evil&_method=POST&_x=1"


def _links(response) -> list[str]:
    return re.findall(r'href="([^"]*)"', response.get_data(as_text=True))


@pytest.mark.parametrize(
    "path",
    ["/sok?q=svar&" + SPECIAL, "/sok?" + SPECIAL + "&page=2", "/utforare?" + SPECIAL],
)
def test_public_links_carry_no_url_for_options(client, make, path):
    w = make.world()
    make.publication(w, title="Svar om hemtjänst")
    response = client.get(path)
    assert response.status_code == 200
    for link in _links(response):
        assert "javascript" not in link and "evil" not in link and "_x=" not in link, link
        assert not link.startswith(("http:", "https:", "//")) or "insyn.test" in link


def test_staff_list_links_carry_no_url_for_options(app, client, make):
    reviewer = make.user(Role.ADMIN)
    db.session.commit()
    client.login(reviewer)
    for path in ("/handlaggare/arenden?", "/handlaggare/utforare?", "/handlaggare/avtal?"):
        response = client.get(path + SPECIAL)
        assert response.status_code == 200, path
        for link in _links(response):
            assert "javascript" not in link and "evil" not in link and "_x=" not in link


def test_a_query_name_like_a_route_argument_is_not_a_500(client, make):
    w = make.world()
    publication = make.publication(w)
    for path in (
        f"/publicerat/{publication.id}?publication_id=999",
        f"/utforare/{w.org_a.id}?provider_id=1&page=2",
    ):
        assert client.get(path).status_code == 200, path
