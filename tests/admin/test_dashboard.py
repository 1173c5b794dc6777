"""The staff start page: figures per committee and the accessible SVG chart."""

from __future__ import annotations

import re
from datetime import timedelta
from xml.etree import ElementTree

from flask_login import login_user

from admin.dashboard import figures
from portal import charts, workflow
from portal.dates import today
from portal.extensions import db
from portal.models import Finding, SubmissionKind
from tests.admin.helpers import answer
from tests.conftest import text_of

SVG = "{http://www.w3.org/2000/svg}"


def build_the_week(w, make):
    """Committee X: one of everything the dashboard counts."""
    waiting, late, in_review, clarify = (
        make.info_request(w.committee_x, [w.org_a], w.reviewer_x, title=title)[0]
        for title in ("Väntar", "Sen", "Granskas", "Kompletteras")
    )
    late.deadline = today() - timedelta(days=3)
    answer(in_review, w.user_a, {"a": "1"})
    answer(clarify, w.user_a, {"a": "1"})
    workflow.ask_clarification(clarify, w.reviewer_x, "Mer", today() + timedelta(days=5))
    db.session.commit()

    high = make.report(SubmissionKind.DEVIATION_REPORT, w.org_a, w.committee_x, w.user_a)
    answer(high, w.user_a, {"severity": "high", "description": "Fall"})
    medium = make.report(SubmissionKind.DEVIATION_REPORT, w.org_a, w.committee_x, w.user_a)
    answer(medium, w.user_a, {"severity": "medium", "description": "Sen insats"})
    workflow.approve(medium, w.reviewer_x)
    plan = make.report(
        SubmissionKind.ACTION_PLAN, w.org_a, w.committee_x, w.user_a, deviation=medium
    )
    answer(
        plan,
        w.user_a,
        {
            "measures": [
                {
                    "description": "Rutin",
                    "owner": "Chef",
                    "due": (today() - timedelta(days=1)).isoformat(),
                    "status": "planned",
                }
            ]
        },
    )
    workflow.approve(plan, w.reviewer_x)
    handled = make.report(SubmissionKind.DEVIATION_REPORT, w.org_a, w.committee_x, w.user_a)
    answer(handled, w.user_a, {"severity": "low"})
    workflow.approve(handled, w.reviewer_x)  # approved, no open plan: not open any more

    finding = Finding(
        agreement=w.org_a.agreements[0],
        assessed_on=today(),
        meets_requirements=False,
        deficiencies="Brist",
        action_plan_due=today() + timedelta(days=2),
    )
    requested = workflow.record_finding(finding, w.reviewer_x)
    requested.deadline = today() - timedelta(days=1)
    db.session.commit()


def test_figures_per_committee(w, make, app):
    build_the_week(w, make)
    with app.test_request_context():
        login_user(w.reviewer_x)
        with_committee = figures()
    x = with_committee[w.committee_x.id]
    assert x.waiting_for_answer == 3  # two requests and one requested action plan
    assert x.overdue == 2  # the late request and the late action plan
    assert x.in_review == 2  # an answer and the high deviation
    assert x.clarification == 1
    assert dict(x.deviations) == {"high": 1, "medium": 1}
    assert x.plans_overdue == 2  # not delivered in time, and a measure past its due date
    assert w.committee_y.id not in with_committee


def test_dashboard_page_and_chart(w, make, browser):
    build_the_week(w, make)
    response = browser(w.reviewer_x).get("/handlaggare/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert not re.search(r"\sstyle\s*=", html), "the CSP forbids inline styles"
    page = text_of(response)
    assert "3 Väntar på svar" in page and "2 Försenade svar" in page
    assert "2 Att granska" in page and "1 Komplettering begärd" in page
    assert "2 Öppna avvikelser" in page and "2 Försenade åtgärdsplaner" in page
    svg = html[html.index("<svg") : html.index("</svg>") + 6]
    root = ElementTree.fromstring(svg)
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby").split()
    assert root.find(f"{SVG}title").get("id") == title_id
    desc = root.find(f"{SVG}desc")
    assert desc.get("id") == desc_id
    assert desc.text == (
        "Väntar på svar: 3, Försenade svar: 2, Att granska: 2, "
        "Komplettering begärd: 1, Öppna avvikelser: 2, "
        "Försenade åtgärdsplaner: 2."
    )
    assert "Avvikelser, hög" in page and "Avvikelser, medel" in page

    other = text_of(browser(w.reviewer_y).get("/handlaggare/"))
    assert "0 Väntar på svar" in other and "Nämnd VON" not in other


def test_chart_escapes_labels_and_scales_bars():
    svg = charts.bar_chart(
        "c",
        "Titel <b>",
        [charts.Bar("<script>", 10), charts.Bar("Noll", 0), charts.Bar("Hälften", 5)],
        width=500,
    )
    root = ElementTree.fromstring(str(svg))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "<script>" in texts and root.find(f"{SVG}title").text == "Titel <b>"
    widths = [float(r.get("width")) for r in root.iter(f"{SVG}rect")]
    assert widths[0] == 2 * widths[2] and widths[1] == 2
    assert "style" not in str(svg)
