"""What is public is exactly what the publisher chose, of the version that was approved
(security review, issue 10).

A publication pins the version the publisher checked: an action plan's progress report
made after publication (a new version no publisher saw, here with a name and a personal
identity number in a measure) reaches no public channel: not the page, the API (JSON and
CSV), search, the Atom feed or the compare pages, not even after a reindex. A deviation
report that answers an information request shows the answers the publisher chose: the
request's fields, then the report's own. The API entry shows what the page shows, no
more (a measure's internal ``evidence`` id never). The demo municipality's publications
are found by the words of their answers. Migration 0011 pins existing publications to the
version that was newest when they were published, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from lxml import etree

from portal import create_app, search, tenancy, workflow
from portal.dates import today
from portal.extensions import db
from portal.models import (
    FieldType,
    Municipality,
    Publication,
    RequestField,
    SubmissionKind,
    SubmissionVersion,
)
from portal.models.base import utcnow
from portal.published.answers import public_answers
from tests import factories
from tests.conftest import load_demo, text_of

ROOT = Path(__file__).resolve().parents[2]
ATOM = {"a": "http://www.w3.org/2005/Atom"}

# What the provider reported after publication, in a measure of its action plan.
LATER = ["Zetterqvist", "19121212-1212", "Genomförd"]
APPROVED_MEASURE = {
    "description": "Utbilda personalen i fallprevention",
    "owner": "Enhetschefen",
    "due": "2026-06-30",
    "status": "in_progress",
}
LATER_MEASURE = {
    "description": "Utbildat personalen, samtal med Yngve Zetterqvist 19121212-1212",
    "owner": "Yngve Zetterqvist",
    "due": "2026-06-30",
    "status": "done",
    "done_on": "2026-05-04",
    "evidence": 4711,
}


def titles_found(client, q: str) -> dict[str, list[str]]:
    """Titles that ``q`` finds, per channel: search page, API, API CSV, Atom feed."""
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


def everywhere(*titles: str) -> dict[str, list[str]]:
    return {channel: list(titles) for channel in ("page", "api", "csv", "feed")}


def page_answers(client, publication: Publication) -> list[str]:
    """The labels of the answers on the publication's page, in their order."""
    page = client.get(f"/publicerat/{publication.id}")
    assert page.status_code == 200
    return re.findall(r'<div class="answer">\s*<dt>([^<]*)</dt>', page.get_data(as_text=True))


def api_entry(client, publication: Publication) -> dict:
    response = client.get(f"/api/v1/publications/{publication.id}")
    assert response.status_code == 200
    return response.get_json()


def every_public_text(client, publication: Publication, request_id: int | None = None) -> str:
    """Everything the public can read about ``publication``, as one text."""
    texts = [
        text_of(client.get(f"/publicerat/{publication.id}")),
        json.dumps(api_entry(client, publication), ensure_ascii=False),
        client.get("/api/v1/publications.csv").get_data(as_text=True),
        client.get("/flode.atom").get_data(as_text=True),
        text_of(client.get("/sok")),
    ]
    if request_id is not None:
        texts += [
            text_of(client.get(f"/jamfor/{request_id}")),
            client.get(f"/jamfor/{request_id}.csv").get_data(as_text=True),
            json.dumps(client.get(f"/api/v1/comparisons/{request_id}").get_json()),
            client.get(f"/api/v1/comparisons/{request_id}.csv").get_data(as_text=True),
        ]
    return "\n".join(texts)


# --- an action plan's progress after publication ------------------------------------------


def report_progress(plan, author, measures: list[dict]) -> SubmissionVersion:
    """The provider reports progress on its approved plan: a new submitted version."""
    draft = workflow.save_draft(plan, author, {"measures": measures})
    workflow.report_progress(plan, author)
    db.session.commit()
    return draft


