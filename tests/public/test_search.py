"""Search and browse: full text (documents included), every facet, sorting, pagination,
query syntax and bad input, on the suite's database (SQLite FTS5 or PostgreSQL)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from portal import search
from portal.extensions import db
from portal.models import FieldType, Ownership, RequestField, Role, SubmissionKind
from portal.search.stemming import stem
from tests.conftest import text_of
from tests.pdfs import pdf_bytes
from tests.public.documents import make_docx


@pytest.fixture
def app_config(app_config, clamd_url):
    # Documents are public (and searchable) only once a real scanner has passed them.
    app_config["CLAMD_URL"] = clamd_url
    return app_config


def titles(response) -> list[str]:
    """Result titles of a search page, in order."""
    html = response.get_data(as_text=True)
    return re.findall(r'<h3 class="result-title"><a href="[^"]+">([^<]+)</a>', html)


def file_field():
    return [
        RequestField(position=1, label="Beskrivning", type=FieldType.TEXT),
        RequestField(position=2, label="Kvalitetsberättelse", type=FieldType.FILE, required=False),
    ]


def test_finds_words_inside_a_published_docx_and_pdf(client, make, w):
    make.publication(
        w,
        title="Årsredovisning Org A",
        fields=file_field(),
        files=[
            (2, "berattelse.docx", make_docx("Brukarna uppskattar trädgårdsterapin varje vecka."))
        ],
    )
    make.publication(
        w,
        w.org_b,
        title="Årsredovisning Org B",
        fields=file_field(),
        files=[(2, "rutin.pdf", pdf_bytes("Nattfastan understiger elva timmar."))],
    )

    assert titles(client.get("/sok?q=trädgårdsterapin")) == ["Årsredovisning Org A"]
    assert titles(client.get("/sok?q=nattfastan")) == ["Årsredovisning Org B"]
    # Both words must occur: nothing has both.
    assert titles(client.get("/sok?q=nattfastan trädgårdsterapin")) == []
    assert sorted(titles(client.get("/sok?q=nattfastan or trädgårdsterapin"))) == [
        "Årsredovisning Org A",
        "Årsredovisning Org B",
    ]
    api = client.get("/api/v1/publications?q=nattfastan").get_json()
    assert [p["title"] for p in api["items"]] == ["Årsredovisning Org B"]


def test_index_text_holds_answers_provider_and_document_text(app, make, w):
    publication = make.publication(
        w,
        title="Indexerad",
        fields=file_field(),
        answers={1: "Kontaktmannaskap och veckovisa avstämningar"},
        files=[(2, "a.pdf", pdf_bytes("Fallpreventionen fungerar."))],
    )
    text = publication.search_text
    for expected in (
        "Kontaktmannaskap",
        "Fallpreventionen",
        "Org A AB",
        w.committee_x.name,
        "Hemtjänst",
        publication.submission.registration_number,
        "Kvalitetsberättelse",
    ):
        assert expected in text
    assert search.index_text(publication) == text


def test_answers_that_are_not_public_are_not_searchable(client, make, w):
    fields = [
        RequestField(position=1, label="Publikt", type=FieldType.TEXT),
        RequestField(position=2, label="Internt", type=FieldType.TEXT, for_publication=False),
    ]
    p = make.publication(
        w, fields=fields, answers={1: "solrosor", 2: "hemlighetsmakeri"}, answer_keys=None
    )
    # Publish only the first answer: rebuild the publication's keys as a publisher would.
    p.answer_keys = [p.submission.request.fields[0].key]
    search.refresh(p)
    db.session.commit()
    assert titles(client.get("/sok?q=solrosor")) == [p.title]
    assert titles(client.get("/sok?q=hemlighetsmakeri")) == []


def test_swedish_word_forms_match(client, make, w):
    make.publication(
        w,
        title="Rapport om avvikelser i hemtjänsten",
        answers={1: "Inga allvarliga avvikelser under året."},
    )
    for query in ("avvikelse", "avvikelser", "hemtjänst", "hemtjänsten"):
        assert titles(client.get(f"/sok?q={query}")) == ["Rapport om avvikelser i hemtjänsten"]


def test_phrase_and_exclusion(client, make, w):
    make.publication(w, title="Alpha", answers={1: "röda rosor växer"})
    make.publication(w, title="Beta", answers={1: "rosor som är röda"})
    assert titles(client.get('/sok?q="röda rosor"')) == ["Alpha"]
    assert sorted(titles(client.get("/sok?q=rosor"))) == ["Alpha", "Beta"]
    assert titles(client.get("/sok?q=rosor -växer")) == ["Beta"]


def test_the_index_follows_edits_and_withdrawals(client, make, w):
    p = make.publication(w, title="Rapport", summary="Om solceller på taket.")
    assert titles(client.get("/sok?q=solceller")) == ["Rapport"]
    p.summary = "Om vindkraft i stället."
    db.session.commit()
    assert titles(client.get("/sok?q=solceller")) == []
    assert titles(client.get("/sok?q=vindkraft")) == ["Rapport"]
    from portal import workflow

    workflow.withdraw_publication(p, w.publisher, "Fel uppgifter")
    db.session.commit()
    assert titles(client.get("/sok?q=vindkraft")) == []


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "-",
        "OR",
        "***",
        "AND NOT",
        "(",
        "title:x",
        "^a",
        "NEAR(a b)",
        "'; drop table publication; --",
        "a\u0000b",
    ],
)
def test_odd_queries_never_fail(client, make, w, query):
    make.publication(w, title="Något")
    response = client.get("/sok", query_string={"q": query})
    assert response.status_code == 200
    assert client.get("/api/v1/publications", query_string={"q": query}).status_code == 200


def test_query_translation_for_both_engines():
    fts5, tsquery = search.fts5_query, search.tsquery_text
    assert fts5("hemtjänsten Solna") == '"hemtjänst"* AND "soln"*'
    assert tsquery("hemtjänsten Solna") == "(('hemtjänsten':*)) & (('solna':*))"
    assert fts5('"röda rosor"') == '"röda rosor"'
    assert tsquery('"röda rosor"') == "(('röda' <-> 'rosor'))"
    assert fts5("rosor or liljor") == '("ros"* OR "lilj"*)'
    assert tsquery("rosor or liljor") == "(('rosor':*) | ('liljor':*))"
    assert fts5("rosor -växer") == '("ros"*) NOT "väx"*'
    assert tsquery("rosor -växer") == "(('rosor':*)) & !('växer':*)"
    assert fts5("avvikelserna") == '"avvik"*'
    # Short words are not prefixes (they would match half the index).
    assert fts5("ab or cd") == '("ab" OR "cd")'
    assert tsquery("ab") == "(('ab'))"
    # Nothing of either syntax survives: operators and quotes become plain words.
    assert fts5("NEAR(x y)") == '("near"* "x") AND "y"'
    assert tsquery("a:* & !b | c") == "(('a')) & (('b')) & (('c'))"
    assert tsquery("'; drop table x; --") == "(('drop':*)) & (('table':*)) & (('x'))"
    for nothing in ('"', "-bara", "---", "or", ""):
        assert fts5(nothing) == "" and tsquery(nothing) == ""


# Word → its Swedish Snowball stem, as PostgreSQL's 'swedish' configuration indexes it.
SWEDISH_STEMS = {
    "avvikelserna": "avvik",
    "avvikelse": "avvik",
    "hemtjänsten": "hemtjänst",
    "brukarna": "bruk",
    "åtgärder": "åtgärd",
    "simhallens": "simhall",
    "liljor": "lilj",
    "kvalitetsredovisning": "kvalitetsredovisning",
}


def test_both_engines_stem_alike(app):
    """SQLite searches a prefix of the stem that PostgreSQL indexes and queries, so a word
    form finds the same publications on both engines."""
    assert {word: stem(word) for word in SWEDISH_STEMS} == SWEDISH_STEMS
    if db.engine.dialect.name == "postgresql":
        indexed = {
            word: db.session.scalar(
                sa.text("SELECT string_agg(lexeme, ' ') FROM unnest(to_tsvector('swedish', :w))"),
                {"w": word},
            )
            for word in SWEDISH_STEMS
        }
        assert indexed == SWEDISH_STEMS


def test_part_of_a_compound_word_is_found(client, make, w):
    make.publication(w, title="Kvalitetsredovisning för hemtjänstområdet")
    for query in ("kvalitet", "kvalitetsredovisning", "hemtjänst"):
        assert titles(client.get(f"/sok?q={query}")) == [
            "Kvalitetsredovisning för hemtjänstområdet"
        ], query


# --- facets ------------------------------------------------------------------------------


@pytest.fixture
def catalogue(make, w):
    """Four publications that differ in every facet."""
    in_house = make.provider("Kommunens hemtjänst", Ownership.IN_HOUSE)
    make.agreement(in_house, w.area_x)
    home_care = make.publication(w, title="Kvalitet i hemtjänsten")
    swimming = make.publication(w, w.org_b, area=w.area_y, title="Simhallens öppettider")
    swimming.published_at = datetime(2024, 5, 1, 10, tzinfo=UTC)

    author = make.user(Role.PROVIDER_USER, provider_=in_house)
    deviation = make.report(
        SubmissionKind.DEVIATION_REPORT,
        in_house,
        w.committee_x,
        author,
        title="Försenad insats",
        service_area=w.area_x,
    )
    make.answered(
        deviation, w.reviewer_x, {"description": "Insatsen kom två timmar sent."}, author=author
    )
    deviation_pub = make.published(deviation, w.publisher, title="Avvikelse: försenad insats")

    author_b = make.user(Role.PROVIDER_USER, provider_=w.org_b)
    plan = make.report(
        SubmissionKind.ACTION_PLAN, w.org_b, w.committee_x, author_b, title="Åtgärdsplan: bemanning"
    )
    make.answered(
        plan,
        w.reviewer_x,
        {
            "measures": [
                {
                    "description": "Rekrytera nattpersonal",
                    "owner": "Chef",
                    "due": "2026-12-01",
                    "status": "planned",
                }
            ]
        },
        author=author_b,
    )
    plan_pub = make.published(plan, w.publisher)
    db.session.commit()
    return {
        "home_care": home_care,
        "swimming": swimming,
        "deviation": deviation_pub,
        "plan": plan_pub,
        "in_house": in_house,
    }


def facet_options(response, name: str) -> dict[str, str]:
    """value → option text of one facet's select."""
    html = response.get_data(as_text=True)
    select = re.search(rf'<select id="f-{name}" name="{name}">(.*?)</select>', html, re.S)
    assert select, name
    return dict(re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select.group(1)))


