"""Findings on agreements (with the action plans they request) and follow-up plans."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from portal.dates import today
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Finding,
    FollowUpForm,
    FollowUpItem,
    FollowUpPlan,
    ReviewEvent,
    ReviewState,
    Submission,
    SubmissionKind,
)
from tests.conftest import text_of


def finding_form(**values) -> dict:
    data = {
        "assessed_on": today().isoformat(),
        "meets_requirements": "no",
        "deficiencies": "Genomförandeplaner saknas.",
        "goal_effect": "Målet om delaktighet nås inte.",
        "require_plan": "y",
        "plan_due": (today() + timedelta(days=30)).isoformat(),
    }
    data.update(values)
    return data


def test_a_finding_that_requires_an_action_plan_sends_the_request(w, browser):
    agreement = w.org_a.agreements[0]
    response = browser(w.reviewer_x).post(
        f"/handlaggare/avtal/{agreement.id}/iakttagelser/ny", data=finding_form()
    )
    assert response.status_code == 302
    finding = db.session.scalar(sa.select(Finding))
    assert not finding.meets_requirements and finding.action_plan_due == today() + timedelta(30)
    (plan,) = finding.action_plans
    assert plan.kind == SubmissionKind.ACTION_PLAN and plan.state == ReviewState.DRAFT
    assert plan.provider_id == w.org_a.id and plan.committee_id == w.committee_x.id
    assert plan.deadline == finding.action_plan_due and plan.agreement_id == agreement.id
    event = db.session.scalar(sa.select(ReviewEvent).filter_by(submission_id=plan.id))
    assert event.action == "request_action_plan" and event.comment == "Genomförandeplaner saknas."
    assert db.session.scalar(sa.select(AuditEvent).filter_by(action="finding.record"))

    page = text_of(browser(w.user_a).get("/utforare/"))
    assert "Åtgärdsplan" in page, "the provider sees the request"
    listing = text_of(browser(w.reviewer_x).get("/handlaggare/iakttagelser?uppfyller=nej"))
    assert "Genomförandeplaner saknas." in listing and "Inte inskickat ännu" in listing


def test_finding_rules(w, browser):
    agreement = w.org_a.agreements[0]
    client = browser(w.reviewer_x)
    url = f"/handlaggare/avtal/{agreement.id}/iakttagelser/ny"
    refused = client.post(
        url,
        data=finding_form(deficiencies="", plan_due=today().isoformat(), assessed_on="2999-01-01"),
    )
    assert refused.status_code == 422
    page = text_of(refused)
    assert "Beskriv bristerna när kraven inte uppfylls." in page
    assert "Datumet måste vara efter i dag." in page
    assert "Bedömningen kan inte vara gjord i framtiden." in page
    ok = client.post(
        url, data=finding_form(meets_requirements="yes", deficiencies="", require_plan="")
    )
    assert ok.status_code == 302
    finding = db.session.scalar(sa.select(Finding))
    assert finding.meets_requirements and finding.action_plan_due is None
    assert db.session.scalar(sa.select(Submission.id)) is None


def test_findings_of_another_committee(w, browser):
    agreement = w.org_a.agreements[0]
    client = browser(w.reviewer_y)
    url = f"/handlaggare/avtal/{agreement.id}/iakttagelser/ny"
    assert client.get(url).status_code == 404
    assert client.post(url, data=finding_form()).status_code == 404
    assert browser(w.publisher).post(url, data=finding_form()).status_code == 404
    assert db.session.scalar(sa.select(Finding.id)) is None


def test_findings_csv(w, browser):
    agreement = w.org_a.agreements[0]
    client = browser(w.reviewer_x)
    client.post(f"/handlaggare/avtal/{agreement.id}/iakttagelser/ny", data=finding_form())
    csv = client.get("/handlaggare/iakttagelser?format=csv").get_data().decode("utf-8-sig")
    header, row = csv.split("\r\n")[:2]
    assert header.startswith("Bedömd;Avtal;Utförare")
    assert "Genomförandeplaner saknas." in row and ";Nej;" in row and "Inte inskickat ännu" in row


def test_a_finding_form_shown_again_keeps_its_key_and_asks_for_one_plan(w, browser):
    """The key survives the form shown again after an error; posted again after it was
    recorded (a double click, or back and send), the form records nothing more."""
    import re

    agreement = w.org_a.agreements[0]
    client = browser(w.reviewer_x)
    url = f"/handlaggare/avtal/{agreement.id}/iakttagelser/ny"

    def key_of(response) -> str:
        return re.search(r'name="form_key" value="([^"]+)"', response.get_data(as_text=True))[1]

    key = key_of(client.get(url))
    refused = client.post(url, data=finding_form(form_key=key, deficiencies=""))
    assert refused.status_code == 422 and key_of(refused) == key
    first = client.post(url, data=finding_form(form_key=key))
    again = client.post(url, data=finding_form(form_key=key, require_plan=""))
    assert first.status_code == again.status_code == 302 and first.location == again.location
    assert "Iakttagelsen är redan registrerad" in text_of(client.get(again.location))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Finding)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Submission)) == 1
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(AuditEvent).filter_by(action="finding.record")
        )
        == 1
    )


def plan_item_form(w, **values) -> dict:
    data = {
        "subject": "service_area",
        "service_area_id": str(w.area_x.id),
        "agreement_id": "0",
        "form": "operations",
        "responsible": "Lars Ek",
        "planned_from": "",
        "planned_to": "",
        "interval": "Årligen i mars",
        "feedback_committee": "y",
        "feedback_public": "y",
        "focus_areas": "Nöjdhet, trygghet",
    }
    data.update(values)
    return data


def test_follow_up_plan_items_and_adoption(w, browser):
    client = browser(w.reviewer_x)
    created = client.post(
        "/handlaggare/uppfoljningsplaner/ny",
        data={"committee_id": str(w.committee_x.id), "year": "2027", "copy_previous": "y"},
    )
    assert created.status_code == 302
    plan = db.session.scalar(sa.select(FollowUpPlan))
    assert plan.year == 2027 and plan.items == []

    url = f"/handlaggare/uppfoljningsplaner/{plan.id}/punkter/ny"
    refused = client.post(url, data=plan_item_form(w, interval=""))
    assert "Ange planerade datum eller ett intervall." in text_of(refused)
    assert client.post(url, data=plan_item_form(w)).status_code == 302
    agreement = w.org_a.agreements[0]
    assert (
        client.post(
            url,
            data=plan_item_form(
                w,
                subject="agreement",
                agreement_id=str(agreement.id),
                form="contract",
                planned_from="2027-09-01",
                planned_to="2027-10-31",
                interval="",
            ),
        ).status_code
        == 302
    )
    plan = db.session.get(FollowUpPlan, plan.id)
    first, second = plan.items
    assert first.service_area_id == w.area_x.id and first.form == FollowUpForm.OPERATIONS
    assert first.feedback_public and not first.feedback_provider
    assert second.agreement_id == agreement.id and second.service_area_id is None

    page = text_of(client.get(f"/handlaggare/uppfoljningsplaner/{plan.id}"))
    assert "Verksamhetsuppföljning" in page and "Avtalsuppföljning" in page
    assert "nämnden, allmänheten" in page

    assert (
        client.post(
            f"/handlaggare/uppfoljningsplaner/{plan.id}", data={"adopted_on": "2026-12-10"}
        ).status_code
        == 302
    )
    assert db.session.get(FollowUpPlan, plan.id).adopted_on == date(2026, 12, 10)

    deleted = client.post(
        f"/handlaggare/uppfoljningsplaner/{plan.id}/punkter/{first.id}/ta-bort", data={}
    )
    assert deleted.status_code == 302
    assert len(db.session.get(FollowUpPlan, plan.id).items) == 1
    assert db.session.scalar(sa.select(AuditEvent).filter_by(action="follow_up_item.delete"))

    csv = client.get(f"/handlaggare/uppfoljningsplaner/{plan.id}?format=csv").get_data()
    assert "Avtalsuppföljning;Lars Ek;2027-09-01;2027-10-31" in csv.decode("utf-8-sig")


def test_copy_last_years_plan(w, make, browser):
    ended = make.agreement(w.org_b, w.area_x, ends_on=date(2026, 6, 30))
    old = FollowUpPlan(committee=w.committee_x, year=2026)
    old.items = [
        FollowUpItem(
            service_area=w.area_x,
            form=FollowUpForm.OPERATIONS,
            responsible="Lars Ek",
            planned_from=date(2026, 3, 1),
            planned_to=date(2026, 3, 31),
        ),
        FollowUpItem(
            agreement=ended, form=FollowUpForm.CONTRACT, responsible="Lars Ek", interval="Hösten"
        ),
    ]
    db.session.add(old)
    db.session.commit()
    response = browser(w.reviewer_x).post(
        "/handlaggare/uppfoljningsplaner/ny",
        data={"committee_id": str(w.committee_x.id), "year": "2027", "copy_previous": "y"},
    )
    assert response.status_code == 302
    new = db.session.scalar(sa.select(FollowUpPlan).filter_by(year=2027))
    (copied,) = new.items
    assert copied.planned_from == date(2027, 3, 1) and copied.planned_to == date(2027, 3, 31)
    again = browser(w.reviewer_x).post(
        "/handlaggare/uppfoljningsplaner/ny",
        data={"committee_id": str(w.committee_x.id), "year": "2027"},
    )
    assert again.status_code == 302 and again.location.endswith(f"/{new.id}")
    assert db.session.scalar(sa.select(sa.func.count(FollowUpPlan.id))) == 2


def test_plans_of_another_committee(w, browser):
    plan = FollowUpPlan(committee=w.committee_x, year=2027)
    plan.items = [
        FollowUpItem(
            service_area=w.area_x,
            form=FollowUpForm.SUPERVISION,
            responsible="Lars Ek",
            interval="Löpande",
        )
    ]
    db.session.add(plan)
    db.session.commit()
    item = plan.items[0]
    client = browser(w.reviewer_y)
    for url in (
        f"/handlaggare/uppfoljningsplaner/{plan.id}",
        f"/handlaggare/uppfoljningsplaner/{plan.id}/uppfoljningsplan.docx",
        f"/handlaggare/uppfoljningsplaner/{plan.id}/punkter/ny",
        f"/handlaggare/uppfoljningsplaner/{plan.id}/punkter/{item.id}",
    ):
        assert client.get(url).status_code == 404, url
    for url in (
        f"/handlaggare/uppfoljningsplaner/{plan.id}/punkter/{item.id}/ta-bort",
        f"/handlaggare/uppfoljningsplaner/{plan.id}/kopiera",
        f"/handlaggare/uppfoljningsplaner/{plan.id}",
    ):
        assert client.post(url, data={"adopted_on": "2026-01-01"}).status_code == 404, url
    plan = db.session.get(FollowUpPlan, plan.id)
    assert len(plan.items) == 1 and plan.adopted_on is None
    assert "Uppföljningsplan 2027" not in text_of(client.get("/handlaggare/uppfoljningsplaner"))


def test_plan_list_search(w, browser):
    plan = FollowUpPlan(committee=w.committee_x, year=2027)
    plan.items = [
        FollowUpItem(
            service_area=w.area_x,
            form=FollowUpForm.SUPERVISION,
            responsible="Eva Ström",
            interval="Löpande",
            focus_areas="Trygghet",
        )
    ]
    db.session.add(plan)
    db.session.commit()
    client = browser(w.reviewer_x)
    assert "Uppföljningsplan 2027" in text_of(client.get("/handlaggare/uppfoljningsplaner?q=ström"))
    assert "Uppföljningsplan 2027" in text_of(client.get("/handlaggare/uppfoljningsplaner?q=VON"))
    none = text_of(client.get("/handlaggare/uppfoljningsplaner?q=delaktighet"))
    assert "Inga planer matchar urvalet." in none