@pytest.fixture
def progressed(make, w) -> Publication:
    """An action plan published with one measure in progress; afterwards its provider
    reports the measure done, naming a person with a personal identity number."""
    plan = make.report(
        SubmissionKind.ACTION_PLAN,
        w.org_a,
        w.committee_x,
        w.user_a,
        title="Åtgärdsplan efter fallet",
        service_area=w.area_x,
    )
    make.answered(plan, w.reviewer_x, {"measures": [APPROVED_MEASURE]})
    publication = make.published(
        plan, w.publisher, title="Åtgärdsplan för hemtjänsten", answer_keys=["measures"]
    )
    later = report_progress(plan, w.user_a, [LATER_MEASURE])
    assert later.number == 2 and plan.latest_submitted is later
    # Any later reindex (``flask public reindex``, a migration) reads the published version.
    search.reindex_all()
    db.session.expire_all()
    return publication


def test_progress_after_publication_is_on_no_public_channel(client, progressed):
    text = every_public_text(client, progressed)
    for word in LATER:
        assert word not in text, word
    for word in ("Enhetschefen", "fallprevention", "Pågår"):
        assert word in text_of(client.get(f"/publicerat/{progressed.id}")), word

    entry = api_entry(client, progressed)
    (measures,) = entry["answers"]
    assert measures["value"] == [{**APPROVED_MEASURE, "done_on": None}]


def test_search_finds_the_published_version_only(client, progressed):
    title = "Åtgärdsplan för hemtjänsten"
    for word in ("Zetterqvist", "Zett", "19121212", "Yngve"):
        assert titles_found(client, word) == everywhere(), word
    assert titles_found(client, "Enhetschefen") == everywhere(title)
    # Nor can excluding a word of the later version tell it is there.
    assert titles_found(client, "Enhetschefen -Zetterqvist") == everywhere(title)
    db.session.refresh(progressed)
    assert progressed.search_text == search.index_text(progressed)
    assert "Zetterqvist" not in progressed.search_text


def test_the_publication_pins_the_version_the_publisher_checked(app, client, progressed, w):
    plan = progressed.submission
    assert progressed.version.number == 1
    assert progressed.version is plan.submitted_versions[0]
    assert [a.raw for a in public_answers(progressed)] == [[APPROVED_MEASURE]]
    # Staff see on the publication's page what is public, not the later report.
    staff = app.test_client()
    staff.login(w.publisher)
    page = text_of(staff.get(f"/handlaggare/publiceringar/{progressed.id}"))
    assert "Enhetschefen" in page and "Zetterqvist" not in page
    # Publishing again is refused: a later version needs a decision of its own.
    with pytest.raises(workflow.IllegalTransition):
        workflow.publish(
            plan, w.publisher, title="Igen", summary="", answer_keys=["measures"], documents=[]
        )


def test_a_version_submitted_later_reaches_neither_page_api_nor_compare(client, make, w):
    """However a later submitted version came to be, the public reads the published one."""
    fields = [
        RequestField(position=1, label="Arbetssätt", type=FieldType.TEXT),
        RequestField(position=2, label="Antal brukare", type=FieldType.NUMBER),
    ]
    publication = make.publication(
        w, fields=fields, answers={1: "Kontaktmannaskap i alla team", 2: "140"}
    )
    submission = publication.submission
    keys = [f.key for f in submission.request.fields]
    db.session.add(
        SubmissionVersion(
            submission=submission,
            number=2,
            answers={keys[0]: "Samtal med Zetterqvist 19121212-1212", keys[1]: "7654321"},
            submitted_at=utcnow(),
        )
    )
    db.session.commit()
    search.reindex_all()

    text = every_public_text(client, publication, submission.request_id)
    for word in (*LATER[:2], "7654321"):
        assert word not in text, word
    assert "Kontaktmannaskap" in text and "140" in text
    assert titles_found(client, "Zetterqvist") == everywhere()


# --- a requested deviation report ---------------------------------------------------------