@pytest.mark.parametrize(
    ("facet", "value", "expected"),
    [
        (
            "committee",
            "x",
            {"Kvalitet i hemtjänsten", "Avvikelse: försenad insats", "Åtgärdsplan: bemanning"},
        ),
        ("committee", "y", {"Simhallens öppettider"}),
        ("service_area", "area_x", {"Kvalitet i hemtjänsten", "Avvikelse: försenad insats"}),
        ("service_area", "area_y", {"Simhallens öppettider"}),
        ("provider", "org_b", {"Simhallens öppettider", "Åtgärdsplan: bemanning"}),
        ("provider", "in_house", {"Avvikelse: försenad insats"}),
        ("ownership", "in_house", {"Avvikelse: försenad insats"}),
        (
            "ownership",
            "private",
            {"Kvalitet i hemtjänsten", "Simhallens öppettider", "Åtgärdsplan: bemanning"},
        ),
        ("kind", "deviation_report", {"Avvikelse: försenad insats"}),
        ("kind", "action_plan", {"Åtgärdsplan: bemanning"}),
        ("kind", "transparency_info", {"Kvalitet i hemtjänsten", "Simhallens öppettider"}),
        ("year", "2024", {"Simhallens öppettider"}),
    ],
)
def test_each_facet_filters_page_and_api(client, w, catalogue, facet, value, expected):
    ids = {
        "x": w.committee_x.id,
        "y": w.committee_y.id,
        "area_x": w.area_x.id,
        "area_y": w.area_y.id,
        "org_b": w.org_b.id,
        "in_house": catalogue["in_house"].id,
    }
    if facet in ("committee", "service_area") or (facet == "provider"):
        value = str(ids[value])
    page = client.get("/sok", query_string={facet: value})
    assert page.status_code == 200
    assert set(titles(page)) == expected
    api = client.get("/api/v1/publications", query_string={facet: value}).get_json()
    assert {p["title"] for p in api["items"]} == expected
    assert api["total"] == len(expected)
    # The chosen value is shown as selected with its count, and can be removed.
    options = facet_options(page, facet)
    assert options[value].endswith(f"({len(expected)})")
    assert "Ta bort" in text_of(page)


