"""Two municipalities' public sites in one installation: each site (its own host name, or
its path prefix) shows its own publications only, in pages, search, facets, feed and API,
with its own name; the national start page lists both."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal import tenancy
from portal.extensions import db
from tests import factories
from tests.browser import AXE_OPTIONS
from tests.conftest import text_of

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "tenancy"
HOSTS = {"exempelby": "http://insyn.test", "provby": "http://provby.insyn.test"}


@pytest.fixture
def app_config(app_config):
    app_config["MUNICIPALITY_URLS"] = dict(HOSTS)
    app_config["BASE_URL"] = "http://riks.insyn.test"
    return app_config


@pytest.fixture
def published(app, other):
    """One publication in each municipality, with a word only it uses: {slug: id}."""
    made = {}
    for municipality, word in ((app.config["TEST_MUNICIPALITY_ID"], "Ekorre"), (other, "Lodjur")):
        db.session.commit()
        with tenancy.use(municipality):
            w = factories.world()
            made[word] = factories.publication(w, answers={1: word}, title=f"Om {word}").id
            db.session.commit()
    return made


def _get(client, base: str, path: str):
    return client.get(base + path)


@pytest.mark.parametrize(
    "site",
    [
        ("exempelby", "http://insyn.test", "Ekorre", "Lodjur"),
        ("provby", "http://provby.insyn.test", "Lodjur", "Ekorre"),
        ("provby", "http://riks.insyn.test/provby", "Lodjur", "Ekorre"),
    ],
    ids=["own host", "second host", "path prefix"],
)
def test_each_site_shows_its_own_publications_only(app, published, site):
    slug, base, mine, theirs = site
    client = app.test_client()
    name = {"exempelby": "Exempelby kommun", "provby": "Provby kommun"}[slug]
    # Marked by one word each (ASCII: the API's JSON escapes the rest).
    for path in ("/", "/sok", f"/sok?q={mine}", "/flode.atom", "/api/v1/publications"):
        response = _get(client, base, path)
        assert response.status_code == 200, path
        text = response.get_data(as_text=True)
        assert mine in text and theirs not in text, path
    assert name in text_of(_get(client, base, "/"))
    assert f"Om {theirs}" not in _get(client, base, f"/sok?q={theirs}").get_data(as_text=True)
    own, foreign = published[mine], published[theirs]
    assert _get(client, base, f"/publicerat/{own}").status_code == 200
    assert _get(client, base, f"/publicerat/{foreign}").status_code == 404
    assert _get(client, base, f"/api/v1/publications/{foreign}").status_code == 404
    api = _get(client, base, "/api/v1/publications").get_json()
    assert all(item["url"].startswith(HOSTS[slug]) for item in api["items"]), api


def test_a_prefix_without_a_slash_is_redirected_and_an_unknown_one_is_404(app, other):
    client = app.test_client()
    moved = client.get("http://riks.insyn.test/provby?q=x")
    assert moved.status_code == 308 and moved.headers["Location"].endswith("/provby/?q=x")
    assert client.get("http://riks.insyn.test/okandby/sok").status_code == 404


def test_links_on_a_prefixed_site_keep_the_prefix(app, published):
    page = app.test_client().get("http://riks.insyn.test/provby/sok").get_data(as_text=True)
    assert 'href="/provby/publicerat/' in page
    assert 'href="/publicerat/' not in page


def test_the_national_site_lists_the_municipalities_and_has_no_municipal_pages(app, other):
    client = app.test_client()
    page = client.get("http://riks.insyn.test/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'href="http://insyn.test/"' in text and 'href="http://provby.insyn.test/"' in text
    assert "Exempelby kommun" in text and "Provby kommun" in text
    for path in ("/sok", "/utforare", "/api/v1/publications", "/handlaggare/", "/logga-in"):
        assert client.get("http://riks.insyn.test" + path).status_code == 404, path
    assert client.get("http://riks.insyn.test/om").status_code == 200


def test_the_national_start_page_passes_axe(app, other, server, browser, axe):
    national = server.rsplit("/", 1)[0] + "/"  # the served host is not a municipality's
    page = browser.new_page()
    page.goto(national)
    assert page.get_by_role("link", name="Provby kommun").count() == 1
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "national.png"), full_page=True)
    results = axe.run(page, options=AXE_OPTIONS)
    assert len(results.response["passes"]) > 10
    assert not results.violations_count, results.generate_report()
