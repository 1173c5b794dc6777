"""Atom feeds: well-formed XML with what RFC 4287 requires, the right entries (overall and
per provider, service area and committee), withdrawn ones as tombstones only, and the
pages point to their feeds with <link rel="alternate">."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from lxml import etree

from portal import workflow
from portal.extensions import db

NS = {"a": "http://www.w3.org/2005/Atom", "at": "http://purl.org/atompub/tombstones/1.0"}
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def parse(response) -> etree._Element:
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    root = etree.fromstring(response.data)  # raises on anything that is not well-formed XML
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    return root


def check_rfc4287(feed: etree._Element) -> None:
    """The feed-level and entry-level requirements of RFC 4287 section 4.1."""
    for name in ("id", "title", "updated"):
        assert len(feed.findall(f"a:{name}", NS)) == 1, name
    assert feed.find("a:author/a:name", NS).text
    assert feed.find("a:link[@rel='self']", NS).get("href").startswith("http://insyn.test/")
    assert RFC3339.match(feed.findtext("a:updated", namespaces=NS))
    for entry in feed.findall("a:entry", NS):
        for name in ("id", "title", "updated"):
            assert len(entry.findall(f"a:{name}", NS)) == 1, name
        assert RFC3339.match(entry.findtext("a:updated", namespaces=NS))
        assert RFC3339.match(entry.findtext("a:published", namespaces=NS))
        assert entry.find("a:link[@rel='alternate']", NS).get("href").startswith("http://")
        assert entry.find("a:author/a:name", NS).text


def entry_titles(feed) -> list[str]:
    return [e.findtext("a:title", namespaces=NS) for e in feed.findall("a:entry", NS)]


@pytest.fixture
def published(make, w):
    first = make.publication(w, title="Första <rapporten> & mer", summary="Om kvalitet.")
    first.published_at = datetime(2026, 1, 10, tzinfo=UTC)
    second = make.publication(w, w.org_b, area=w.area_y, title="Simhallens redovisning")
    second.published_at = datetime(2026, 2, 10, tzinfo=UTC)
    gone = make.publication(w, title="Återkallad rapport")
    workflow.withdraw_publication(gone, w.publisher, "Publicerades av misstag")
    db.session.commit()
    return {"first": first, "second": second, "gone": gone}


def test_overall_feed_is_valid_atom_with_the_published_entries(client, published):
    feed = parse(client.get("/flode.atom"))
    check_rfc4287(feed)
    assert entry_titles(feed) == ["Simhallens redovisning", "Första <rapporten> & mer"]
    first = feed.find("a:entry", NS)
    assert (
        first.findtext("a:id", namespaces=NS)
        == f"http://insyn.test/publicerat/{published['second'].id}"
    )
    assert first.findtext("a:author/a:name", namespaces=NS) == "Org B AB"
    assert {c.get("term") for c in first.findall("a:category", NS)} >= {"transparency_info"}
    changes = [e.findtext("a:updated", namespaces=NS) for e in feed.findall("a:entry", NS)]
    changes += [t.get("when") for t in feed.findall("at:deleted-entry", NS)]
    assert feed.findtext("a:updated", namespaces=NS) == max(changes)


def test_withdrawn_publications_are_tombstones_not_entries(client, published):
    response = client.get("/flode.atom")
    feed = parse(response)
    assert "Återkallad rapport" not in response.get_data(as_text=True)
    (tombstone,) = feed.findall("at:deleted-entry", NS)
    assert tombstone.get("ref") == f"http://insyn.test/publicerat/{published['gone'].id}"
    assert RFC3339.match(tombstone.get("when"))
    assert tombstone.findtext("at:comment", namespaces=NS) == "Publicerades av misstag"


@pytest.mark.parametrize(
    ("param", "attr", "expected"),
    [
        ("provider", "org_b", ["Simhallens redovisning"]),
        ("service_area", "area_x", ["Första <rapporten> & mer"]),
        ("committee", "committee_y", ["Simhallens redovisning"]),
    ],
)
def test_feeds_per_provider_service_area_and_committee(client, w, published, param, attr, expected):
    obj = getattr(w, attr)
    feed = parse(client.get(f"/flode.atom?{param}={obj.id}"))
    check_rfc4287(feed)
    assert entry_titles(feed) == expected
    assert obj.name in feed.findtext("a:title", namespaces=NS)
    assert (
        feed.find("a:link[@rel='self']", NS).get("href")
        == f"http://insyn.test/flode.atom?{param}={obj.id}"
    )


def test_empty_feed_is_still_valid(client, w):
    feed = parse(client.get("/flode.atom"))
    check_rfc4287(feed)
    assert entry_titles(feed) == []


def test_feed_refuses_malformed_filters(client, w):
    response = client.get("/flode.atom?provider=abc")
    assert response.status_code == 400
    assert "provider" in response.get_data(as_text=True)


def alternates(response) -> list[tuple[str, str]]:
    html = response.get_data(as_text=True)
    return re.findall(r'<link rel="alternate" type="([^"]+)" href="([^"]+)"', html)


def test_pages_link_to_their_feeds(client, w, published):
    assert ("application/atom+xml", "/flode.atom") in alternates(client.get("/"))
    assert ("application/atom+xml", f"/flode.atom?provider={w.org_b.id}") in alternates(
        client.get(f"/utforare/{w.org_b.id}")
    )
    assert ("application/atom+xml", f"/flode.atom?service_area={w.area_x.id}") in alternates(
        client.get(f"/sok?service_area={w.area_x.id}")
    )
    assert ("application/atom+xml", f"/flode.atom?committee={w.committee_y.id}") in alternates(
        client.get(f"/sok?committee={w.committee_y.id}")
    )
    assert ("application/atom+xml", f"/flode.atom?provider={w.org_a.id}") in alternates(
        client.get(f"/publicerat/{published['first'].id}")
    )
    # Each alternate feed is itself a valid feed.
    for _type, href in alternates(client.get(f"/utforare/{w.org_b.id}")):
        if _type == "application/atom+xml":
            check_rfc4287(parse(client.get(href)))
