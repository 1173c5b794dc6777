"""A draft is the provider's own until it is sent (security review, issue 10, items 12-13).

Staff see a requested answer that is not in yet only as the request's title and number,
the state "Inte inskickat ännu" and the deadline; a report the provider started on its
own and has not sent does not exist for them on any page, export or count; and staff
decisions and documents read only submitted versions, never a saved draft.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from flask_login import login_user

from admin.dashboard import figures
from portal import policy, workflow
from portal.dates import today
from portal.extensions import db
from portal.models import Finding, Impact, ReviewState, Submission, SubmissionKind
from portal.policy import Action
from tests.admin.conftest import quality_fields
from tests.admin.helpers import answer, docx_text, make_docx, reopen, upload
from tests.conftest import text_of

REQUEST_TITLE = "Kvalitetsredovisning 2026"
OWN_TITLE = "Egen avvikelse under arbete"
OWN_TEXT = "Hemlig beskrivning i utkastet"
OWN_PLAN_TITLE = "Egen åtgärdsplan under arbete"
OWN_MEASURE = "Hemlig åtgärd i utkastet"
WITHDRAWN_TITLE = "Återtagen egen avvikelse"
DRAFT_ANSWER = "Hemligt utkastsvar"
DRAFT_FILE = "utkast-berattelse.docx"
CLARIFICATION_DRAFT = "Nytt utkast i kompletteringen"
# Nothing of these may reach a staff page or export.
SECRETS = (
    OWN_TITLE,
    OWN_TEXT,
    OWN_PLAN_TITLE,
    OWN_MEASURE,
    WITHDRAWN_TITLE,
    DRAFT_ANSWER,
    DRAFT_FILE,
    CLARIFICATION_DRAFT,
)
NOT_YET = "Inte inskickat ännu"
DECISION_SLUGS = ("godkann", "avsla", "begar-komplettering", "avsluta", "forlang")


def _staff(w):
    return {"reviewer": w.reviewer_x, "publisher": w.publisher, "admin": w.admin}


def _measure(status: str, description: str = "Ny rutin för genomförandeplaner") -> dict:
    due = (today() + timedelta(days=20)).isoformat()
    return {"description": description, "owner": "Chef", "due": due, "status": status}


@pytest.fixture
def scene(w, make):
    """Committee X and org A: one of each kind of draft, and what staff legitimately see."""
    agreement = w.org_a.agreements[0]
    # Requested, not sent: the provider has saved an answer and a file in its draft.
    (requested,) = make.info_request(
        w.committee_x,
        [w.org_a],
        w.reviewer_x,
        fields=quality_fields(),
        service_area=w.area_x,
        title=REQUEST_TITLE,
    )
    keys = [f.key for f in requested.request.fields]
    draft = workflow.save_draft(requested, w.user_a, {keys[0]: "17", keys[1]: DRAFT_ANSWER})
    draft_file = upload(w.user_a, DRAFT_FILE, make_docx("Utkast"), keys[2])
    draft_file.version = draft

    # Sent and in clarification: staff see the sent version, not the new draft.
    (clarifying,) = make.info_request(
        w.committee_x, [w.org_a], w.reviewer_x, fields=quality_fields(), title="Bemanning 2026"
    )
    ckeys = [f.key for f in clarifying.request.fields]
    answer(clarifying, w.user_a, {ckeys[0]: "12", ckeys[1]: "Skickat svar"})
    workflow.ask_clarification(clarifying, w.reviewer_x, "Mer", today() + timedelta(days=5))
    workflow.save_draft(clarifying, w.user_a, {ckeys[0]: "12", ckeys[1]: CLARIFICATION_DRAFT})

    # Unrequested, not sent: a deviation report the provider started on its own.
    own = make.report(
        SubmissionKind.DEVIATION_REPORT,
        w.org_a,
        w.committee_x,
        w.user_a,
        title=OWN_TITLE,
        agreement=agreement,
        service_area=w.area_x,
    )
    workflow.save_draft(own, w.user_a, {"severity": "high", "description": OWN_TEXT})

    # A sent, approved deviation with the provider's own action plan for it still in draft;
    # the plan carries a deadline as an extension under the old code could leave one.
    deviation = make.report(
        SubmissionKind.DEVIATION_REPORT,
        w.org_a,
        w.committee_x,
        w.user_a,
        title="Fallolycka i hemtjänsten",
        service_area=w.area_x,
    )
    answer(deviation, w.user_a, {"severity": "low", "description": "Brukare föll"})
    workflow.approve(deviation, w.reviewer_x)
    own_plan = make.report(
        SubmissionKind.ACTION_PLAN,
        w.org_a,
        w.committee_x,
        w.user_a,
        title=OWN_PLAN_TITLE,
        deviation=deviation,
        service_area=w.area_x,
    )
    workflow.save_draft(own_plan, w.user_a, {"measures": [_measure("planned", OWN_MEASURE)]})
    own_plan.deadline = today() - timedelta(days=2)

    withdrawn = make.report(
        SubmissionKind.DEVIATION_REPORT, w.org_a, w.committee_x, w.user_a, title=WITHDRAWN_TITLE
    )
    workflow.save_draft(withdrawn, w.user_a, {"description": OWN_TEXT})
    workflow.withdraw(withdrawn, w.user_a)
    db.session.commit()
    return SimpleNamespace(
        agreement=agreement,
        requested=requested,
        draft_file=draft_file,
        clarifying=clarifying,
        own=own,
        deviation=deviation,
        own_plan=own_plan,
        withdrawn=withdrawn,
        unsent=[own, own_plan, withdrawn],
    )


def assert_no_secrets(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} on {where}"


def csv_text(response) -> str:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return response.get_data().decode("utf-8-sig")


# --- the queue ------------------------------------------------------------------------------


QUEUE_STATES = [s.value for s in ReviewState] + ["alla", "", "DRAFT", "utkast"]


@pytest.mark.parametrize("status", QUEUE_STATES)
def test_queue_never_lists_an_unsent_report(w, scene, browser, status):
    for name, user in _staff(w).items():
        client = browser(user)
        response = client.get(f"/handlaggare/arenden?status={status}")
        assert response.status_code == 200
        page = text_of(response)
        assert_no_secrets(page, f"queue status={status!r} as {name}")
        # The tabs count what staff may know of: one requested answer not in yet, and no
        # withdrawn draft (it was never sent).
        assert f"{NOT_YET} 1" in page and "Återtagen 0" in page, name
        assert "Utkast" not in page, name
        if status in ("draft", "alla"):
            assert REQUEST_TITLE in page and scene.requested.deadline.isoformat() in page
        exported = csv_text(client.get(f"/handlaggare/arenden?status={status}&format=csv"))
        assert_no_secrets(exported, f"queue CSV status={status!r} as {name}")
        if status in ("draft", "alla"):
            assert REQUEST_TITLE in exported


@pytest.mark.parametrize(
    "query",
    [
        "status=alla&q=Egen",
        "status=alla&q=avvikelse",
        "status=alla&q=under+arbete",
        "status=draft&q=Org+A",
        "status=alla&utforare={org_a}",
        "status=draft&utforare={org_a}",
        "status=alla&typ=deviation_report",
        "status=draft&typ=action_plan",
        "status=alla&forsenade=ja",
        "status=draft&namnd={committee_x}",
        "status=withdrawn&namnd={committee_x}",
    ],
)
def test_queue_search_and_filters_never_find_an_unsent_report(w, scene, browser, query):
    query = query.format(org_a=w.org_a.id, committee_x=w.committee_x.id)
    for name, user in _staff(w).items():
        client = browser(user)
        page = text_of(client.get(f"/handlaggare/arenden?{query}"))
        assert_no_secrets(page, f"queue ?{query} as {name}")
        exported = csv_text(client.get(f"/handlaggare/arenden?{query}&format=csv"))
        assert_no_secrets(exported, f"queue CSV ?{query} as {name}")
    late = text_of(browser(w.reviewer_x).get("/handlaggare/arenden?status=alla&forsenade=ja"))
    assert "Inga ärenden matchar urvalet." in late, "an unsent plan is nobody's late answer"


# --- one submission ---------------------------------------------------------------------------


def test_review_page_and_decisions_of_an_unsent_report_are_not_found(w, scene, browser):
    for submission in scene.unsent:
        before = (submission.state, submission.deadline)
        for name, user in _staff(w).items():
            client = browser(user)
            page = client.get(f"/handlaggare/arenden/{submission.id}")
            assert page.status_code == 404, (submission.title, name)
            assert_no_secrets(text_of(page), f"404 page as {name}")
            for slug in DECISION_SLUGS:
                response = client.post(
                    f"/handlaggare/arenden/{submission.id}/{slug}",
                    data={
                        "deadline": (today() + timedelta(days=30)).isoformat(),
                        "reason": "Semester",
                        "comment": "Klart",
                        "question": "Varför?",
                    },
                )
                assert response.status_code == 404, (submission.title, name, slug)
        fresh = db.session.get(Submission, submission.id)
        assert (fresh.state, fresh.deadline) == before
        assert not [e for e in fresh.events if e.actor_id in {u.id for u in _staff(w).values()}]
    # The provider keeps its own draft.
    provider_page = browser(w.user_a).get(f"/utforare/arenden/{scene.own.id}")
    assert provider_page.status_code == 200 and OWN_TITLE in text_of(provider_page)


def test_requested_answer_in_draft_shows_request_state_and_deadline_only(w, scene, browser):
    requested = scene.requested
    for name, user in _staff(w).items():
        response = browser(user).get(f"/handlaggare/arenden/{requested.id}")
        assert response.status_code == 200, name
        page = text_of(response)
        assert_no_secrets(page, f"requested draft as {name}")
        assert REQUEST_TITLE in page and requested.request.registration_number in page
        assert NOT_YET in page and "Utkast" not in page
        assert requested.deadline.isoformat() in page
        assert "Utföraren har inte skickat in något ännu." in page
    # A deadline the provider is waiting under: the reviewer may extend it.
    assert "Förläng svarstiden" in text_of(
        browser(w.reviewer_x).get(f"/handlaggare/arenden/{requested.id}")
    )
    for user in _staff(w).values():
        assert browser(user).get(f"/handlaggare/bilagor/{scene.draft_file.id}").status_code == 404


def test_sent_answer_in_clarification_shows_only_the_sent_version(w, scene, browser):
    page = text_of(browser(w.reviewer_x).get(f"/handlaggare/arenden/{scene.clarifying.id}"))
    assert "Skickat svar" in page
    assert_no_secrets(page, "answer in clarification")


def test_request_page_and_its_exports_show_state_and_deadline_only(w, scene, browser):
    info_request = scene.requested.request
    for name, user in _staff(w).items():
        client = browser(user)
        page = text_of(client.get(f"/handlaggare/begaranden/{info_request.id}"))
        assert_no_secrets(page, f"request page as {name}")
        assert "Org A AB" in page and NOT_YET in page and "Utkast" not in page
        assert info_request.deadline.isoformat() in page
        exported = csv_text(client.get(f"/handlaggare/begaranden/{info_request.id}?format=csv"))
        assert_no_secrets(exported, f"request answers CSV as {name}")
        org_a = next(r for r in exported.split("\r\n") if r.startswith("Org A AB"))
        assert org_a.split(";")[6:] == ["", "", "", ""], "no answer is in yet"
        assert NOT_YET in org_a and "Utkast" not in exported, "the page's words in the file"
        listing = client.get("/handlaggare/begaranden?format=csv")
        assert_no_secrets(csv_text(listing), f"requests CSV as {name}")


STAFF_PAGES = [
    "/handlaggare/",
    "/handlaggare/?namnd={committee_x}",
    "/handlaggare/begaranden",
    "/handlaggare/begaranden?status=oppna",
    "/handlaggare/iakttagelser",
    "/handlaggare/publicering",
    "/handlaggare/publiceringar",
    "/handlaggare/avtal",
    "/handlaggare/avtal/{agreement}",
    "/handlaggare/utforare",
    "/handlaggare/utforare/{org_a}",
    "/handlaggare/arenden/{deviation}",
    "/handlaggare/arsrapport",
]
STAFF_EXPORTS = [
    "/handlaggare/begaranden?format=csv",
    "/handlaggare/iakttagelser?format=csv",
    "/handlaggare/publicering?format=csv",
    "/handlaggare/avtal?format=csv",
    "/handlaggare/utforare?format=csv",
    "/handlaggare/arsrapport?format=csv",
]


def test_no_other_staff_page_or_export_shows_an_unsent_report(w, scene, browser):
    ids = {
        "committee_x": w.committee_x.id,
        "agreement": scene.agreement.id,
        "org_a": w.org_a.id,
        "deviation": scene.deviation.id,
    }
    for name, user in _staff(w).items():
        client = browser(user)
        for url in STAFF_PAGES:
            response = client.get(url.format(**ids))
            assert response.status_code == 200, (url, name)
            assert_no_secrets(text_of(response), f"{url} as {name}")
        for url in STAFF_EXPORTS:
            assert_no_secrets(csv_text(client.get(url.format(**ids))), f"{url} as {name}")
    deviation_page = text_of(
        browser(w.reviewer_x).get(f"/handlaggare/arenden/{scene.deviation.id}")
    )
    assert "Fallolycka i hemtjänsten" in deviation_page
    assert "Åtgärdsplaner för avvikelsen" not in deviation_page


def test_dashboard_counts_no_unsent_report(w, scene, app, browser):
    with app.test_request_context():
        login_user(w.reviewer_x)
        x = figures()[w.committee_x.id]
    assert x.waiting_for_answer == 1, "the requested answer only"
    assert x.overdue == 0, "an unsent plan is nobody's late answer"
    assert x.in_review == 0 and x.clarification == 1
    assert x.open_deviations == 0, "the approved deviation has no plan staff know of"
    assert x.plans_overdue == 0
    page = text_of(browser(w.reviewer_x).get("/handlaggare/"))
    assert "1 Väntar på svar" in page and "0 Försenade svar" in page
    assert "0 Öppna avvikelser" in page and "0 Försenade åtgärdsplaner" in page


# --- the workflow and the policy ----------------------------------------------------------------


def test_deadline_extension_only_where_a_provider_waits_under_one(w, scene, make):
    later = today() + timedelta(days=30)
    for submission in (scene.own, scene.own_plan):
        for user in (w.reviewer_x, w.admin):
            assert workflow.available(user, submission) == []
            with pytest.raises(workflow.IllegalTransition):
                workflow.extend_deadline(submission, user, later, "Semester")
            db.session.rollback()
    assert db.session.get(Submission, scene.own.id).deadline is None

    assert "extend_deadline" in {t.name for t in workflow.available(w.reviewer_x, scene.requested)}
    workflow.extend_deadline(scene.requested, w.reviewer_x, later, "Semester")
    # A report the provider sent on its own, then was asked to clarify: it has a deadline.
    report = make.report(SubmissionKind.DEVIATION_REPORT, w.org_a, w.committee_x, w.user_a)
    answer(report, w.user_a, {"severity": "low", "description": "Sen insats"})
    workflow.ask_clarification(report, w.reviewer_x, "När?", today() + timedelta(days=5))
    workflow.extend_deadline(report, w.reviewer_x, later, "Sjukdom")
    assert report.deadline == later


def test_policy_keeps_draft_versions_and_their_files_from_staff(w, scene):
    draft = scene.requested.latest
    assert draft is not None and not draft.frozen
    sent = scene.clarifying.submitted_versions[-1]
    for user in _staff(w).values():
        assert not policy.can(user, Action.VIEW, draft)
        assert not policy.can(user, Action.VIEW, scene.draft_file)
        assert not policy.can(user, Action.VIEW, scene.clarifying.latest)
        assert policy.can(user, Action.VIEW, sent)
        assert policy.can(user, Action.VIEW, scene.requested)
        for submission in scene.unsent:
            assert not policy.can(user, Action.VIEW, submission)
    assert policy.can(w.user_a, Action.VIEW, scene.own)
    assert policy.can(w.user_a, Action.ANSWER, draft)


# --- action plans: closing and the yearly report --------------------------------------------


def _plan_with_done_only_in_draft(w) -> Submission:
    """An approved, requested plan: its sent version says "planned", its draft "done"."""
    finding = Finding(
        agreement=w.strategic,
        assessed_on=today(),
        meets_requirements=False,
        deficiencies="Genomförandeplaner saknas.",
        goal_effect="Delaktigheten brister.",
        action_plan_due=today() + timedelta(days=30),
    )
    plan = workflow.record_finding(finding, w.reviewer_x)
    db.session.commit()
    answer(plan, w.user_a, {"measures": [_measure("planned")]})
    workflow.approve(plan, w.reviewer_x)
    done = {**_measure("done"), "done_on": today().isoformat()}
    workflow.save_draft(plan, w.user_a, {"measures": [done]})
    db.session.commit()
    assert plan.latest.answers["measures"][0]["status"] == "done"
    assert plan.submitted_versions[-1].answers["measures"][0]["status"] == "planned"
    return plan


@pytest.fixture
def strategic(w, make):
    w.strategic = make.agreement(
        w.org_a, w.area_x, yearly_value_sek=Decimal(12_000_000), impact=Impact.HIGH
    )
    db.session.commit()
    return w.strategic


def test_closing_a_plan_reads_what_was_sent_not_the_draft(w, strategic, browser):
    plan = _plan_with_done_only_in_draft(w)
    assert "close" not in {t.name for t in workflow.available(w.reviewer_x, plan)}
    with pytest.raises(workflow.IllegalTransition, match="alla åtgärder"):
        workflow.close(plan, w.reviewer_x, "Följt upp")
    db.session.rollback()
    for user in (w.reviewer_x, w.admin):
        client = browser(user)
        page = text_of(client.get(f"/handlaggare/arenden/{plan.id}"))
        assert "Avsluta åtgärdsplanen" not in page and "Planerad" in page
        refused = client.post(f"/handlaggare/arenden/{plan.id}/avsluta", data={"comment": "Klart"})
        assert refused.status_code == 409
        assert "alla åtgärder är genomförda" in text_of(refused)
        assert db.session.get(Submission, plan.id).state == ReviewState.APPROVED

    workflow.report_progress(plan, w.user_a)
    db.session.commit()
    client = browser(w.reviewer_x)
    assert "Avsluta åtgärdsplanen" in text_of(client.get(f"/handlaggare/arenden/{plan.id}"))
    closed = client.post(f"/handlaggare/arenden/{plan.id}/avsluta", data={"comment": "Verifierat"})
    assert closed.status_code == 302
    assert db.session.get(Submission, plan.id).state == ReviewState.CLOSED


def test_yearly_report_counts_sent_measures_and_no_unsent_plan(w, scene, strategic, browser):
    _plan_with_done_only_in_draft(w)
    year = today().year
    query = f"namnd={w.committee_x.id}&ar={year}"
    for name, user in _staff(w).items():
        client = browser(user)
        response = client.get(f"/handlaggare/arsrapport.docx?{query}")
        assert response.status_code == 200, name
        document = reopen(response.get_data())
        text = docx_text(document)
        assert_no_secrets(text, f"yearly report .docx as {name}")
        assert "0 av 1 åtgärder genomförda" in text and "1 av 1 åtgärder" not in text
        summary = {
            row.cells[0].text: [c.text for c in row.cells] for row in document.tables[0].rows
        }
        assert summary[strategic.reference][5] == "1 godkänd"
        preview = text_of(client.get(f"/handlaggare/arsrapport?{query}"))
        assert_no_secrets(preview, f"yearly report preview as {name}")
        exported = csv_text(client.get(f"/handlaggare/arsrapport?{query}&format=csv"))
        assert_no_secrets(exported, f"yearly report CSV as {name}")
        row = next(r for r in exported.split("\r\n") if r.startswith(strategic.reference))
        assert ";1 godkänd;" in row


def test_a_requested_plan_cannot_be_withdrawn_by_the_provider(w, strategic):
    finding = Finding(
        agreement=strategic,
        assessed_on=today(),
        meets_requirements=False,
        deficiencies="Brist",
        action_plan_due=today() + timedelta(days=10),
    )
    plan = workflow.record_finding(finding, w.reviewer_x)
    workflow.save_draft(plan, w.user_a, {"measures": [_measure("planned")]})
    db.session.commit()
    assert "withdraw" not in {t.name for t in workflow.available(w.user_a, plan)}
    with pytest.raises(workflow.IllegalTransition):
        workflow.withdraw(plan, w.user_a)
