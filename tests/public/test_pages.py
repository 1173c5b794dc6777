"""The public pages: what a citizen reads on the start page, a publication, a withdrawn
publication, a deviation report and an action plan, a provider, and the about pages."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from portal import workflow
from portal.dates import STOCKHOLM
from portal.extensions import db
from portal.models import FieldType, Ownership, RequestField, Role, Route, SubmissionKind
from tests.conftest import text_of


def fields():
    return [
        RequestField(position=1, label="Antal brukare", type=FieldType.NUMBER, unit="personer"),
        RequestField(position=2, label="Andel med examen", type=FieldType.PERCENTAGE, unit="%"),
        RequestField(position=3, label="Ledningssystem finns", type=FieldType.YES_NO),
        RequestField(position=4, label="Senaste egenkontroll", type=FieldType.DATE),
        RequestField(position=5, label="Arbetssätt", type=FieldType.TEXT),
        RequestField(
            position=6, label="Antal klagomål", type=FieldType.NUMBER, unit="st", required=False
        ),
        RequestField(position=7, label="Namn på kontaktperson", type=FieldType.TEXT),
    ]


@pytest.fixture
def answer(make, w):
    return make.publication(
        w,
        title="Kvalitetsredovisning 2026: Org A",
        summary="Svar på årets frågor.",
        fields=fields(),
        answers={
            1: "1234",
            2: "78,5",
            3: "yes",
            4: "2026-10-14",
            5: "Kontaktmannaskap.\nVeckovisa möten.",
            6: "",
            7: "Anna Andersson",
        },
    )


def test_start_page(client, make, w, answer):
    make.publication(w, w.org_b, area=w.area_y, title="Simhallens redovisning")
    response = client.get("/")
    assert response.status_code == 200
    page = text_of(response)
    assert "Insyn i kommunens utförare" in page
    assert "Sök bland det som har publicerats" in page
    # The latest publications, newest first, and entry points with counts.
    latest = re.findall(
        r'class="result-title"><a href="[^"]+">([^<]+)<', response.get_data(as_text=True)
    )
    assert latest == ["Simhallens redovisning", "Kvalitetsredovisning 2026: Org A"]
    html = response.get_data(as_text=True)
    assert f'href="/sok?service_area={w.area_x.id}">Hemtjänst</a>' in html
    assert f'href="/sok?committee={w.committee_y.id}">{w.committee_y.name}</a>' in html
    assert "1 publicering" in page and "Visa allt som har publicerats (2)" in page
    assert "kommunallagen" in page
    assert 'role="search"' in html and 'lang="sv"' in html


def test_publication_page_shows_public_answers_in_plain_words(client, answer, w):
    # The publisher hides the contact person's name and publishes a redacted wording.
    keys = [f.key for f in answer.submission.request.fields]
    answer.answer_keys = keys[:6]
    answer.redacted_answers = {keys[6]: "[Namnet är borttaget]"}
    db.session.commit()
    response = client.get(f"/publicerat/{answer.id}")
    assert response.status_code == 200
    page = text_of(response)
    for expected in (
        "Insynsinformation",
        "Kvalitetsredovisning 2026: Org A",
        "Org A AB",
        "(Privat)",
        w.committee_x.name,
        "Hemtjänst",
        answer.submission.registration_number,
        "Svar på årets frågor.",
        "Antal brukare 1 234 personer",
        "Andel med examen 78,5 %",
        "Ledningssystem finns Ja",
        "Senaste egenkontroll 14 oktober 2026",
        "Antal klagomål Inget svar",
        "[Namnet är borttaget]",
        "Jämför svaren med andra utförare i hemtjänst",
    ):
        assert expected in page, expected
    assert "Anna Andersson" not in page
    html = response.get_data(as_text=True)
    assert '<span class="prose">Kontaktmannaskap.\nVeckovisa möten.</span>' in html
    published_on = answer.published_at.astimezone(STOCKHOLM).date()
    assert f'<time datetime="{published_on.isoformat()}">' in html
    assert "<h1>Kvalitetsredovisning 2026: Org A</h1>" in html


def test_withdrawn_publication_keeps_a_notice_and_loses_its_content(client, answer, w):
    workflow.withdraw_publication(answer, w.publisher, "Innehöll en felaktig siffra")
    db.session.commit()
    response = client.get(f"/publicerat/{answer.id}")
    assert response.status_code == 410
    page = text_of(response)
    assert "Publiceringen är återkallad" in page
    assert "Skäl: Innehöll en felaktig siffra" in page
    assert "Kvalitetsredovisning 2026: Org A" in page
    assert "1 234" not in page and "Svar på årets frågor." not in page
    assert "Kontaktmannaskap" not in page


def test_deviation_report_and_action_plan_pages(client, make, w):
    author = make.user(Role.PROVIDER_USER, provider_=w.org_a)
    deviation = make.report(
        SubmissionKind.DEVIATION_REPORT,
        w.org_a,
        w.committee_x,
        author,
        title="Fördröjd läkemedelsutdelning",
    )
    make.answered(
        deviation,
        w.reviewer_x,
        {
            "category": "deviation",
            "severity": "medium",
            "occurred_on": "2026-03-02",
            "description": "Kvällens läkemedel delades ut två timmar sent.",
            "immediate_measures": "Extra personal inkallad.",
        },
        author=author,
    )
    deviation_pub = make.published(deviation, w.publisher)
    plan = make.report(
        SubmissionKind.ACTION_PLAN,
        w.org_a,
        w.committee_x,
        author,
        title="Åtgärdsplan: läkemedel",
        deviation=deviation,
    )
    make.answered(
        plan,
        w.reviewer_x,
        {
            "measures": [
                {
                    "description": "Ny rutin för överlämning",
                    "owner": "Enhetschef",
                    "due": "2026-04-01",
                    "status": "in_progress",
                }
            ]
        },
        author=author,
    )
    plan_pub = make.published(plan, w.publisher)

    page = text_of(client.get(f"/publicerat/{deviation_pub.id}"))
    for expected in (
        "Avvikelserapport",
        "Redovisning",
        "Kategori Avvikelse",
        "Allvarlighetsgrad Medel",
        "Inträffade 2 mars 2026",
        "Vad hände Kvällens läkemedel delades ut två timmar sent.",
        "Omedelbara åtgärder Extra personal inkallad.",
        "Hör ihop med",
        "Åtgärdsplan: läkemedel",
    ):
        assert expected in page, expected
    response = client.get(f"/publicerat/{plan_pub.id}")
    html = response.get_data(as_text=True)
    page = text_of(response)
    assert '<caption class="visually-hidden">Åtgärder</caption>' in html
    assert "Ny rutin för överlämning Enhetschef 1 april 2026 Pågår" in page
    assert "Fördröjd läkemedelsutdelning" in page  # the deviation it answers


def test_provider_page(client, make, w):
    make.agreement(
        w.org_a,
        w.area_y,
        route=Route.PROCUREMENT,
        starts_on=date(2024, 7, 1),
        ends_on=date(2027, 6, 30),
    )
    for n in range(22):
        p = make.publication(w, title=f"Rapport {n:02d}")
        p.published_at = datetime(2025, 1, 1 + n, tzinfo=UTC)
    db.session.commit()
    response = client.get(f"/utforare/{w.org_a.id}")
    page = text_of(response)
    assert "<h1>Org A AB</h1>" in response.get_data(as_text=True)
    for expected in (
        "Regiform Privat",
        f"Organisationsnummer {w.org_a.org_number}",
        "Kundval (LOV)",
        "Upphandling (LOU)",
        "1 juli 2024 – 30 juni 2027",
        "1 januari 2025 – tills vidare",
        "Publicerat om utföraren (22)",
    ):
        assert expected in page, expected
    titles = re.findall(
        r'class="result-title"><a href="[^"]+">([^<]+)<', response.get_data(as_text=True)
    )
    assert titles == [f"Rapport {n:02d}" for n in range(21, 1, -1)]
    second = client.get(f"/utforare/{w.org_a.id}?page=2")
    assert re.findall(
        r'class="result-title"><a href="[^"]+">([^<]+)<', second.get_data(as_text=True)
    ) == ["Rapport 01", "Rapport 00"]
    assert client.get("/utforare/999999").status_code == 404


def test_providers_list_filters(client, make, w):
    own = make.provider("Egen regi hemtjänst", Ownership.IN_HOUSE)
    make.agreement(own, w.area_x)
    db.session.commit()
    page = text_of(client.get("/utforare"))
    assert "3 utförare" in page
    only = text_of(client.get("/utforare?ownership=in_house"))
    assert "Egen regi hemtjänst" in only and "Org A AB" not in only
    swim = text_of(client.get(f"/utforare?service_area={w.area_y.id}"))
    assert "Org B AB" in swim and "Org A AB" not in swim
    assert client.get("/utforare?ownership=x").status_code == 400


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "/om",
            [
                "Om Insyn",
                "kommunallagen (10 kap. 7–9 §§)",
                "offentlighets- och sekretesslagen",
                "Återkallade publiceringar",
            ],
        ),
        (
            "/tillganglighet",
            [
                "Tillgänglighetsredogörelse",
                "WCAG 2.1",
                "delvis förenlig",
                "Digg",
                "Innehåll som inte är tillgängligt",
                "Redogörelsen uppdaterades senast den 23 november 2026.",
            ],
        ),
        (
            "/oppna-data",
            ["Öppna data", "/api/v1/openapi.json", "ISO 8601", "If-None-Match", "Atom"],
        ),
    ],
)
def test_information_pages(client, url, expected):
    response = client.get(url)
    assert response.status_code == 200
    page = text_of(response)
    for text in expected:
        assert text in page, text


def test_every_public_page_links_to_the_information_pages(client, answer, w):
    for url in (
        "/",
        "/sok",
        f"/publicerat/{answer.id}",
        f"/utforare/{w.org_a.id}",
        "/jamfor",
        "/om",
    ):
        html = client.get(url).get_data(as_text=True)
        for href in ('href="/om"', 'href="/tillganglighet"', 'href="/oppna-data"'):
            assert href in html, (url, href)


def test_public_pages_work_without_a_session_or_script(client, answer, w):
    """No cookie is needed or set, no form posts, and no script at all."""
    for url in (
        "/",
        "/sok?q=kvalitet",
        f"/publicerat/{answer.id}",
        f"/utforare/{w.org_a.id}",
        f"/jamfor/{answer.submission.request_id}",
    ):
        response = client.get(url)
        html = response.get_data(as_text=True)
        assert "Set-Cookie" not in response.headers, url
        assert "<script" not in html and 'method="post"' not in html, url
        assert "style=" not in html, url
