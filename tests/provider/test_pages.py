"""Every provider page: works for provider users and admins of the organisation, and answers
404 to everyone else (another organisation, staff) and a login redirect to the anonymous."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from portal import workflow
from portal.dates import today
from portal.extensions import db
from portal.models import Finding, Invitation, Role, SubmissionKind
from tests.conftest import text_of
from tests.provider.conftest import valid_form


@pytest.fixture
def scene(make, w, asked, client):
    """Org A with a submitted answer (with a file), a deviation, a finding and action plans."""
    client.login(w.user_a)
    assert (
        client.post(
            f"/utforare/arenden/{asked.id}/svar", data={**valid_form(asked), "action": "submit"}
        ).status_code
        == 303
    )
    client.post("/logga-ut", data={})
    agreement = w.org_a.agreements[0]
    deviation = make.report(
        SubmissionKind.DEVIATION_REPORT,
        w.org_a,
        w.committee_x,
        w.user_a,
        title="Fördröjd läkemedelsutdelning",
        agreement=agreement,
    )
    workflow.save_draft(
        deviation,
        w.user_a,
        {
            "category": "deviation",
            "severity": "medium",
            "occurred_on": (today() - timedelta(days=2)).isoformat(),
            "description": "Läkemedel delades ut två timmar sent.",
            "immediate_measures": "Läkare kontaktad.",
            "agreement_id": agreement.id,
        },
    )
    workflow.submit(deviation, w.user_a)
    own_draft = make.report(
        SubmissionKind.DEVIATION_REPORT,
        w.org_a,
        w.committee_x,
        w.user_a,
        title="Påbörjad",
        agreement=agreement,
    )
    finding = Finding(
        agreement=agreement,
        assessed_on=today(),
        meets_requirements=False,
        deficiencies="Genomförandeplaner saknas.",
        action_plan_due=today() + timedelta(days=30),
    )
    plan = workflow.record_finding(finding, w.reviewer_x)
    workflow.save_draft(  # a draft to read through before it is sent
        plan,
        w.user_a,
        {
            "measures": [
                {
                    "description": "Uppdatera genomförandeplanerna.",
                    "owner": "Enhetschef",
                    "due": (today() + timedelta(days=30)).isoformat(),
                    "status": "planned",
                }
            ]
        },
    )
    db.session.commit()
    db.session.refresh(asked)
    admin_b = make.user(Role.PROVIDER_ADMIN, provider_=w.org_b)
    invitation = Invitation(
        provider=w.org_a, email="inbjuden@org-a.example", role=Role.PROVIDER_USER
    )
    db.session.add(invitation)
    db.session.commit()
    return SimpleNamespace(
        answer=asked,
        file=asked.versions[0].attachments[0],
        deviation=deviation,
        own_draft=own_draft,
        finding=finding,
        plan=plan,
        admin_b=admin_b,
        invitation=invitation,
    )


def pages(s, w) -> list[str]:
    a = s.answer.id
    return [
        "/utforare/",
        "/utforare/arenden",
        f"/utforare/arenden?av={w.user_a.id}",
        f"/utforare/arenden/{a}",
        f"/utforare/arenden/{a}/versioner/1",
        f"/utforare/arenden/{a}/kvitto/1",
        f"/utforare/arenden/{a}/filer/status",
        f"/utforare/arenden/{a}/kvitto/1.docx",
        f"/utforare/arenden/{a}/begaran.docx",
        f"/utforare/filer/{s.file.id}",
        f"/utforare/arenden/{s.deviation.id}",
        f"/utforare/arenden/{s.own_draft.id}/svar",
        f"/utforare/arenden/{s.plan.id}",
        f"/utforare/arenden/{s.plan.id}/svar",
        f"/utforare/arenden/{s.plan.id}/kontrollera",
        "/utforare/avvikelser/ny",
        "/utforare/atgardsplaner/ny",
        f"/utforare/atgardsplaner/ny?avvikelse={s.deviation.id}",
        f"/utforare/atgardsplaner/ny?iakttagelse={s.finding.id}",
    ]


def cross_org_posts(s, w) -> list[tuple[str, dict]]:
    """Every form post on org A's objects, as org B would try it."""
    a = s.answer.id
    return [
        (f"/utforare/arenden/{s.own_draft.id}/svar", {"action": "save"}),
        (f"/utforare/arenden/{s.plan.id}/svar", {"action": "submit"}),
        (f"/utforare/arenden/{s.plan.id}/svar", {"action": "check"}),
        (f"/utforare/arenden/{s.plan.id}/skicka-in", {"lock_version": str(s.plan.lock_version)}),
        (f"/utforare/arenden/{a}/svar", {"action": "submit"}),
        (f"/utforare/arenden/{s.own_draft.id}/ta-tillbaka", {}),
        (f"/utforare/atgardsplaner/ny?avvikelse={s.deviation.id}", {"action": "save"}),
        (f"/utforare/atgardsplaner/ny?iakttagelse={s.finding.id}", {"action": "save"}),
        (f"/utforare/organisation/kollegor/{w.user_a.id}/inaktivera", {}),
        (f"/utforare/organisation/kollegor/{w.user_a.id}/aktivera", {}),
        (f"/utforare/organisation/inbjudningar/{s.invitation.id}/skicka-igen", {}),
        (f"/utforare/organisation/inbjudningar/{s.invitation.id}/aterkalla", {}),
    ]


def redirects(s) -> list[str]:
    """Addresses of buttons opened with GET: to the page of the button (303), nothing done."""
    return [f"/utforare/arenden/{s.plan.id}/skicka-in"]


# The signed invitation link names no organisation's object by id (test_organisation.py).
NOT_BY_ID = {"provider.accept_invitation"}