def test_facet_counts_count_the_other_filters(client, w, catalogue):
    page = client.get("/sok", query_string={"kind": "transparency_info"})
    committees = facet_options(page, "committee")
    assert committees[str(w.committee_x.id)] == f"{w.committee_x.name} (1)"
    assert committees[str(w.committee_y.id)] == f"{w.committee_y.name} (1)"
    kinds = facet_options(page, "kind")
    # The kind facet itself still offers the other kinds, with their counts.
    assert kinds["deviation_report"] == "Avvikelserapport (1)"
    assert kinds["action_plan"] == "Åtgärdsplan (1)"
    assert kinds["transparency_info"] == "Insynsinformation (2)"
    years = facet_options(page, "year")
    assert years["2024"] == "2024 (1)"


def test_filters_combine_with_text(client, w, catalogue):
    assert titles(client.get("/sok", query_string={"q": "bemanning", "kind": "action_plan"})) == [
        "Åtgärdsplan: bemanning"
    ]
    assert (
        titles(client.get("/sok", query_string={"q": "bemanning", "kind": "deviation_report"}))
        == []
    )


# --- sorting and pages -------------------------------------------------------------------


def test_sorting_by_date_and_relevance(client, make, w):
    old = make.publication(w, title="Bemanning i korthet", answers={1: "Övrigt."})
    old.published_at = datetime(2025, 1, 1, tzinfo=UTC)
    new = make.publication(w, title="Kvalitetsrapport", answers={1: "Bemanning nämns en gång."})
    new.published_at = datetime(2026, 2, 1, tzinfo=UTC)
    db.session.commit()
    assert titles(client.get("/sok")) == ["Kvalitetsrapport", "Bemanning i korthet"]
    assert titles(client.get("/sok?sort=oldest")) == ["Bemanning i korthet", "Kvalitetsrapport"]
    # Relevance is the default with a query: the title match ranks first.
    assert titles(client.get("/sok?q=bemanning")) == ["Bemanning i korthet", "Kvalitetsrapport"]
    assert titles(client.get("/sok?q=bemanning&sort=newest")) == [
        "Kvalitetsrapport",
        "Bemanning i korthet",
    ]
    # Without a query, relevance means newest.
    assert titles(client.get("/sok?sort=relevance")) == ["Kvalitetsrapport", "Bemanning i korthet"]


