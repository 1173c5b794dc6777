"""Compare providers: one row per provider that got the request, "Inget svar" for one
that did not answer, numbers right-aligned with units, sortable by links, and the CSV and
the API saying the same as the page."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from lxml import html as lxml_html

from portal import workflow
from portal.models import FieldType, Ownership, RequestField
from tests.conftest import text_of


@pytest.fixture
def setup(make, w):
    org_c = make.provider("Kommunens hemtjänst", Ownership.IN_HOUSE)
    org_d = make.provider("Dröjsamma Omsorg AB")
    for org in (org_c, org_d):
        make.agreement(org, w.area_x)
    fields = [
        RequestField(position=1, label="Antal brukare", type=FieldType.NUMBER, unit="personer"),
        RequestField(
            position=2, label="Andel med undersköterskeexamen", type=FieldType.PERCENTAGE, unit="%"
        ),
        RequestField(position=3, label="Ledningssystem finns", type=FieldType.YES_NO),
        RequestField(position=4, label="Arbetssätt", type=FieldType.TEXT),
        RequestField(
            position=5, label="Antal klagomål", type=FieldType.NUMBER, unit="st", required=False
        ),
        RequestField(
            position=6,
            label="Intern kommentar",
            type=FieldType.TEXT,
            for_publication=False,
            required=False,
        ),
    ]
    subs = make.info_request(
        w.committee_x,
        [w.org_a, w.org_b, org_c, org_d],
        w.reviewer_x,
        service_area=w.area_x,
        title="Kvalitetsredovisning 2026",
        fields=fields,
    )
    a, b, c, d = subs
    k = [f.key for f in a.request.fields]
    make.answered(
        a,
        w.reviewer_x,
        {
            k[0]: "1 420",
            k[1]: "78",
            k[2]: "yes",
            k[3]: "Kontaktmannaskap",
            k[4]: "",
            k[5]: "internt",
        },
    )
    make.answered(
        b,
        w.reviewer_x,
        {k[0]: "64", k[1]: "65,5", k[2]: "no", k[3]: "Små arbetslag", k[4]: "3", k[5]: "internt"},
    )
    make.answered(d, w.reviewer_x, {k[0]: "999", k[1]: "1", k[2]: "yes", k[3]: "hemligt"})
    pub_a = make.published(a, w.publisher, title="Svar från Org A", answer_keys=k[:5])
    make.published(b, w.publisher, title="Svar från Org B", answer_keys=k[:5])
    workflow.save_draft(c, make.user(make.Role.PROVIDER_USER, provider_=org_c), {k[0]: "7"})
    from portal.extensions import db

    db.session.commit()
    return {"request": a.request, "keys": k, "pub_a": pub_a, "c": org_c, "d": org_d}


def table_rows(response) -> dict[str, list[str]]:
    """Provider name → the texts of its cells (field columns only), from the page."""
    doc = lxml_html.fromstring(response.get_data(as_text=True))
    rows = {}
    for tr in doc.xpath('//table[contains(@class, "compare")]/tbody/tr'):
        name = tr.xpath("./th")[0].text_content().strip()
        cells = [" ".join(td.text_content().split()) for td in tr.xpath("./td")]
        rows[name] = cells[1:-1]  # without ownership and the link
    return rows


def row_order(response) -> list[str]:
    return list(table_rows(response))


def test_table_has_a_row_per_provider_and_spells_out_what_is_missing(client, setup):
    response = client.get(f"/jamfor/{setup['request'].id}")
    assert response.status_code == 200
    rows = table_rows(response)
    # (Whitespace collapsed: the page keeps number, unit and thousands together with
    # no-break spaces.)
    assert rows["Org A AB"] == ["1 420 personer", "78 %", "Ja", "Kontaktmannaskap", "Inget svar"]
    assert rows["Org B AB"] == ["64 personer", "65,5 %", "Nej", "Små arbetslag", "3 st"]
    assert "1\u00a0420\u00a0personer" in response.get_data(as_text=True)
    # The one that did not answer, and the one whose answer is not published.
    assert rows["Kommunens hemtjänst"] == ["Inget svar"]
    assert rows["Dröjsamma Omsorg AB"] == ["Ej publicerad"]
    page = text_of(response)
    assert "hemligt" not in page and "999" not in page and "internt" not in page
    assert "Intern kommentar" not in page
    assert "Publicerade svar 2 av 4 utförare" in page
    # The legend explains the words.
    assert "Utföraren har inte lämnat något svar på frågan." in page


def test_numbers_are_right_aligned_and_headers_are_real_table_headers(client, setup):
    doc = lxml_html.fromstring(client.get(f"/jamfor/{setup['request'].id}").get_data(as_text=True))
    table = doc.xpath('//table[contains(@class, "compare")]')[0]
    assert table.xpath("./caption")[0].text_content().strip().startswith("Utförarnas svar")
    headers = table.xpath("./thead/tr/th")
    assert all(th.get("scope") == "col" for th in headers)
    numeric = [th.text_content().split()[0] for th in headers if th.get("class") == "num"]
    assert numeric == ["Antal", "Andel", "Antal"]
    org_a = table.xpath('./tbody/tr[th//a[text()="Org A AB"]]')[0]
    assert org_a.xpath("./th")[0].get("scope") == "row"
    assert [td.get("class") for td in org_a.xpath("./td")] == [
        None,
        "num",
        "num",
        "yes_no",
        "text",
        "num",
        None,
    ]
    # Every row links to its answer; the one without a published answer says so.
    assert org_a.xpath(".//a[contains(@href, '/publicerat/')]")
    assert "Inget publicerat svar" in text_of(client.get(f"/jamfor/{setup['request'].id}"))


def test_sorting_by_links_without_javascript(client, setup):
    request_id, key = setup["request"].id, setup["keys"][0]
    default = client.get(f"/jamfor/{request_id}")
    assert row_order(default) == [
        "Dröjsamma Omsorg AB",
        "Kommunens hemtjänst",
        "Org A AB",
        "Org B AB",
    ]
    html = default.get_data(as_text=True)
    assert f'href="/jamfor/{request_id}?sort={key}&amp;order=asc#jamforelse"' in html
    assert 'aria-sort="ascending"' in html

    descending = client.get(f"/jamfor/{request_id}?sort={key}&order=desc")
    # Providers without a value come last whichever the direction.
    assert row_order(descending) == [
        "Org A AB",
        "Org B AB",
        "Dröjsamma Omsorg AB",
        "Kommunens hemtjänst",
    ]
    assert 'aria-sort="descending"' in descending.get_data(as_text=True)
    ascending = client.get(f"/jamfor/{request_id}?sort={key}&order=asc")
    assert row_order(ascending) == [
        "Org B AB",
        "Org A AB",
        "Dröjsamma Omsorg AB",
        "Kommunens hemtjänst",
    ]
    percent = client.get(f"/jamfor/{request_id}?sort={setup['keys'][1]}&order=desc")
    assert row_order(percent)[:2] == ["Org A AB", "Org B AB"]
    by_name = client.get(f"/jamfor/{request_id}?sort=provider&order=desc")
    assert row_order(by_name) == [
        "Org B AB",
        "Org A AB",
        "Kommunens hemtjänst",
        "Dröjsamma Omsorg AB",
    ]
    # Unknown sort keys fall back to the provider name rather than failing.
    assert row_order(client.get(f"/jamfor/{request_id}?sort=nope")) == row_order(default)


def read_csv(response, delimiter: str = ",") -> list[dict]:
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(body[1:]), delimiter=delimiter))


def page_number(text: str) -> Decimal:
    """ "1 420 personer" → 1420, "65,5 %" → 65.5 (Swedish grouping and decimal comma)."""
    number = re.match(r"[\d\s\u00a0,]+", text).group(0)
    return Decimal(re.sub(r"[\s\u00a0]", "", number).replace(",", "."))


def test_csv_and_api_agree_with_the_page(client, setup):
    request_id, keys = setup["request"].id, setup["keys"]
    page = table_rows(client.get(f"/jamfor/{request_id}"))

    download = client.get(f"/jamfor/{request_id}.csv")
    assert download.status_code == 200
    assert download.mimetype == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"]
    # For people: Swedish Excel (";" between fields, decimal comma).
    rows = {r["Utförare"]: r for r in read_csv(download, delimiter=";")}
    assert set(rows) == set(page)
    assert rows["Org A AB"]["Antal brukare (personer)"] == "1420"
    assert rows["Org B AB"]["Andel med undersköterskeexamen (%)"] == "65,5"
    assert rows["Org B AB"]["Ledningssystem finns"] == "Nej"
    assert rows["Kommunens hemtjänst"]["Status"] == "Inget svar"
    assert rows["Dröjsamma Omsorg AB"]["Status"] == "Ej publicerad"
    assert rows["Dröjsamma Omsorg AB"]["Antal brukare (personer)"] == ""
    assert rows["Org A AB"]["Länk"] == f"http://insyn.test/publicerat/{setup['pub_a'].id}"
    assert rows["Kommunens hemtjänst"]["Länk"] == ""

    api = client.get(f"/api/v1/comparisons/{request_id}").get_json()
    by_name = {r["provider"]["name"]: r for r in api["rows"]}
    assert set(by_name) == set(page)
    assert [c["key"] for c in api["columns"]] == keys[:5]
    assert by_name["Org A AB"]["values"][keys[0]] == 1420
    assert by_name["Org B AB"]["values"][keys[1]] == 65.5
    assert by_name["Org B AB"]["values"][keys[2]] is False
    assert by_name["Org A AB"]["statuses"][keys[4]] == "not_answered"
    assert by_name["Kommunens hemtjänst"]["status"] == "not_answered"
    assert by_name["Dröjsamma Omsorg AB"]["status"] == "not_published"
    assert set(by_name["Dröjsamma Omsorg AB"]["values"].values()) == {None}

    api_csv = {
        r["provider_name"]: r for r in read_csv(client.get(f"/api/v1/comparisons/{request_id}.csv"))
    }
    # Every numeric cell of the page is the same number in the CSV and the API.
    for name, cells in page.items():
        if by_name[name]["status"] != "published":
            continue
        for key, cell in zip(keys[:2], cells[:2], strict=True):
            value = by_name[name]["values"][key]
            assert page_number(cell) == Decimal(str(value))
            assert Decimal(api_csv[name][key]) == Decimal(str(value))


def test_compare_index_lists_comparable_requests_only(client, make, setup, w):
    # A request to one provider, not to a service area, is not comparable.
    (single,) = make.info_request(w.committee_x, [w.org_a], w.reviewer_x, title="Enskild fråga")
    make.answered(single, w.reviewer_x, {"f1": "x"})
    make.published(single, w.publisher)
    page = text_of(client.get("/jamfor"))
    assert "Kvalitetsredovisning 2026" in page and "2 publicerade svar" in page
    assert "Hemtjänst" in page and "Enskild fråga" not in page
    listed = client.get("/api/v1/comparisons").get_json()["items"]
    assert [(i["request_id"], i["published_answers"]) for i in listed] == [(setup["request"].id, 2)]
    assert client.get(f"/jamfor/{single.request_id}").status_code == 404


def test_a_request_without_published_answers_cannot_be_compared(client, make, w):
    (sub,) = make.info_request(w.committee_x, [w.org_a], w.reviewer_x, service_area=w.area_x)
    make.answered(sub, w.reviewer_x, {"f1": "x"})
    from portal.extensions import db

    db.session.commit()
    assert client.get(f"/jamfor/{sub.request_id}").status_code == 404
    assert client.get(f"/jamfor/{sub.request_id}.csv").status_code == 404
    assert client.get(f"/api/v1/comparisons/{sub.request_id}").status_code == 404
    assert "Kvalitetsredovisning" not in text_of(client.get("/jamfor"))
