"""Open data API: the OpenAPI document is valid, every documented operation answers as
documented (schemathesis checks: status, content type, headers, body schema), and the API
and its CSV say the same as the pages."""

from __future__ import annotations

import csv
import io
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate

from portal import workflow
from portal.api.openapi import document
from portal.extensions import db
from portal.models import FieldType, RequestField
from tests.conftest import text_of


def test_openapi_document_is_valid(client):
    validate(document())
    served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200
    assert served.get_json() == document()


def test_every_api_route_is_documented(app):
    documented = set(document()["paths"])
    routes = {
        rule.rule.removeprefix("/api/v1").replace("<int:", "{").replace(">", "}") or "/"
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
    }
    assert routes == documented


@pytest.fixture
def data(make, w):
    fields = [
        RequestField(position=1, label="Antal brukare", type=FieldType.NUMBER, unit="personer"),
        RequestField(position=2, label="Ledningssystem", type=FieldType.YES_NO),
    ]
    subs = make.info_request(
        w.committee_x,
        [w.org_a, w.org_b],
        w.reviewer_x,
        service_area=w.area_x,
        fields=fields,
        title="Jämförbar",
    )
    keys = [f.key for f in subs[0].request.fields]
    make.answered(subs[0], w.reviewer_x, {keys[0]: "12", keys[1]: "yes"})
    live = make.published(subs[0], w.publisher, title="Publicerad", summary="Sammanfattning")
    make.answered(subs[1], w.reviewer_x, {keys[0]: "7", keys[1]: "no"})
    gone = make.published(subs[1], w.publisher, title="Återkallad")
    workflow.withdraw_publication(gone, w.publisher, "Innehöll en felaktig uppgift")
    db.session.commit()
    return {"live": live, "gone": gone, "request": subs[0].request, "w": w}


@pytest.fixture
def schema(app, data):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def operations(schema) -> dict[str, schemathesis.APIOperation]:
    return {op.path: op for op in (r.ok() for r in schema.get_all_operations())}


def test_every_documented_operation_answers_as_documented(schema, data):
    w = data["w"]
    ops = operations(schema)
    cases = [
        ("/", {}, {}, 200),
        ("/publications", {}, {}, 200),
        (
            "/publications",
            {},
            {
                "q": "publicerad",
                "committee": w.committee_x.id,
                "service_area": w.area_x.id,
                "provider": w.org_a.id,
                "ownership": "private",
                "kind": "transparency_info",
                "sort": "relevance",
                "page": 1,
                "per_page": 5,
            },
            200,
        ),
        ("/publications", {}, {"kind": "memo"}, 400),
        ("/publications.csv", {}, {"provider": w.org_a.id}, 200),
        ("/publications.csv", {}, {"year": 12}, 400),
        ("/publications/{publication_id}", {"publication_id": data["live"].id}, {}, 200),
        ("/publications/{publication_id}", {"publication_id": data["gone"].id}, {}, 410),
        ("/publications/{publication_id}", {"publication_id": 999_999}, {}, 404),
        ("/providers", {}, {"service_area": w.area_x.id, "ownership": "private"}, 200),
        ("/providers", {}, {"page": 0}, 400),
        ("/providers.csv", {}, {}, 200),
        ("/providers/{provider_id}", {"provider_id": w.org_b.id}, {}, 200),
        ("/providers/{provider_id}", {"provider_id": 999_999}, {}, 404),
        ("/committees", {}, {}, 200),
        ("/service-areas", {}, {}, 200),
        ("/comparisons", {}, {"service_area": w.area_x.id}, 200),
        (
            "/comparisons/{request_id}",
            {"request_id": data["request"].id},
            {"sort": "provider", "order": "desc"},
            200,
        ),
        ("/comparisons/{request_id}", {"request_id": data["request"].id}, {"order": "up"}, 400),
        ("/comparisons/{request_id}", {"request_id": 999_999}, {}, 404),
        ("/comparisons/{request_id}.csv", {"request_id": data["request"].id}, {}, 200),
    ]
    # schemathesis leaves out the path it loaded the document from (tested above).
    assert {path for path, *_ in cases} == set(document()["paths"]) - {"/openapi.json"}
    assert set(ops) == {path for path, *_ in cases}
    for path, path_parameters, query, status in cases:
        case = ops[path].Case(path_parameters=path_parameters, query=query)
        response = case.call_and_validate()
        assert response.status_code == status, (path, query, response.text[:300])


