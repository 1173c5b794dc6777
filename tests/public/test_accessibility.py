"""WCAG 2.1 AA in a real browser: axe-core on every kind of public page, at desktop and
phone width, must find nothing; the pages fit a 360 px screen; keyboard focus is visible
and follows the reading order."""

from __future__ import annotations

import pytest

from portal import workflow
from portal.extensions import db
from portal.models import FieldType, Ownership, RequestField, Role, SubmissionKind
from tests.browser import AXE_OPTIONS
from tests.pdfs import pdf_bytes


@pytest.fixture
def app_config(app_config, clamd_url):
    app_config["CLAMD_URL"] = clamd_url  # the publication page shows a downloadable document
    return app_config


@pytest.fixture
def site(make, w):
    """Every kind of content: answers of each type, a document, a comparison with a
    provider that did not answer, a deviation report, an action plan, a withdrawn page."""
    in_house = make.provider("Kommunens hemtjänst", Ownership.IN_HOUSE)
    make.agreement(in_house, w.area_x)
    fields = [
        RequestField(position=1, label="Antal brukare", type=FieldType.NUMBER, unit="personer"),
        RequestField(position=2, label="Andel med examen", type=FieldType.PERCENTAGE),
        RequestField(position=3, label="Ledningssystem finns", type=FieldType.YES_NO),
        RequestField(position=4, label="Senaste egenkontroll", type=FieldType.DATE),
        RequestField(position=5, label="Arbetssätt", type=FieldType.TEXT),
        RequestField(position=6, label="Kvalitetsberättelse", type=FieldType.FILE, required=False),
    ]
    subs = make.info_request(
        w.committee_x,
        [w.org_a, w.org_b, in_house],
        w.reviewer_x,
        service_area=w.area_x,
        fields=fields,
        title="Kvalitetsredovisning hemtjänst 2026",
    )
    keys = [f.key for f in subs[0].request.fields]
    make.answered(
        subs[0],
        w.reviewer_x,
        {
            keys[0]: "142",
            keys[1]: "78",
            keys[2]: "yes",
            keys[3]: "2026-10-14",
            keys[4]: "Kontaktmannaskap och veckovisa avstämningar.",
        },
        [(keys[5], "kvalitetsberattelse.pdf", pdf_bytes("Kvalitetsberättelse 2026"))],
    )
    answer = make.published(
        subs[0],
        w.publisher,
        title="Kvalitetsredovisning: Org A",
        summary="Org A:s svar på kommunens årliga frågor.",
    )
    make.answered(
        subs[1],
        w.reviewer_x,
        {
            keys[0]: "64",
            keys[1]: "65,5",
            keys[2]: "no",
            keys[3]: "2026-09-01",
            keys[4]: "Små arbetslag.",
        },
    )
    make.published(subs[1], w.publisher, title="Kvalitetsredovisning: Org B")

    author = make.user(Role.PROVIDER_USER, provider_=w.org_a)
    deviation = make.report(
        SubmissionKind.DEVIATION_REPORT,
        w.org_a,
        w.committee_x,
        author,
        title="Fördröjd insats",
        service_area=w.area_x,
    )
    make.answered(
        deviation,
        w.reviewer_x,
        {
            "category": "deviation",
            "severity": "medium",
            "occurred_on": "2026-03-02",
            "description": "Insatsen kom två timmar sent.",
            "immediate_measures": "Ny rutin.",
        },
        author=author,
    )
    make.published(deviation, w.publisher)
    plan = make.report(
        SubmissionKind.ACTION_PLAN,
        w.org_a,
        w.committee_x,
        author,
        title="Åtgärdsplan: insatser i tid",
        deviation=deviation,
    )
    make.answered(
        plan,
        w.reviewer_x,
        {
            "measures": [
                {
                    "description": "Schemaläggning ses över",
                    "owner": "Enhetschef",
                    "due": "2026-05-01",
                    "status": "in_progress",
                }
            ]
        },
        author=author,
    )
    plan_pub = make.published(plan, w.publisher)
    gone = make.publication(w, w.org_b, title="Återkallad redovisning")
    workflow.withdraw_publication(gone, w.publisher, "Innehöll en felaktig uppgift")
    db.session.commit()
    return {
        "start": "/",
        "start (English)": "/?lang=en",
        "search": f"/sok?q=kvalitet&service_area={w.area_x.id}",
        "search without results": "/sok?q=finnsinte",
        "search error": "/sok?page=0",
        "publication": f"/publicerat/{answer.id}",
        "action plan": f"/publicerat/{plan_pub.id}",
        "withdrawn": f"/publicerat/{gone.id}",
        "providers": "/utforare",
        "provider": f"/utforare/{w.org_a.id}",
        "compare index": "/jamfor",
        "compare": f"/jamfor/{subs[0].request_id}?sort={keys[0]}&order=desc",
        "about": "/om",
        "accessibility": "/tillganglighet",
        "open data": "/oppna-data",
    }


@pytest.mark.parametrize("width", [1280, 360])
def test_axe_finds_no_violations(browser, axe, server, site, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    problems = {}
    for name, path in site.items():
        response = page.goto(server + path)
        assert response.status in (200, 400, 410), (name, response.status)
        results = axe.run(page, options=AXE_OPTIONS)
        assert len(results.response["passes"]) > 20, name  # axe really ran its rules
        if results.violations_count:
            problems[name] = results.generate_report()
        # Nothing wider than the screen (WCAG 1.4.10 reflow): tables scroll in their region.
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, (name, overflow)
    page.close()
    assert not problems, "\n\n".join(f"{name}:\n{report}" for name, report in problems.items())


def test_keyboard_reaches_skip_link_then_navigation_with_visible_focus(browser, server, site):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server + site["search"])
    page.keyboard.press("Tab")
    first = page.evaluate("document.activeElement.textContent.trim()")
    assert first == "Hoppa till innehållet"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    # After skipping, focus continues inside the main content: the search field's form.
    inside_main = page.evaluate("!!document.activeElement.closest('main')")
    assert inside_main
    page.close()


def test_compare_table_sorts_with_the_keyboard_alone(browser, server, site):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server + site["compare"].split("?")[0])
    link = page.get_by_role("link", name="Antal brukare")
    link.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "sort=" in page.url and "order=asc" in page.url
    header = page.locator("th[aria-sort]")
    assert header.get_attribute("aria-sort") == "ascending"
    assert "Antal brukare" in header.inner_text()
    page.close()