@pytest.fixture
def requested_report(make, w) -> Publication:
    """A deviation report answering a request: the publisher chooses one request field and
    three of the report's own answers, leaving out the account of what happened."""
    fields = [
        RequestField(position=1, label="Antal berörda brukare", type=FieldType.NUMBER),
        RequestField(position=2, label="Orsaksanalys", type=FieldType.TEXT),
    ]
    (report,) = make.info_request(
        w.committee_x,
        [w.org_a],
        w.reviewer_x,
        service_area=w.area_x,
        fields=fields,
        kind=SubmissionKind.DEVIATION_REPORT,
        title="Avvikelser i läkemedelshanteringen",
    )
    k = [f.key for f in report.request.fields]
    make.answered(
        report,
        w.reviewer_x,
        {
            k[0]: "3",
            k[1]: "Hjalmarsson glömde signeringslistan.",
            "category": "deviation",
            "severity": "medium",
            "occurred_on": "2026-03-02",
            "description": "Brukaren Ulfsparre fick fel dos.",
            "immediate_measures": "Signeringsrutinen skärptes samma dag.",
        },
    )
    return make.published(
        report,
        w.publisher,
        title="Avvikelse i läkemedelshanteringen",
        answer_keys=["immediate_measures", k[0], "severity", "category"],
    )


def test_a_requested_report_shows_the_answers_the_publisher_chose(client, requested_report):
    expected = ["Antal berörda brukare", "Kategori", "Allvarlighetsgrad", "Omedelbara åtgärder"]
    assert page_answers(client, requested_report) == expected
    page = text_of(client.get(f"/publicerat/{requested_report.id}"))
    assert "Signeringsrutinen skärptes samma dag." in page
    assert "Avvikelse" in page and "Medel" in page

    entry = api_entry(client, requested_report)
    assert [a["label"] for a in entry["answers"]] == expected
    assert {a["key"]: a["value"] for a in entry["answers"]} == {
        requested_report.submission.request.fields[0].key: 3,
        "category": "deviation",
        "severity": "medium",
        "immediate_measures": "Signeringsrutinen skärptes samma dag.",
    }

    text = every_public_text(client, requested_report)
    for hidden in ("Hjalmarsson", "Ulfsparre", "Orsaksanalys", "Vad hände"):
        assert hidden not in text, hidden
    assert titles_found(client, "Signeringsrutinen") == everywhere(requested_report.title)
    assert titles_found(client, "Ulfsparre") == everywhere()


# --- the API shows what the page shows ----------------------------------------------------


def test_the_api_entry_has_nothing_the_page_does_not_show(client, make, w):
    plan = make.report(
        SubmissionKind.ACTION_PLAN,
        w.org_a,
        w.committee_x,
        w.user_a,
        title="Åtgärdsplan",
        service_area=w.area_x,
    )
    make.answered(
        plan,
        w.reviewer_x,
        {
            "measures": [
                {**APPROVED_MEASURE, "evidence": 4711, "effect": "Färre fall hos Wennerholm"},
                "en rad som inte är en åtgärd",
            ],
            "agreement_id": "4712",
        },
    )
    published_plan = make.published(plan, w.publisher, answer_keys=["measures", "agreement_id"])
    answer = make.publication(w, answers={1: "Trädgårdsterapi"}, title="Kvalitet 2026")

    for publication in (published_plan, answer):
        entry = api_entry(client, publication)
        labels = page_answers(client, publication)
        assert [a["label"] for a in entry["answers"]] == labels
        assert [a["key"] for a in entry["answers"]] == [a.key for a in public_answers(publication)]

    (measures,) = api_entry(client, published_plan)["answers"]
    assert [set(m) for m in measures["value"]] == [set(search.SHOWN_MEASURE_KEYS)]
    dumped = json.dumps(api_entry(client, published_plan), ensure_ascii=False)
    for hidden in ("4711", "4712", "evidence", "effect", "Wennerholm", "inte är en åtgärd"):
        assert hidden not in dumped, hidden
    assert titles_found(client, "Wennerholm") == everywhere()


# --- the demo municipality ----------------------------------------------------------------


def test_the_demo_is_found_by_the_words_of_its_answers(app, client):
    load_demo(app)
    publications = db.session.scalars(sa.select(Publication).order_by(Publication.id)).all()
    assert len(publications) >= 3
    for publication in publications:
        assert publication.search_text == search.index_text(publication), publication.title
    year = today().year
    assert titles_found(client, "Brukarråd") == everywhere(
        f"Kvalitetsredovisning hemtjänst {year}: Omsorgshuset"
    )
    assert titles_found(client, "Fallriskbedömning") == everywhere(
        "Åtgärdsplan: fallprevention på Solgården"
    )


