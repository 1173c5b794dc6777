"""The public search index holds only what the public page shows (security review, issue
10, item 3), and public search is limited per client.

A publisher hides a name by retitling a deviation report, redacting an answer, publishing
a redacted copy of a file or leaving a file or an answer unpublished. No query finds the
hidden words afterwards: not the whole word, not a prefix of any length (which rebuilt a
name letter by letter), in no letter case, neither on the search page nor through the
API's ``q``, its CSV export or the Atom feed's ``q``, while the published words are found.
The compare pages have no text query; they show only published answers.

Then: every word of the index is on the public page, in the API or in a published file;
migration 0009 rebuilds rows indexed before; and a client past the public limit gets 429
with Retry-After while other clients go on.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from lxml import etree
from werkzeug.datastructures import FileStorage

from portal import config as portal_config
from portal import rate_limits, search, workflow
from portal.attachments import accept_upload
from portal.documents.text import extract_text
from portal.extensions import db
from portal.models import (
    Attachment,
    FieldType,
    Publication,
    PublishedDocument,
    RequestField,
    SubmissionKind,
)
from tests.conftest import text_of
from tests.pdfs import pdf_bytes
from tests.public.documents import make_docx

ROOT = Path(__file__).resolve().parents[2]
ATOM = {"a": "http://www.w3.org/2005/Atom"}


@pytest.fixture
def app_config(app_config, clamd_url):
    # Files are public (and indexed) only once a real scanner has passed them; the leak
    # tests ask hundreds of queries (the limit has a test of its own below).
    app_config.update(CLAMD_URL=clamd_url, PUBLIC_RATE_LIMIT="100000 per minute")
    return app_config


# --- asking every public channel ---------------------------------------------------------


def found(client, q: str) -> dict[str, list[str]]:
    """Titles that the query finds, per channel: search page, API, API CSV, Atom feed."""
    page = client.get("/sok", query_string={"q": q})
    assert page.status_code == 200, q
    html = page.get_data(as_text=True)
    api = client.get("/api/v1/publications", query_string={"q": q})
    assert api.status_code == 200, q
    exported = client.get("/api/v1/publications.csv", query_string={"q": q})
    assert exported.status_code == 200, q
    rows = csv.DictReader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff")))
    feed = client.get("/flode.atom", query_string={"q": q})
    assert feed.status_code == 200, q
    entries = etree.fromstring(feed.data).findall("a:entry", ATOM)
    return {
        "page": re.findall(r'<h3 class="result-title"><a href="[^"]+">([^<]+)</a>', html),
        "api": [p["title"] for p in api.get_json()["items"]],
        "csv": [row["title"] for row in rows],
        "feed": [e.findtext("a:title", namespaces=ATOM) for e in entries],
    }


def nowhere() -> dict[str, list[str]]:
    return {"page": [], "api": [], "csv": [], "feed": []}


def everywhere(title: str) -> dict[str, list[str]]:
    return {"page": [title], "api": [title], "csv": [title], "feed": [title]}


def words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.casefold()))


def public_words(client, publication: Publication) -> set[str]:
    """Every word the public can read of ``publication``: its page, its API entry and the
    text of its published files."""
    page = client.get(f"/publicerat/{publication.id}")
    assert page.status_code == 200
    detail = client.get(f"/api/v1/publications/{publication.id}").get_json()
    texts = [text_of(page), json.dumps(detail, ensure_ascii=False)]
    for document in detail["documents"]:
        download = client.get(document["url"].removeprefix("http://insyn.test"))
        assert download.status_code == 200
        texts.append(extract_text(io.BytesIO(download.data), document["content_type"]))
    return words(" ".join(texts))


def guesses(word: str) -> list[str]:
    """What someone trying to confirm or rebuild ``word`` would type."""
    return list(
        dict.fromkeys(
            [
                word,
                word.lower(),
                word.upper(),
                word[:3],
                word[:4].lower(),
                word[:6].upper(),
                word[:-1],
                f'"{word}"',
                f"{word}s",
                f"{word}*",
            ]
        )
    )


def assert_hidden(client, publication: Publication, hidden: list[str], shown: list[str]):
    """None of ``hidden`` can be found or confirmed in any channel; ``shown`` are found."""
    readable = public_words(client, publication)
    for word in hidden:
        # The premise: the page does not show it, nor any word a guess would also find.
        for guess in guesses(word):
            stem = re.sub(r"\W", "", guess).casefold()
            clash = sorted(w for w in readable if w.startswith(stem[:3]))
            assert not clash, f"test data: {guess!r} would find public words {clash}"
        for guess in guesses(word):
            assert found(client, guess) == nowhere(), f"{guess!r} finds the hidden {word!r}"
        # Nor does excluding it tell anything.
        assert found(client, f"{shown[0]} -{word}") == everywhere(publication.title), word
    for word in shown:
        assert word.casefold() in readable, f"test data: {word!r} is not public"
        for guess in (word, word.upper(), word[:5].lower()):
            assert found(client, guess) == everywhere(publication.title), guess


def assert_index_is_public(client, publication: Publication) -> None:
    db.session.refresh(publication)
    extra = words(publication.search_text) - public_words(client, publication)
    assert not extra, f"indexed but not public: {sorted(extra)}"


# --- what publishers hide ----------------------------------------------------------------


def staff(app, user):
    client = app.test_client()
    client.login(user)
    return client


def redacted_copy(original: Attachment, publisher, name: str, data: bytes) -> Attachment:
    upload = FileStorage(stream=io.BytesIO(data), filename=name)
    copy = accept_upload(upload, uploader=publisher, slot=f"redacted-{original.id}")
    workflow.attach_redacted_copy(original, copy, publisher)
    db.session.commit()
    return copy


@pytest.fixture
def retitled(app, make, w) -> Publication:
    """A deviation report published through the staff page: the provider's title named
    the person, the publisher wrote another; the account of what happened stays
    unpublished, the immediate measures are published in a redacted wording, the first
    file as a redacted copy, the second not at all."""
    report = make.report(
        SubmissionKind.DEVIATION_REPORT,
        w.org_a,
        w.committee_x,
        w.user_a,
        title="Fall hos Yngve Zetterqvist",
        service_area=w.area_x,
    )
    make.answered(
        report,
        w.reviewer_x,
        {
            "category": "deviation",
            "severity": "high",
            "occurred_on": "2026-03-02",
            "description": "Zetterqvist föll i badrummet, Hjalmarsson larmade.",
            "immediate_measures": "Läkare tillkallades till Vintergatan 4.",
        },
        files=[
            ("attachments", "anteckning-xylander.docx", make_docx("Anteckning om Fredriksdal.")),
            ("attachments", "qvarnstrom-bilaga.pdf", pdf_bytes("Bor pa Ostergardsgatan.")),
        ],
    )
    db.session.commit()
    first, second = report.submitted_versions[-1].attachments
    publisher = staff(app, w.publisher)
    url = f"/handlaggare/publicering/{report.id}"
    uploaded = publisher.post(
        f"{url}/bilagor/{first.id}/maskad",
        data={"file": (io.BytesIO(make_docx("Anteckning om [maskerat] boende.")), "maskad.docx")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 302
    published = publisher.post(
        url,
        data={
            "title": "Fallolycka i hemtjänsten",
            "summary": "Rutinerna för fallprevention ses över.",
            "answer": ["category", "severity", "immediate_measures"],
            "redacted-immediate_measures": "Läkare tillkallades.",
            "document": [str(first.id)],
            "action": "publish",
        },
    )
    assert published.status_code == 302, text_of(published)
    publication = db.session.scalar(sa.select(Publication).filter_by(submission_id=report.id))
    assert {d.attachment_id for d in publication.documents} == {first.id}
    assert second.id not in {d.attachment_id for d in publication.documents}
    return publication


RETITLED_HIDDEN = [
    "Yngve",  # the provider's title
    "Zetterqvist",  # the provider's title and the unpublished account
    "Hjalmarsson",  # the unpublished account
    "Vintergatan",  # the original of the redacted wording
    "Xylander",  # the name of the original of the redacted file
    "Fredriksdal",  # the text of the original of the redacted file
    "Qvarnstrom",  # the name of the file left unpublished
    "Ostergardsgatan",  # its text
]
RETITLED_SHOWN = ["Fallolycka", "fallprevention", "tillkallades", "maskerat"]


def test_a_retitled_report_finds_nothing_the_publisher_hid(client, retitled):
    assert_hidden(client, retitled, RETITLED_HIDDEN, RETITLED_SHOWN)


@pytest.fixture
def answered(make, w) -> Publication:
    """An answer to an information request: one answer published, one not meant for the
    public, one redacted, one kept under a key the request never asked (published by key,
    but no page shows it), and of two files the first as a redacted copy."""
    fields = [
        RequestField(position=1, label="Beskrivning", type=FieldType.TEXT),
        RequestField(
            position=2, label="Intern kommentar", type=FieldType.TEXT, for_publication=False
        ),
        RequestField(position=3, label="Händelse", type=FieldType.TEXT),
        RequestField(position=4, label="Underlag", type=FieldType.FILE, required=False),
    ]
    (submission,) = make.info_request(
        w.committee_x,
        [w.org_a],
        w.reviewer_x,
        service_area=w.area_x,
        fields=fields,
        title="Kvalitetsuppföljning 2026",
    )
    k = [f.key for f in submission.request.fields]
    make.answered(
        submission,
        w.reviewer_x,
        {
            k[0]: "Trädgårdsterapi varje vecka.",
            k[1]: "Samtal med Wennerholm om bemanningen.",
            k[2]: "Brukaren Ulfsparre föll i trappan.",
            "anteckning": "Jernberg ringde.",
        },
        files=[
            (k[3], "rapport-gyllenhammar.docx", make_docx("Rapport om Björkhagen.")),
            (k[3], "bilaga-ehrensvard.pdf", pdf_bytes("Bor vid Lindholmen.")),
        ],
    )
    db.session.commit()
    original, _ = submission.submitted_versions[-1].attachments
    copy = redacted_copy(
        original, w.publisher, "rapport-maskad.docx", make_docx("Rapport om [maskerat].")
    )
    return make.published(
        submission,
        w.publisher,
        title="Kvalitet i hemtjänsten 2026",
        summary="Uppföljning av kvaliteten.",
        answer_keys=[k[0], "anteckning"],
        redacted_answers={k[2]: "Brukaren föll i trappan."},
        documents=[PublishedDocument(attachment=original, redacted=copy)],
    )


ANSWERED_HIDDEN = [
    "Wennerholm",  # an answer not meant for the public
    "Ulfsparre",  # the original of a redacted answer
    "Jernberg",  # an answer under a key that is no question of the request
    "Gyllenhammar",  # the name of the original of the redacted file
    "Björkhagen",  # its text
    "Ehrensvard",  # the name of the file left unpublished
    "Lindholmen",  # its text
]
ANSWERED_SHOWN = ["Trädgårdsterapi", "trappan", "maskerat", "Uppföljning"]


def test_an_answer_finds_nothing_that_was_redacted_or_left_unpublished(client, answered):
    assert_hidden(client, answered, ANSWERED_HIDDEN, ANSWERED_SHOWN)


def test_the_compare_pages_show_only_published_answers(client, answered):
    request_id = answered.submission.request_id
    shown = [
        text_of(client.get(f"/jamfor/{request_id}")),
        client.get(f"/jamfor/{request_id}.csv").get_data(as_text=True),
        json.dumps(client.get(f"/api/v1/comparisons/{request_id}").get_json(), ensure_ascii=False),
        client.get(f"/api/v1/comparisons/{request_id}.csv").get_data(as_text=True),
    ]
    for text in shown:
        assert "Trädgårdsterapi" in text and "Brukaren föll i trappan." in text
        assert not words(text) & {w.casefold() for w in ANSWERED_HIDDEN}


@pytest.fixture
def plan(make, w) -> Publication:
    plan = make.report(
        SubmissionKind.ACTION_PLAN,
        w.org_a,
        w.committee_x,
        w.user_a,
        title="Plan efter fallet hos Dahlqvist",
        service_area=w.area_x,
    )
    make.answered(
        plan,
        w.reviewer_x,
        {
            "measures": [
                {
                    "description": "Utbilda personalen i fallprevention",
                    "owner": "Enhetschefen",
                    "due": "2026-06-30",
                    "status": "planned",
                }
            ]
        },
    )
    return make.published(
        plan, w.publisher, title="Åtgärdsplan för hemtjänsten", answer_keys=["measures"]
    )


def test_a_retitled_action_plan_is_found_by_its_measures_not_its_old_title(client, plan):
    assert_hidden(client, plan, ["Dahlqvist"], ["Enhetschefen", "personalen"])


def test_every_indexed_word_is_public(client, retitled, answered, plan):
    for publication in (retitled, answered, plan):
        assert_index_is_public(client, publication)
        assert publication.search_text == search.index_text(publication)


def test_withdrawing_empties_the_text(app, client, retitled, w):
    publisher = staff(app, w.publisher)
    done = publisher.post(
        f"/handlaggare/publiceringar/{retitled.id}", data={"reason": "Fel uppgifter"}
    )
    assert done.status_code == 302
    db.session.refresh(retitled)
    assert retitled.search_text == "" == search.index_text(retitled)
    assert found(client, "fallprevention") == nowhere()
    assert client.get(f"/publicerat/{retitled.id}").status_code == 410


# --- the migration -----------------------------------------------------------------------


def migration():
    path = ROOT / "migrations" / "versions" / "0009_public_index_public_text.py"
    spec = importlib.util.spec_from_file_location("migration_0009", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migration_rebuilds_rows_indexed_before(client, retitled, answered, plan, w):
    gone = plan
    workflow.withdraw_publication(gone, w.publisher, "Fel uppgifter")
    db.session.commit()
    hidden = {retitled: RETITLED_HIDDEN, answered: ANSWERED_HIDDEN, gone: ["Dahlqvist"]}
    for publication, leaked in hidden.items():
        # As the previous revision indexed: the provider's title among the rest.
        publication.search_text += "\n" + "\n".join(leaked)
    db.session.commit()
    assert found(client, "Zetterqvist")["page"] == [retitled.title]

    assert migration().rebuild(db.session.connection()) == 3
    db.session.commit()

    for publication in (retitled, answered, gone):
        db.session.refresh(publication)
        assert publication.search_text == search.index_text(publication)
    assert gone.search_text == ""
    for word in ("Zetterqvist", "Zett", "Ulfsparre", "Dahlqvist"):
        assert found(client, word) == nowhere(), word
    assert found(client, "fallprevention") == everywhere(retitled.title)
    # Run again, it changes nothing.
    assert migration().rebuild(db.session.connection()) == 0


# --- the limit ---------------------------------------------------------------------------


def test_search_feed_and_api_share_one_limit_per_client(app, client, make, w):
    app.config["PUBLIC_RATE_LIMIT"] = "6 per minute"
    publication = make.publication(w, title="Rapport om bemanning")
    one = {"REMOTE_ADDR": "198.51.100.7"}
    for url in (
        "/sok?q=b",
        "/sok?q=be",
        "/flode.atom?q=bem",
        "/api/v1/publications?q=bema",
        "/api/v1/publications.csv?q=beman",
        "/api/v1/providers",
    ):
        assert client.get(url, environ_base=one).status_code == 200, url

    page = client.get("/sok?q=bemann", environ_base=one)
    assert page.status_code == 429
    assert page.mimetype == "text/html"
    assert "Vänta en stund" in text_of(page)
    api = client.get("/api/v1/publications?q=bemann", environ_base=one)
    assert api.status_code == 429
    assert api.mimetype == "application/json"
    assert api.get_json()["status"] == 429 and api.get_json()["error"]
    feed = client.get("/flode.atom?q=bemann", environ_base=one)
    assert feed.status_code == 429
    for refused in (page, api, feed):
        assert 0 <= int(refused.headers["Retry-After"]) <= 60
        # Never kept by the caching proxy for other clients.
        assert refused.headers["Cache-Control"] == "no-store"
    # Reading a publication is no search.
    assert client.get(f"/publicerat/{publication.id}", environ_base=one).status_code == 200

    other = {"REMOTE_ADDR": "198.51.100.8"}
    assert client.get("/sok?q=bemann", environ_base=other).status_code == 200
    assert client.get("/api/v1/publications?q=bemann", environ_base=other).status_code == 200


def test_an_ipv6_client_is_its_network(app, client):
    app.config["PUBLIC_RATE_LIMIT"] = "2 per minute"
    first, same_network = "2001:db8:1:2::1", "2001:db8:1:2:ffff::9"
    for address in (first, same_network):
        assert client.get("/sok", environ_base={"REMOTE_ADDR": address}).status_code == 200
    assert client.get("/sok", environ_base={"REMOTE_ADDR": first}).status_code == 429
    assert client.get("/sok", environ_base={"REMOTE_ADDR": "2001:db8:1:3::1"}).status_code == 200


def test_behind_the_proxy_each_client_has_its_own_budget(app_config, request):
    app_config.update(PROXY_HOPS=1, PUBLIC_RATE_LIMIT="2 per minute")
    client = request.getfixturevalue("client")
    proxy = {"REMOTE_ADDR": "10.0.0.2"}

    def ask(address: str):
        return client.get("/sok", environ_base=proxy, headers={"X-Forwarded-For": address})

    assert [ask("203.0.113.5").status_code for _ in range(3)] == [200, 200, 429]
    assert ask("203.0.113.6").status_code == 200


def test_the_limit_is_configured_and_documented(tmp_path):
    configured = portal_config.from_environment(str(tmp_path), {})
    assert configured["PUBLIC_RATE_LIMIT"] == rate_limits.DEFAULT_PUBLIC_LIMIT == "120 per minute"
    env = {"PORTAL_PUBLIC_RATE_LIMIT": "30 per minute; 600 per hour"}
    assert portal_config.from_environment(str(tmp_path), env)["PUBLIC_RATE_LIMIT"] == (
        "30 per minute; 600 per hour"
    )
    assert "`PORTAL_PUBLIC_RATE_LIMIT`" in (ROOT / "README.md").read_text()

    class App:
        config = {"PUBLIC_RATE_LIMIT": "a lot"}

    with pytest.raises(portal_config.ConfigError):
        rate_limits.check_config(App())


def test_the_api_documents_429(client):
    document = client.get("/api/v1/openapi.json").get_json()
    for item in document["paths"].values():
        refused = item["get"]["responses"]["429"]
        assert "Retry-After" in refused["headers"]
