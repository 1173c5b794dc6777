"""The review queue, the submission page and the decisions, per role."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from portal import workflow
from portal.dates import today
from portal.extensions import db
from portal.models import AuditEvent, ReviewEvent, ReviewState, Role, Submission, SubmissionKind
from tests.admin.helpers import answer, make_docx, upload
from tests.conftest import text_of


def test_queue_lists_only_the_reviewers_committees(w, make, browser, submitted):
    (other,) = make.info_request(w.committee_y, [w.org_b], w.reviewer_y, title="Simhallens år")
    answer(other, w.user_b, {"x": "1"})
    page = text_of(browser(w.reviewer_x).get("/handlaggare/arenden"))
    assert "Kvalitetsredovisning 2026" in page
    assert "Simhallens år" not in page
    page_y = text_of(browser(w.reviewer_y).get("/handlaggare/arenden"))
    assert "Simhallens år" in page_y and "Kvalitetsredovisning 2026" not in page_y


def test_queue_filters_counts_and_waiting_order(w, make, browser):
    drafts = make.info_request(
        w.committee_x,
        [w.org_a, w.org_b],
        w.reviewer_x,
        title="Bemanning natt",
        deadline=today() + timedelta(days=3),
    )
    first, second = drafts
    answer(second, w.user_b, {"a": "1"})
    answer(first, w.user_a, {"a": "2"})  # submitted after the other: waits a shorter time
    (late,) = make.info_request(
        w.committee_x,
        [w.org_a],
        w.reviewer_x,
        title="Sent svar",
        deadline=today() + timedelta(days=1),
    )
    late.deadline = today() - timedelta(days=2)
    db.session.commit()
    client = browser(w.reviewer_x)

    html = client.get("/handlaggare/arenden").get_data(as_text=True)
    table = html[html.index('<table class="table queue">') :]
    assert table.index("Org B AB") < table.index("Org A AB"), "longest waiting first"
    assert 'aria-current="page">Inskickad <span class="count">2</span>' in html

    by_provider = text_of(client.get(f"/handlaggare/arenden?utforare={w.org_b.id}"))
    assert "Org B AB" in by_provider and "1 träff" in by_provider

    overdue = text_of(client.get("/handlaggare/arenden?status=alla&forsenade=ja"))
    assert "Sent svar" in overdue and "Bemanning natt" not in overdue
    assert "Kraftigt försenad" in overdue

    searched = text_of(client.get("/handlaggare/arenden?status=alla&q=bemanning+natt"))
    assert "2 träffar" in searched

    kinds = text_of(client.get("/handlaggare/arenden?status=alla&typ=deviation_report"))
    assert "Inga ärenden matchar urvalet." in kinds


def test_queue_csv_for_excel(w, browser, submitted):
    response = browser(w.reviewer_x).get("/handlaggare/arenden?format=csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf"), "BOM so that Excel reads UTF-8"
    lines = body.decode("utf-8-sig").split("\r\n")
    assert lines[0].startswith("Diarienummer;Ärende;Typ;Utförare")
    assert submitted.registration_number in lines[1]
    assert lines[1].count(";") == lines[0].count(";")


def test_submission_page_shows_answers_versions_changes_and_history(w, browser, submitted):
    keys = submitted.keys
    workflow.ask_clarification(
        submitted, w.reviewer_x, "Ange antalet per enhet.", today() + timedelta(days=7)
    )
    db.session.commit()
    answer(
        submitted,
        w.user_a,
        {keys[0]: "150", keys[1]: "Brukarråd varannan månad.", keys[3]: "Anna, 070-123 45 67"},
    )
    page = text_of(browser(w.reviewer_x).get(f"/handlaggare/arenden/{submitted.id}"))
    assert "Version 2" in page and "Tidigare versioner" in page
    assert "Ändrat sedan version 1 (1)" in page
    assert "142 personer" in page and "150 personer" in page
    assert "Komplettering begärd" in page and "Ange antalet per enhet." in page
    assert "Komplettering inskickad" in page
    assert submitted.registration_number in page


def test_decision_forms_follow_the_workflow(w, browser, submitted):
    page = text_of(browser(w.reviewer_x).get(f"/handlaggare/arenden/{submitted.id}"))
    assert "Godkänn" in page and "Begär komplettering" in page and "Avslå" in page
    publisher_page = text_of(browser(w.publisher).get(f"/handlaggare/arenden/{submitted.id}"))
    assert "Godkänn" not in publisher_page and "Handläggning Godkänn" not in publisher_page


def test_approve(w, browser, submitted):
    response = browser(w.reviewer_x).post(
        f"/handlaggare/arenden/{submitted.id}/godkann", data={"comment": "Komplett."}
    )
    assert response.status_code == 302
    sub = db.session.get(Submission, submitted.id)
    assert sub.state == ReviewState.APPROVED and sub.decided_at is not None
    assert sub.events[-1].comment == "Komplett."
    assert db.session.scalar(sa.select(AuditEvent).filter_by(action="submission.approve"))


def test_ask_for_clarification_needs_a_question_and_a_future_deadline(w, browser, submitted):
    client = browser(w.reviewer_x)
    url = f"/handlaggare/arenden/{submitted.id}/begar-komplettering"
    refused = client.post(url, data={"question": "", "deadline": today().isoformat()})
    assert refused.status_code == 422
    assert "Svarsdagen måste vara efter i dag." in text_of(refused)
    assert db.session.get(Submission, submitted.id).state == ReviewState.SUBMITTED
    deadline = today() + timedelta(days=10)
    ok = client.post(
        url, data={"question": "Bifoga kvalitetsberättelsen.", "deadline": deadline.isoformat()}
    )
    assert ok.status_code == 302
    sub = db.session.get(Submission, submitted.id)
    assert sub.state == ReviewState.CLARIFICATION_REQUESTED and sub.deadline == deadline


def test_reject_needs_a_reason(w, browser, submitted):
    client = browser(w.reviewer_x)
    url = f"/handlaggare/arenden/{submitted.id}/avsla"
    assert client.post(url, data={"reason": " "}).status_code == 422
    assert client.post(url, data={"reason": "Fel period."}).status_code == 302
    assert db.session.get(Submission, submitted.id).state == ReviewState.REJECTED


def test_a_decision_on_an_already_decided_submission_is_a_clear_conflict(w, browser, submitted):
    workflow.approve(submitted, w.reviewer_x2)
    db.session.commit()
    response = browser(w.reviewer_x).post(
        f"/handlaggare/arenden/{submitted.id}/avsla", data={"reason": "Ofullständigt"}
    )
    assert response.status_code == 409
    assert "Ärendet har redan ändrats (status: Godkänd). Ladda om sidan." in text_of(response)


def test_extend_deadline_with_reason(w, make, browser):
    (sub,) = make.info_request(w.committee_x, [w.org_a], w.reviewer_x)
    db.session.commit()
    new = sub.deadline + timedelta(days=20)
    response = browser(w.reviewer_x).post(
        f"/handlaggare/arenden/{sub.id}/forlang",
        data={"deadline": new.isoformat(), "reason": "Semester hos utföraren"},
    )
    assert response.status_code == 302
    event = db.session.scalar(sa.select(ReviewEvent).filter_by(action="extend_deadline"))
    assert event.comment == "Semester hos utföraren" and event.detail["deadline"] == new.isoformat()
    assert db.session.get(Submission, sub.id).deadline == new


def test_close_an_action_plan_when_every_measure_is_done(w, make, browser):
    plan = make.report(
        SubmissionKind.ACTION_PLAN, w.org_a, w.committee_x, w.user_a, title="Åtgärdsplan fall"
    )
    measures = [
        {
            "description": "Rutin",
            "owner": "Chef",
            "due": today().isoformat(),
            "status": "in_progress",
        }
    ]
    answer(plan, w.user_a, {"measures": measures})
    workflow.approve(plan, w.reviewer_x)
    db.session.commit()
    client = browser(w.reviewer_x)
    assert "Avsluta åtgärdsplanen" not in text_of(client.get(f"/handlaggare/arenden/{plan.id}"))
    refused = client.post(f"/handlaggare/arenden/{plan.id}/avsluta", data={"comment": "Följt upp"})
    assert refused.status_code == 409
    assert "alla åtgärder är genomförda" in text_of(refused)

    measures[0] |= {"status": "done", "done_on": today().isoformat()}
    workflow.save_draft(plan, w.user_a, {"measures": measures})
    workflow.report_progress(plan, w.user_a)
    db.session.commit()
    page = text_of(client.get(f"/handlaggare/arenden/{plan.id}"))
    assert "Avsluta åtgärdsplanen" in page and "Genomförd" in page
    closed = client.post(
        f"/handlaggare/arenden/{plan.id}/avsluta", data={"comment": "Effekten följd upp vid besök."}
    )
    assert closed.status_code == 302
    assert db.session.get(Submission, plan.id).state == ReviewState.CLOSED


def test_reviewer_of_another_committee_cannot_decide(w, browser, submitted):
    client = browser(w.reviewer_y)
    for slug in ("godkann", "avsla", "begar-komplettering", "avsluta", "forlang"):
        response = client.post(
            f"/handlaggare/arenden/{submitted.id}/{slug}",
            data={"reason": "x", "comment": "x", "question": "x"},
        )
        assert response.status_code == 404, slug
    assert db.session.get(Submission, submitted.id).state == ReviewState.SUBMITTED


def test_publisher_and_provider_cannot_decide(w, browser, submitted):
    for user in (w.publisher, w.user_a):
        response = browser(user).post(f"/handlaggare/arenden/{submitted.id}/godkann", data={})
        assert response.status_code == 404
    assert db.session.get(Submission, submitted.id).state == ReviewState.SUBMITTED


def test_files_are_served_to_staff_only_when_submitted_and_released(w, make, browser):
    (sub,) = make.info_request(w.committee_x, [w.org_a], w.reviewer_x)
    data = make_docx("Vår kvalitetsberättelse.")
    answer(sub, w.user_a, {"a": "1"}, files=[("f1", "berattelse.docx", data)])
    attachment = sub.submitted_versions[0].attachments[0]
    client = browser(w.reviewer_x)
    response = client.get(f"/handlaggare/bilagor/{attachment.id}")
    assert response.status_code == 200 and response.get_data() == data
    assert browser(w.reviewer_y).get(f"/handlaggare/bilagor/{attachment.id}").status_code == 404
    assert browser(w.user_a).get(f"/handlaggare/bilagor/{attachment.id}").status_code == 404

    workflow.ask_clarification(sub, w.reviewer_x, "Mer", today() + timedelta(days=3))
    draft = workflow.draft_for_editing(sub, w.user_a)
    in_draft = upload(w.user_a, "utkast.docx", make_docx("utkast"))
    in_draft.version = draft
    db.session.commit()
    assert client.get(f"/handlaggare/bilagor/{in_draft.id}").status_code == 404

    attachment.scan_status = attachment.scan_status.PENDING_SCAN
    db.session.commit()
    pending = client.get(f"/handlaggare/bilagor/{attachment.id}")
    assert pending.status_code == 409 and "virusgenomsökning" in text_of(pending)


def test_queue_filters_by_committee_within_the_reviewers_own(w, make, browser):
    both = make.user(Role.REVIEWER, committees=[w.committee_x, w.committee_y])
    (x_sub,) = make.info_request(w.committee_x, [w.org_a], w.reviewer_x, title="Hemtjänstens år")
    answer(x_sub, w.user_a, {"a": "1"})
    (y_sub,) = make.info_request(w.committee_y, [w.org_b], w.reviewer_y, title="Simhallens år")
    answer(y_sub, w.user_b, {"a": "1"})
    client = browser(both)
    everything = text_of(client.get("/handlaggare/arenden"))
    assert "Hemtjänstens år" in everything and "Simhallens år" in everything
    only_y = text_of(client.get(f"/handlaggare/arenden?namnd={w.committee_y.id}"))
    assert "Simhallens år" in only_y and "Hemtjänstens år" not in only_y
    csv = client.get(f"/handlaggare/arenden?namnd={w.committee_y.id}&format=csv")
    rows = csv.get_data().decode("utf-8-sig").strip().split("\r\n")
    assert len(rows) == 2 and "Simhallens år" in rows[1]
    # Asking for another committee's queue shows nothing of it.
    foreign = text_of(browser(w.reviewer_x).get(f"/handlaggare/arenden?namnd={w.committee_y.id}"))
    assert "Simhallens år" not in foreign


def test_review_page_links_only_files_that_are_scanned(w, make, browser):
    (sub,) = make.info_request(w.committee_x, [w.org_a], w.reviewer_x)
    answer(
        sub,
        w.user_a,
        {"a": "1"},
        files=[("f1", "ren.docx", make_docx("Ren")), ("f2", "vantar.docx", make_docx("Väntar"))],
    )
    clean, waiting = sub.submitted_versions[0].attachments
    waiting.scan_status = waiting.scan_status.PENDING_SCAN
    db.session.commit()
    client = browser(w.reviewer_x)
    html = client.get(f"/handlaggare/arenden/{sub.id}").get_data(as_text=True)
    assert f'href="/handlaggare/bilagor/{clean.id}"' in html
    assert f"/handlaggare/bilagor/{waiting.id}" not in html, "no link to an unscanned file"
    assert "vantar.docx" in html and "väntar på virusgenomsökning" in html
    assert client.get(f"/handlaggare/bilagor/{waiting.id}").status_code == 409