# --- migration 0011 -----------------------------------------------------------------------


def migration():
    path = ROOT / "migrations" / "versions" / "0011_publication_version.py"
    spec = importlib.util.spec_from_file_location("migration_0011", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _history(w) -> tuple[dict[int, int], dict[int, int]]:
    """Three publications and the version each is pinned to when published, and by the
    migration: an action plan with a progress report after publication (version 1, both),
    an answer resubmitted after a clarification before publication (version 2, both), and
    one whose publication time lies before all its versions (clocks that disagreed: the
    migration takes the earliest, version 1)."""
    plan = factories.report(
        SubmissionKind.ACTION_PLAN, w.org_a, w.committee_x, w.user_a, title="Plan"
    )
    factories.answered(plan, w.reviewer_x, {"measures": [APPROVED_MEASURE]})
    plan_publication = factories.published(plan, w.publisher, answer_keys=["measures"])
    report_progress(plan, w.user_a, [LATER_MEASURE])

    published, migrated = {plan_publication.id: 1}, {plan_publication.id: 1}
    for skewed in (False, True):
        (answer,) = factories.info_request(
            w.committee_x,
            [w.org_a],
            w.reviewer_x,
            fields=[RequestField(position=1, label="Svar", type=FieldType.TEXT)],
        )
        key = answer.request.fields[0].key
        workflow.save_draft(answer, w.user_a, {key: "första"})
        workflow.submit(answer, w.user_a)
        workflow.ask_clarification(answer, w.reviewer_x, "Förtydliga.", today() + timedelta(days=7))
        workflow.save_draft(answer, w.user_a, {key: "andra"})
        workflow.submit(answer, w.user_a)
        workflow.approve(answer, w.reviewer_x)
        publication = factories.published(answer, w.publisher)
        if skewed:
            publication.published_at = answer.versions[0].submitted_at - timedelta(hours=1)
            db.session.commit()
        published[publication.id] = 2
        migrated[publication.id] = 1 if skewed else 2
    return published, migrated


def _pins() -> dict[int, int]:
    return dict(
        db.session.execute(
            sa.select(Publication.id, SubmissionVersion.number).join(Publication.version)
        ).all()
    )


def test_the_migration_pins_the_version_newest_when_published(scratch_url, app_config):
    app = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": scratch_url})
    with app.app_context():
        upgrade()
        home = Municipality(slug="exempelby", name=app.config["MUNICIPALITY"])
        db.session.add(home)
        db.session.commit()
        with tenancy.use(home):
            w = factories.world()
            published, expected = _history(w)
            assert _pins() == published
            db.session.commit()  # nothing of the session's stays open during the migration

        downgrade(revision="0010_invitations")
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("publication")}
        assert "version_id" not in columns
        upgrade()  # the data comes back as one municipality's (0016_tenancy)
        db.session.expire_all()
        (home,) = db.session.scalars(sa.select(Municipality)).all()
        db.session.commit()
        with tenancy.use(home):
            _check_pinned_after_upgrade(w, expected)
        db.session.remove()
        db.engine.dispose()


def _check_pinned_after_upgrade(w, expected) -> None:
    """What the re-upgraded database shows: the pins, the search index and facets."""
    assert _pins() == expected
    with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            # Foreign keys are back on, and the search triggers and facets survived.
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    plan_publication = db.session.get(Publication, min(expected))
    assert search.search(search.Filters(q="Enhetschefen")).items == [plan_publication]
    assert search.count(search.Filters(provider=w.org_a.id)) == len(expected)
    newer = factories.publication(w, answers={1: "Vattengympa"}, title="Efter migreringen")
    assert search.search(search.Filters(q="Vattengympa")).items == [newer]
    # Run again, it finds nothing to fill.
    assert migration().pin(db.session.connection()) == 0
    db.session.rollback()
