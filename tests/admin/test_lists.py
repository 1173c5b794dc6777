"""Every staff list: a search or filter narrows the page and its CSV export alike.

The table names each list with the query that should find one object ("Alfa…") and leave
out its twin ("Beta…"); :func:`test_every_list_is_in_the_table` fails when a new list view
is added without a line here.
"""

from __future__ import annotations

from datetime import timedelta

from portal import workflow
from portal.dates import today
from portal.extensions import db
from portal.models import Finding, FollowUpForm, FollowUpItem, FollowUpPlan, Role
from tests.admin.helpers import answer
from tests.conftest import text_of

# endpoint → (path with query, who looks, (page hit, page miss), (CSV hit, CSV miss)); the
# CSV of the follow-up plans lists their items, so it is searched by the item's responsible.
LISTS = {
    "admin.committees": ("/handlaggare/namnder?q=VON", "admin", ("Nämnd VON", "Nämnd KFN"), None),
    "admin.service_areas": (
        "/handlaggare/verksamhetsomraden?q=simhall",
        "admin",
        ("Simhall", "Hemtjänst"),
        None,
    ),
    "admin.providers": (
        "/handlaggare/utforare?q={orgnr_b}",
        "reviewer_x",
        ("Org B AB", "Org A AB"),
        None,
    ),
    "admin.agreements": (
        "/handlaggare/avtal?q={ref_a}",
        "reviewer_x",
        ("{ref_a}", "{ref_b}"),
        None,
    ),
    "admin.requests": (
        "/handlaggare/begaranden?q=alfaredovisning",
        "reviewer_x",
        ("Alfaredovisning", "Betaredovisning"),
        None,
    ),
    "admin.queue": (
        "/handlaggare/arenden?status=alla&q=alfaredovisning",
        "reviewer_x",
        ("Alfaredovisning", "Betaredovisning"),
        None,
    ),
    "admin.findings": (
        "/handlaggare/iakttagelser?q=alfabrist",
        "reviewer_x",
        ("Alfabrist", "Betabrist"),
        None,
    ),
    "admin.plans": (
        "/handlaggare/uppfoljningsplaner?q=ström",
        "reviewer_x",
        ("Uppföljningsplan 2027", "Uppföljningsplan 2028"),
        ("Eva Ström", "Lars Ek"),
    ),
    "admin.publishing": (
        "/handlaggare/publicering?q=alfagodkänd",
        "publisher",
        ("Alfagodkänd", "Betagodkänd"),
        None,
    ),
    "admin.publications": (
        "/handlaggare/publiceringar?q=alfapublicerad",
        "publisher",
        ("Alfapublicerad", "Betapublicerad"),
        None,
    ),
    "admin.audit_log": (
        "/handlaggare/logg?handelse=finding",
        "admin",
        ("Iakttagelse registrerad", "Begäran skickad"),  # the page names the action
        ("finding.record", "request.issue"),  # the CSV keeps the code beside it
    ),
    "admin.staff_users": (
        "/handlaggare/anvandare?q=alfahandläggare",
        "admin",
        ("Alfahandläggare", "Betahandläggare"),
        None,
    ),
}
# Endpoints that are not lists of objects (a single object's page, a form, a document, the
# address of a button opened with GET).
# Pages that are not searchable lists (the failed-jobs page is a short status page: what
# failed is few rows, resolved by "Kör igen").
NOT_LISTS = {"admin.start", "admin.yearly_report", "admin.staff_two_factor_page", "admin.jobs"}


def _two_of_everything(w, make):
    for twin in ("Alfa", "Beta"):
        make.user(Role.REVIEWER, committees=[w.committee_x], name=f"{twin}handläggare")
        (sub,) = make.info_request(
            w.committee_x, [w.org_a], w.reviewer_x, title=f"{twin}redovisning"
        )
        answer(sub, w.user_a, {"a": "1"})
        for stage in ("godkänd", "publicerad"):
            (done,) = make.info_request(
                w.committee_x, [w.org_a], w.reviewer_x, title=f"{twin}{stage}"
            )
            answer(done, w.user_a, {"a": "1"})
            workflow.approve(done, w.reviewer_x)
            if stage == "publicerad":
                workflow.publish(
                    done,
                    w.publisher,
                    title=f"{twin}publicerad",
                    summary="",
                    answer_keys=[],
                    documents=[],
                )
        workflow.record_finding(
            Finding(
                agreement=w.org_a.agreements[0],
                assessed_on=today(),
                meets_requirements=False,
                deficiencies=f"{twin}brist",
                action_plan_due=today() + timedelta(days=30),
            ),
            w.reviewer_x,
        )
    for year, responsible in ((2027, "Eva Ström"), (2028, "Lars Ek")):
        plan = FollowUpPlan(committee=w.committee_x, year=year)
        plan.items = [
            FollowUpItem(
                service_area=w.area_x,
                form=FollowUpForm.SUPERVISION,
                responsible=responsible,
                interval="Löpande",
            )
        ]
        db.session.add(plan)
    db.session.commit()


def test_every_list_is_in_the_table(app):
    listing = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("admin.")
        and "<" not in rule.rule
        and rule.methods & {"GET"}
        and not rule.rule.endswith((".docx", "/ny"))
    }
    assert listing - NOT_LISTS == set(LISTS)


def test_every_list_searches_its_page_and_its_csv(w, make, browser):
    _two_of_everything(w, make)
    refs = {
        "ref_a": w.org_a.agreements[0].reference,
        "orgnr_b": w.org_b.org_number,
        "ref_b": next(
            a for a in w.org_b.agreements if a.committee_id == w.committee_x.id
        ).reference,
    }
    clients = {}
    for endpoint, (path, who, (hit, miss), csv_terms) in LISTS.items():
        path, hit, miss = (s.format(**refs) for s in (path, hit, miss))
        client = clients.setdefault(who, browser(getattr(w, who)))
        page = client.get(path)
        assert page.status_code == 200, endpoint
        assert hit in text_of(page) and miss not in text_of(page), endpoint
        csv = client.get(f"{path}&format=csv")
        assert csv.status_code == 200 and csv.mimetype == "text/csv", endpoint
        body = csv.get_data()
        assert body.startswith(b"\xef\xbb\xbf"), endpoint
        rows = body.decode("utf-8-sig").strip().split("\r\n")
        csv_hit, csv_miss = csv_terms or (hit, miss)
        assert len(rows) >= 2 and ";" in rows[0], endpoint
        assert csv_hit in rows[1] and csv_miss not in "\n".join(rows), endpoint
