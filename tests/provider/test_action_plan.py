"""Action plans: measures, submit, progress updates as versions, closing by staff."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal import workflow
from portal.dates import today
from portal.extensions import db
from portal.models import Finding, ReviewState, Submission, SubmissionKind
from tests.conftest import text_of
from tests.pdfs import pdf_bytes
from tests.provider.conftest import commit_and_send

DUE_1 = (today() + timedelta(days=30)).isoformat()
DUE_2 = (today() + timedelta(days=60)).isoformat()


@pytest.fixture
def deviation(make, w):
    agreement = w.org_a.agreements[0]
    report = make.report(
        SubmissionKind.DEVIATION_REPORT,
        w.org_a,
        w.committee_x,
        w.user_a,
        title="Fall i badrum",
        agreement=agreement,
    )
    workflow.save_draft(
        report,
        w.user_a,
        {
            "category": "deviation",
            "severity": "high",
            "description": "En brukare föll.",
            "immediate_measures": "Läkare tillkallad.",
        },
    )
    workflow.submit(report, w.user_a)
    db.session.commit()
    return report


def plan_form(**extra) -> dict:
    form = {
        "title": "Åtgärdsplan: fall i badrum",
        "measure_count": "2",
        "m-0-description": "Halkskydd i alla badrum",
        "m-0-owner": "Enhetschef",
        "m-0-due": DUE_1,
        "m-0-status": "planned",
        "m-1-description": "Fallriskbedömning för alla brukare",
        "m-1-owner": "Sjuksköterska",
        "m-1-due": DUE_2,
        "m-1-status": "in_progress",
        "form_key": "p" * 24,
    }
    form.update(extra)
    return form


def plans() -> list[Submission]:
    return db.session.scalars(
        sa.select(Submission).where(Submission.kind == SubmissionKind.ACTION_PLAN)
    ).all()


def test_plan_for_a_deviation_progress_and_close(client, w, deviation, smtp_server):
    client.login(w.user_a)
    basis = client.get("/utforare/atgardsplaner/ny")
    assert "Fall i badrum" in text_of(basis)
    url = f"/utforare/atgardsplaner/ny?avvikelse={deviation.id}"
    page = client.get(url)
    assert page.status_code == 200 and "Vad ska göras?" in page.get_data(as_text=True)

    # Saving with "add a measure" keeps the draft and offers one more row.
    added = client.post(url, data={**plan_form(), "action": "add_measure"})
    assert added.status_code == 303 and "rader=1" in added.location
    (plan,) = plans()
    assert plan.deviation_id == deviation.id and plan.committee_id == deviation.committee_id
    form_page = client.get(added.location).get_data(as_text=True)
    assert 'name="m-2-description"' in form_page

    answer = f"/utforare/arenden/{plan.id}/svar"
    sent = client.post(answer, data={**plan_form(), "action": "submit"})
    assert sent.status_code == 303
    db.session.refresh(plan)
    assert plan.state == ReviewState.SUBMITTED and plan.title == "Åtgärdsplan: fall i badrum"
    measures = plan.versions[0].answers["measures"]
    assert [m["description"] for m in measures] == [
        "Halkskydd i alla badrum",
        "Fallriskbedömning för alla brukare",
    ]
    assert measures[0] == {
        "description": "Halkskydd i alla badrum",
        "owner": "Enhetschef",
        "due": DUE_1,
        "status": "planned",
    }
    assert "Fall i badrum" in text_of(client.get(f"/utforare/arenden/{plan.id}"))

    workflow.approve(plan, w.reviewer_x, "Planen godtas.")
    commit_and_send()
    assert f"Ärende {plan.registration_number} är godkänt" in smtp_server.subjects(w.user_a.email)
    start = text_of(client.get("/utforare/"))
    assert "2 åtgärder återstår" in start and "Rapportera framsteg" in start

    # Progress: done needs a date and evidence.
    progress = client.get(answer)
    assert "Rapportera framsteg" in text_of(progress)
    incomplete = client.post(
        answer,
        data={
            "measure_count": "2",
            "m-0-status": "done",
            "m-1-status": "in_progress",
            "action": "submit",
        },
    )
    assert incomplete.status_code == 422
    html = incomplete.get_data(as_text=True)
    assert "Ange när åtgärden genomfördes." in html
    assert "Bifoga underlag som visar att åtgärden är genomförd." in html
    done_on = (today() - timedelta(days=1)).isoformat()
    update = client.post(
        answer,
        data={
            "measure_count": "2",
            "m-0-status": "done",
            "m-0-done_on": done_on,
            "m-0-evidence": (io.BytesIO(pdf_bytes()), "Inköpsorder halkskydd.pdf"),
            # A progress report cannot rewrite the approved measure.
            "m-0-description": "Något annat",
            "m-1-status": "in_progress",
            "note": "Halkskydden är monterade.",
            "action": "submit",
        },
    )
    assert update.status_code == 303, text_of(update)[:3000]
    db.session.refresh(plan)
    assert plan.state == ReviewState.APPROVED and len(plan.versions) == 2
    v1, v2 = plan.versions
    assert v1.frozen and v2.frozen
    assert v1.answers["measures"][0]["status"] == "planned"  # the approved plan is unchanged
    first = v2.answers["measures"][0]
    assert first["description"] == "Halkskydd i alla badrum"
    assert first["status"] == "done" and first["done_on"] == done_on
    (evidence,) = v2.attachments
    assert first["evidence"] == evidence.id and evidence.slot == "evidence-1"
    assert v2.note == "Halkskydden är monterade."
    assert client.get(f"/utforare/filer/{evidence.id}").data == pdf_bytes()

    with pytest.raises(workflow.IllegalTransition, match="alla åtgärder"):
        workflow.close(plan, w.reviewer_x)
    db.session.rollback()

    # The second measure done too; the first keeps its evidence (carried to version 3).
    final = client.post(
        answer,
        data={
            "measure_count": "2",
            "m-0-status": "done",
            "m-0-done_on": done_on,
            "m-0-evidence_id": str(evidence.id),
            "m-1-status": "done",
            "m-1-done_on": done_on,
            "m-1-evidence": (io.BytesIO(b"Fallriskbedomningar klara\n"), "lista.txt"),
            "action": "submit",
        },
    )
    assert final.status_code == 303
    db.session.refresh(plan)
    v3 = plan.versions[2]
    assert [m["status"] for m in v3.answers["measures"]] == ["done", "done"]
    assert {a.display_name for a in v3.attachments} == {"Inköpsorder halkskydd.pdf", "lista.txt"}
    assert "Alla åtgärder är genomförda" in text_of(client.get("/utforare/"))

    workflow.close(plan, w.reviewer_x, "Effekten kontrollerad vid besök.")
    commit_and_send()
    db.session.refresh(plan)
    assert plan.state == ReviewState.CLOSED
    assert client.get(answer).status_code == 302  # nothing more to report
    mail = smtp_server.to(w.user_a.email)[-1]
    assert mail.subject == f"Ärende {plan.registration_number} är avslutat"
    assert "Effekten kontrollerad vid besök." in mail.body


def test_plan_needs_complete_measures(client, w, deviation):
    client.login(w.user_a)
    url = f"/utforare/atgardsplaner/ny?avvikelse={deviation.id}"
    empty = client.post(
        url, data={"title": "Plan", "measure_count": "1", "form_key": "e" * 24, "action": "submit"}
    )
    assert empty.status_code == 422
    assert "Planen behöver minst en åtgärd." in empty.get_data(as_text=True)
    (plan,) = plans()
    partial = client.post(
        f"/utforare/arenden/{plan.id}/svar",
        data={
            "measure_count": "1",
            "m-0-description": "Ny rutin",
            "m-0-due": "snart",
            "action": "submit",
        },
    )
    assert partial.status_code == 422
    html = partial.get_data(as_text=True)
    assert "Ange vem som ansvarar." in html and "ÅÅÅÅ-MM-DD" in html
    assert 'href="#m-0-owner"' in html


def test_measures_can_be_removed_from_a_draft(client, w, deviation):
    client.login(w.user_a)
    url = f"/utforare/atgardsplaner/ny?avvikelse={deviation.id}"
    client.post(url, data={**plan_form(), "action": "save"})
    (plan,) = plans()
    client.post(
        f"/utforare/arenden/{plan.id}/svar",
        data={**plan_form(), "m-0-remove": "1", "action": "save"},
    )
    db.session.refresh(plan)
    assert [m["owner"] for m in plan.current_draft.answers["measures"]] == ["Sjuksköterska"]


def test_plan_asked_for_after_a_finding(client, w, smtp_server):
    agreement = w.org_a.agreements[0]
    finding = Finding(
        agreement=agreement,
        assessed_on=today(),
        meets_requirements=False,
        deficiencies="Genomförandeplaner saknas för flera brukare.",
        action_plan_due=today() + timedelta(days=21),
    )
    plan = workflow.record_finding(finding, w.reviewer_x)
    commit_and_send()
    (mail,) = smtp_server.to(w.user_a.email)
    assert mail.subject == "Åtgärdsplan begärd av Nämnd VON"
    assert "Genomförandeplaner saknas för flera brukare." in mail.body
    assert f"/utforare/arenden/{plan.id}" in mail.body

    client.login(w.user_a)
    start = text_of(client.get("/utforare/"))
    assert plan.title in start and "om 21 dagar" in start
    page = text_of(client.get(f"/utforare/arenden/{plan.id}/svar"))
    assert "Genomförandeplaner saknas för flera brukare." in page
    form = plan_form()
    form.pop("title")
    response = client.post(f"/utforare/arenden/{plan.id}/svar", data={**form, "action": "submit"})
    assert response.status_code == 303
    db.session.refresh(plan)
    assert plan.state == ReviewState.SUBMITTED and plan.finding_id == finding.id