def test_pagination_keeps_filters_and_marks_the_current_page(client, make, w):
    for n in range(23):
        p = make.publication(w, title=f"Publicering {n:02d}")
        p.published_at = datetime(2026, 1, 1 + n, tzinfo=UTC)
    db.session.commit()
    first = client.get(f"/sok?service_area={w.area_x.id}")
    assert titles(first) == [f"Publicering {n:02d}" for n in range(22, 2, -1)]
    html = first.get_data(as_text=True)
    assert f'href="/sok?service_area={w.area_x.id}&amp;page=2" rel="next"' in html
    assert 'aria-current="page"><span class="visually-hidden">Sida </span>1</a>' in html
    second = client.get(f"/sok?service_area={w.area_x.id}&page=2")
    assert titles(second) == ["Publicering 02", "Publicering 01", "Publicering 00"]
    assert "Visar 21–23, sida 2 av 2." in text_of(second)
    beyond = client.get("/sok?page=9")
    assert beyond.status_code == 200 and titles(beyond) == []
    assert "Gå till första sidan" in text_of(beyond)
    api = client.get("/api/v1/publications?per_page=10&page=3").get_json()
    assert [p["title"] for p in api["items"]] == [
        "Publicering 02",
        "Publicering 01",
        "Publicering 00",
    ]
    assert api["pages"] == 3 and api["links"]["next"] is None
    assert api["links"]["prev"].endswith("page=2")


@pytest.mark.parametrize(
    "query",
    [
        "page=0",
        "page=abc",
        "committee=x",
        "ownership=foreign",
        "kind=memo",
        "year=99",
        "sort=random",
        "q=" + "a" * 201,
    ],
)
def test_malformed_parameters_get_a_clear_400(client, w, query):
    page = client.get(f"/sok?{query}")
    assert page.status_code == 400
    assert "Sökningen kunde inte göras" in text_of(page)
    api = client.get(f"/api/v1/publications?{query}")
    assert api.status_code == 400
    body = api.get_json()
    assert body["status"] == 400 and body["parameter"] == query.split("=")[0] and body["error"]


def test_reindex_command(app, make, w):
    p = make.publication(w, title="Omindexerad")
    p.search_text = ""
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["public", "reindex"])
    assert result.exit_code == 0, result.output
    assert "publications reindexed" in result.output
    db.session.expire_all()
    assert "Org A AB" in db.session.get(type(p), p.id).search_text


def test_the_facet_table_follows_publications_submissions_and_providers(client, make, w):
    """publication_facet is written by triggers only: every change that moves a
    publication between facet values is followed, on both databases."""
    from portal.models.publication import PublicationFacet

    p = make.publication(w, title="Följd")

    def facet():
        db.session.expire_all()
        return db.session.get(PublicationFacet, p.id)

    row = facet()
    assert (
        row.state,
        row.provider_id,
        row.committee_id,
        row.service_area_id,
        row.kind,
        row.ownership,
    ) == ("published", w.org_a.id, w.committee_x.id, w.area_x.id, "transparency_info", "private")
    assert row.year == p.published_at.year
    w.org_a.ownership = Ownership.NON_PROFIT
    db.session.commit()
    assert facet().ownership == "non_profit"
    assert titles(client.get("/sok?ownership=non_profit")) == ["Följd"]
    p.submission.service_area = w.area_y
    db.session.commit()
    assert facet().service_area_id == w.area_y.id
    p.published_at = datetime(2023, 12, 31, 23, 30, tzinfo=UTC)  # 2024 in Sweden
    db.session.commit()
    assert facet().year == 2024
    assert titles(client.get("/sok?year=2024")) == ["Följd"]
    from portal import workflow

    workflow.withdraw_publication(p, w.publisher, "Fel")
    db.session.commit()
    assert facet().state == "withdrawn"
    assert titles(client.get("/sok")) == []