def test_fuzzed_requests_never_break_the_contract(schema):
    """Generated parameters (valid and invalid) on every operation: no server error, and
    each answer conforms to the document."""
    statuses: Counter = Counter()

    def fuzz(op):
        @given(case=op.as_strategy())
        @settings(
            max_examples=8, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def run(case):
            response = case.call_and_validate()
            statuses[response.status_code // 100] += 1

        run()

    for op in operations(schema).values():
        fuzz(op)
    assert statuses[5] == 0 and statuses[2] > 0 and statuses[4] > 0


def test_publication_in_the_api_is_what_the_page_shows(client, data):
    live = data["live"]
    body = client.get(f"/api/v1/publications/{live.id}").get_json()
    page = text_of(client.get(f"/publicerat/{live.id}"))
    assert body["title"] == "Publicerad" and body["title"] in page
    assert body["summary"] in page
    assert body["registration_number"] in page
    assert body["provider"] == {
        "id": data["w"].org_a.id,
        "name": "Org A AB",
        "org_number": data["w"].org_a.org_number,
        "ownership": "private",
    }
    answers = {a["label"]: a for a in body["answers"]}
    assert (
        answers["Antal brukare"]["value"] == 12 and answers["Antal brukare"]["unit"] == "personer"
    )
    assert answers["Ledningssystem"]["value"] is True
    assert "12 personer" in page and "Ja" in page
    assert body["published_at"].endswith("Z")
    assert body["url"] == f"http://insyn.test/publicerat/{live.id}"


def test_list_csv_and_search_page_agree(client, make, data):
    w = data["w"]
    for n in range(4):
        make.publication(w, w.org_b, area=w.area_y, title=f"Simhall {n}")
    query = {"provider": w.org_b.id}
    api = client.get("/api/v1/publications", query_string=query).get_json()
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get("/api/v1/publications.csv", query_string=query).get_data(as_text=True)[
                    1:
                ]
            )
        )
    )
    page = client.get("/sok", query_string=query).get_data(as_text=True)
    assert [p["title"] for p in api["items"]] == [r["title"] for r in rows]
    assert sorted(r["title"] for r in rows) == [f"Simhall {n}" for n in range(4)]
    assert [int(r["id"]) for r in rows] == [p["id"] for p in api["items"]]
    assert all(r["provider_name"] == "Org B AB" and r["ownership"] == "private" for r in rows)
    for item in api["items"]:
        assert f'href="/publicerat/{item["id"]}"' in page
    assert api["total"] == 4


def test_providers_list_and_detail(client, data):
    w = data["w"]
    listed = client.get("/api/v1/providers").get_json()
    assert [p["name"] for p in listed["items"]] == ["Org A AB", "Org B AB"]
    counts = {p["name"]: p["publication_count"] for p in listed["items"]}
    assert counts == {"Org A AB": 1, "Org B AB": 0}  # the withdrawn one does not count
    detail = client.get(f"/api/v1/providers/{w.org_b.id}").get_json()
    assert {(a["service_area"]["name"], a["route"]) for a in detail["agreements"]} == {
        ("Hemtjänst", "customer_choice"),
        ("Simhall", "customer_choice"),
    }
    assert detail["agreements"][0]["starts_on"] == "2025-01-01"
    assert detail["feed_url"].endswith(f"/flode.atom?provider={w.org_b.id}")
    filtered = client.get(f"/api/v1/providers?service_area={w.area_y.id}").get_json()
    assert [p["name"] for p in filtered["items"]] == ["Org B AB"]
    rows = list(
        csv.DictReader(io.StringIO(client.get("/api/v1/providers.csv").get_data(as_text=True)[1:]))
    )
    assert [r["name"] for r in rows] == ["Org A AB", "Org B AB"]
    page = text_of(client.get("/utforare"))
    assert "Org A AB" in page and "Org B AB" in page


def test_withdrawn_publication_answers_410_with_the_reason(client, data):
    gone = client.get(f"/api/v1/publications/{data['gone'].id}")
    assert gone.status_code == 410
    body = gone.get_json()
    assert body["state"] == "withdrawn"
    assert body["withdrawn_reason"] == "Innehöll en felaktig uppgift"
    assert "answers" not in body and "documents" not in body


def test_open_data_may_be_read_from_any_origin(client, data):
    for url in ("/api/v1/publications", "/api/v1/publications.csv", "/api/v1/openapi.json"):
        assert client.get(url).headers["Access-Control-Allow-Origin"] == "*"