def test_every_provider_route_is_tried(app, w, scene):
    """A new provider route fails here until the page and cross-organisation tests try it."""
    adapter = app.url_map.bind("insyn.test")
    tried = {
        (adapter.match(path.split("?")[0], method="GET")[0], "GET")
        for path in pages(scene, w) + ADMIN_PAGES + redirects(scene)
    }
    tried |= {
        (adapter.match(path.split("?")[0], method="POST")[0], "POST")
        for path, _data in cross_org_posts(scene, w)
    }
    # Forms that only create something for one's own organisation (tried in
    # test_another_organisations_agreement_cannot_be_reported_on and test_organisation.py).
    tried |= {("provider.new_deviation", "POST"), ("provider.invite", "POST")}
    routes = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("provider.") and rule.endpoint not in NOT_BY_ID
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routes - tried == set()


ADMIN_PAGES = ["/utforare/organisation", "/utforare/organisation/bjud-in"]


@pytest.mark.parametrize("role", ["user_a", "admin_a"])
def test_every_page_works_for_the_organisation(client, w, scene, role):
    client.login(getattr(w, role))
    for path in pages(scene, w):
        response = client.get(path)
        assert response.status_code == 200, path
        if response.mimetype == "text/html":
            assert "Org A AB" in text_of(response) or path != "/utforare/", path
    for path in ADMIN_PAGES:
        assert client.get(path).status_code == (200 if role == "admin_a" else 404), path
    for path in redirects(scene):
        response = client.get(path)
        assert response.status_code == 303, path
        assert response.location.endswith(f"/utforare/arenden/{scene.plan.id}/kontrollera")


def test_start_page_shows_what_waits_and_what_was_decided(client, w, scene, make):
    (overdue,) = make.info_request(
        w.committee_x,
        [w.org_a],
        w.reviewer_x,
        title="Bemanning natt",
        deadline=today() + timedelta(days=1),
    )
    overdue.issued_on = today() - timedelta(days=10)
    overdue.deadline = today() - timedelta(days=3)
    workflow.ask_clarification(
        scene.deviation, w.reviewer_x, "Hur många brukare berördes?", today() + timedelta(days=5)
    )
    db.session.commit()
    client.login(w.user_a)
    page = text_of(client.get("/utforare/"))
    assert "Bemanning natt" in page
    assert "Försenad: svarstiden gick ut för 3 dagar sedan" in page  # in words, not colour
    assert "Hur många brukare berördes?" in page and "om 5 dagar" in page
    assert "Påbörjad" in page  # the organisation's own draft
    assert "Åtgärdsplan" in page
    workflow.approve(scene.answer, w.reviewer_x, "Komplett redovisning.")
    db.session.commit()
    page = text_of(client.get("/utforare/"))
    assert "Senaste beslut" in page and "Komplett redovisning." in page and "Godkänd" in page


def test_another_organisation_gets_404_on_every_route(client, w, scene):
    client.login(scene.admin_b)
    for path in pages(scene, w)[2:] + redirects(scene):
        if path in ("/utforare/avvikelser/ny", "/utforare/atgardsplaner/ny"):
            continue  # their own forms
        assert client.get(path).status_code == 404, path
    for path, data in cross_org_posts(scene, w):
        assert client.post(path, data=data).status_code == 404, path
    db.session.refresh(scene.own_draft)
    assert scene.own_draft.state == "draft" and scene.own_draft.versions == []
    db.session.refresh(scene.plan)
    assert scene.plan.state == "draft" and not scene.plan.submitted_versions
    assert w.user_a.active
    db.session.refresh(scene.invitation)
    assert scene.invitation.pending and scene.invitation.times_sent == 1
    # Org A's submissions never show up in org B's lists.
    for path in ("/utforare/", "/utforare/arenden"):
        page = text_of(client.get(path))
        assert "Fördröjd läkemedelsutdelning" not in page and "Påbörjad" not in page
    colleagues = text_of(client.get("/utforare/organisation"))
    assert w.user_a.email not in colleagues and w.admin_a.email not in colleagues
    assert scene.invitation.email not in colleagues


def test_another_organisations_agreement_cannot_be_reported_on(client, w, scene):
    client.login(w.user_b)
    agreement_a = w.org_a.agreements[0]
    response = client.post(
        "/utforare/avvikelser/ny",
        data={
            "title": "Försök",
            "agreement_id": str(agreement_a.id),
            "category": "error",
            "severity": "low",
            "occurred_on": today().isoformat(),
            "description": "x",
            "immediate_measures": "y",
            "action": "submit",
        },
    )
    assert response.status_code == 422
    assert "Välj vilket avtal avvikelsen gäller." in text_of(response)
    page = client.get("/utforare/avvikelser/ny").get_data(as_text=True)
    assert agreement_a.reference not in page


@pytest.mark.parametrize("role", ["reviewer_x", "publisher", "admin"])
def test_staff_get_404_on_provider_pages(client, w, scene, role):
    client.login(getattr(w, role))
    for path in pages(scene, w) + ADMIN_PAGES + redirects(scene):
        assert client.get(path).status_code == 404, path


def test_anonymous_visitors_are_sent_to_login(client, w, scene):
    for path in pages(scene, w) + ADMIN_PAGES + redirects(scene):
        response = client.get(path)
        assert response.status_code == 302 and "/logga-in" in response.location, path


def test_pages_use_no_inline_script_or_style(client, w, scene):
    client.login(w.admin_a)
    for path in pages(scene, w) + ADMIN_PAGES:
        response = client.get(path)
        if response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        assert " style=" not in html and "<style" not in html, path
        assert "<script>" not in html and "onclick=" not in html, path
