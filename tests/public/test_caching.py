"""HTTP caching: ETag and Last-Modified on pages, API and feed; 304 on revalidation; a
change of what is published changes the validators."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.extensions import db


def fetch(client, url: str, **headers):
    """GET and read the whole body (streamed CSV responses end their context when read)."""
    response = client.get(url, headers=headers)
    response.get_data()
    return response


@pytest.fixture
def urls(make, w):
    p = make.publication(w, title="Cachad")
    db.session.commit()
    request_id = p.submission.request_id
    return [
        "/",
        "/sok",
        "/sok?q=cachad",
        f"/publicerat/{p.id}",
        "/utforare",
        f"/utforare/{w.org_a.id}",
        "/jamfor",
        f"/jamfor/{request_id}",
        f"/jamfor/{request_id}.csv",
        "/om",
        "/tillganglighet",
        "/oppna-data",
        "/flode.atom",
        "/api/v1/publications",
        f"/api/v1/publications/{p.id}",
        "/api/v1/providers",
        f"/api/v1/providers/{w.org_a.id}",
        f"/api/v1/comparisons/{request_id}",
        "/api/v1/openapi.json",
        "/api/v1/publications.csv",
        "/api/v1/providers.csv",
        f"/api/v1/comparisons/{request_id}.csv",
    ]


def test_every_public_response_revalidates_with_etag(client, urls):
    for url in urls:
        first = fetch(client, url)
        assert first.status_code == 200, url
        etag = first.headers.get("ETag")
        assert etag, url
        again = fetch(client, url, **{"If-None-Match": etag})
        assert again.status_code == 304, url
        assert again.data == b"", url
        assert again.headers["ETag"] == etag


def test_last_modified_and_if_modified_since(client, urls):
    for url in urls:
        first = fetch(client, url)
        if url in ("/om", "/tillganglighet", "/oppna-data", "/api/v1/openapi.json"):
            continue  # static text: an ETag only
        last_modified = first.headers.get("Last-Modified")
        assert last_modified, url
        assert fetch(client, url, **{"If-Modified-Since": last_modified}).status_code == 304
        older = (first.last_modified - timedelta(seconds=5)).strftime("%a, %d %b %Y %H:%M:%S GMT")
        assert fetch(client, url, **{"If-Modified-Since": older}).status_code == 200, url


def test_a_new_publication_changes_the_validators(client, make, w, urls):
    before = {
        url: client.get(url).headers["ETag"]
        for url in ("/", "/sok", "/flode.atom", "/api/v1/publications")
    }
    make.publication(w, title="Nyare")
    for url, etag in before.items():
        response = client.get(url, headers={"If-None-Match": etag})
        assert response.status_code == 200, url
        assert response.headers["ETag"] != etag
        assert "Nyare" in response.get_data(as_text=True)


def test_language_is_part_of_the_representation(client, urls):
    swedish = client.get("/om")
    english = client.get("/om?lang=en")
    assert english.headers["ETag"] != swedish.headers["ETag"]
    assert (
        client.get("/om?lang=en", headers={"If-None-Match": swedish.headers["ETag"]}).status_code
        == 200
    )


def test_cache_control(client, make, w, urls):
    assert client.get("/api/v1/publications").headers["Cache-Control"] == "public, max-age=60"
    assert client.get("/flode.atom").headers["Cache-Control"] == "public, max-age=60"
    # Pages are revalidated every time; a logged-in user's are never stored.
    assert client.get("/sok").headers["Cache-Control"] == "no-cache"
    client.login(w.publisher)
    assert client.get("/sok").headers["Cache-Control"] == "no-store"
