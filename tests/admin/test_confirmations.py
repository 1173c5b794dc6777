"""The questions before the irreversible staff actions (GOV.UK's confirm pattern):
"Godkänn" shows what is approved before it is approved, "Publicera" shows what becomes
public before it is published, and a reload or the back button never acts twice."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from lxml import html as lxml_html

from portal import workflow
from portal.dates import today
from portal.extensions import db
from portal.models import (
    AuditEvent,
    Publication,
    ReviewEvent,
    ReviewState,
    Submission,
)
from tests.admin.conftest import quality_fields
from tests.admin.helpers import PERSONNUMMER
from tests.browser import AXE_OPTIONS
from tests.conftest import text_of
from tests.factories import PASSWORD

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "confirmations"
MARK_REASON = "Uppgiften rör en enskild medarbetares anställning."


def case_url(sub: Submission) -> str:
    return f"/handlaggare/arenden/{sub.id}"


def approve_url(sub: Submission) -> str:
    return f"/handlaggare/arenden/{sub.id}/godkann"


def publish_url(sub: Submission) -> str:
    return f"/handlaggare/publicering/{sub.id}"


def hidden_fields(response, action_part: str) -> list[tuple[str, str]]:
    """The hidden fields of the page's form posting to ``action_part``, as a browser posts
    them (the CSRF token is the test client's business)."""
    tree = lxml_html.fromstring(response.get_data(as_text=True))
    (form,) = tree.xpath(f"//main//form[contains(@action, '{action_part}')]")
    return [
        (i.get("name"), i.get("value") or "")
        for i in form.xpath(".//input[@type='hidden']")
        if i.get("name") != "csrf_token"
    ]


def as_data(fields: list[tuple[str, str]], **extra) -> dict:
    """Repeated names (answer, document) as lists, as a form posts them."""
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    data.update({k: [v] for k, v in extra.items()})
    return data


def submitted_answer(w, make, *, marked: bool = False) -> Submission:
    """Org A's submitted answer to committee X; with ``marked`` its text answer carries the
    provider's confidentiality marking."""
    (sub,) = make.info_request(
        w.committee_x,
        [w.org_a],
        w.reviewer_x,
        fields=quality_fields(),
        title="Kvalitetsredovisning 2026",
    )
    keys = [f.key for f in sub.request.fields]
    draft = workflow.save_draft(
        sub,
        w.user_a,
        {keys[0]: "142", keys[1]: "Brukarråd varannan månad.", keys[3]: "Anna, 070-123 45 67"},
    )
    if marked:
        draft.confidential = {keys[1]: MARK_REASON}
        db.session.flush()  # submitting reloads the submission under a lock
    workflow.submit(sub, w.user_a)
    db.session.commit()
    sub.keys = keys
    return sub


def approved_answer(w, make, *, marked: bool = False) -> Submission:
    sub = submitted_answer(w, make, marked=marked)
    workflow.approve(sub, w.reviewer_x)
    db.session.commit()
    return sub


def approvals(sub: Submission) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "submission.approve", AuditEvent.object_id == sub.id)
    )


# --- approving ----------------------------------------------------------------------------


def test_the_case_page_approval_asks_first(w, make, browser):
    sub = submitted_answer(w, make)
    page = browser(w.reviewer_x).get(case_url(sub))
    assert ("step", "confirm") in hidden_fields(page, "/godkann")
    # The other decisions act at once (they are not the irreversible approval).
    assert ("step", "confirm") not in hidden_fields(page, "/avsla")


def test_approving_shows_what_is_approved_then_approves(w, make, browser):
    sub = submitted_answer(w, make)
    client = browser(w.reviewer_x)
    question = client.post(approve_url(sub), data={"step": "confirm", "comment": " Komplett. "})
    assert question.status_code == 200
    text = text_of(question)
    assert "Vill du godkänna ärendet?" in text
    assert f"Utförare {w.org_a.name}" in text
    assert "Version 1, inskickad" in text
    assert "Kommentar till utföraren Komplett." in text
    assert "Ja, godkänn" in text and "Nej, tillbaka till ärendet" in text
    # Nothing is decided by the question.
    db.session.expire_all()
    assert db.session.get(Submission, sub.id).state == ReviewState.SUBMITTED
    assert approvals(sub) == 0

    fields = hidden_fields(question, "/godkann")
    assert ("version", "1") in fields and ("comment", "Komplett.") in fields
    assert all(name != "step" for name, _value in fields)
    done = client.post(approve_url(sub), data=as_data(fields))
    assert done.status_code == 302 and done.location.endswith(case_url(sub))
    db.session.expire_all()
    sub = db.session.get(Submission, sub.id)
    assert sub.state == ReviewState.APPROVED
    assert sub.events[-1].comment == "Komplett."
    assert approvals(sub) == 1
    assert "Ärendet är godkänt." in text_of(client.get(case_url(sub)))


def test_no_is_the_way_back_to_the_case(w, make, browser):
    sub = submitted_answer(w, make)
    question = browser(w.reviewer_x).post(approve_url(sub), data={"step": "confirm"})
    tree = lxml_html.fromstring(question.get_data(as_text=True))
    (back,) = tree.xpath("//main//a[normalize-space()='Nej, tillbaka till ärendet']")
    assert back.get("href") == case_url(sub) + "#decide-heading"
    assert "Ingen kommentar" in text_of(question)


def test_a_comment_too_long_is_corrected_before_the_question(w, make, browser):
    sub = submitted_answer(w, make)
    refused = browser(w.reviewer_x).post(
        approve_url(sub), data={"step": "confirm", "comment": "x" * 5001}
    )
    assert refused.status_code == 422
    assert "Vill du godkänna ärendet?" not in text_of(refused)


def test_a_reload_or_the_back_button_never_approves_twice(w, make, browser):
    sub = submitted_answer(w, make)
    client = browser(w.reviewer_x)
    question = client.post(approve_url(sub), data={"step": "confirm", "comment": "Bra."})
    fields = as_data(hidden_fields(question, "/godkann"))
    assert client.post(approve_url(sub), data=fields).status_code == 302
    # The browser posts the confirmation again (reload, or back and "Ja, godkänn" again).
    again = client.post(approve_url(sub), data=fields)
    assert again.status_code == 409
    assert "Ärendet har redan ändrats (status: Godkänd). Ladda om sidan." in text_of(again)
    # The question posted again does not ask about a decided case.
    asked_again = client.post(approve_url(sub), data={"step": "confirm", "comment": "Bra."})
    assert asked_again.status_code == 409
    assert "Vill du godkänna ärendet?" not in text_of(asked_again)
    db.session.expire_all()
    assert approvals(sub) == 1
    events = db.session.scalars(
        sa.select(ReviewEvent).where(ReviewEvent.submission_id == sub.id)
    ).all()
    assert [e.to_state for e in events].count(ReviewState.APPROVED) == 1


def test_a_version_sent_after_the_question_is_not_approved_unread(w, make, browser):
    sub = submitted_answer(w, make)
    client = browser(w.reviewer_x)
    question = client.post(approve_url(sub), data={"step": "confirm"})
    fields = as_data(hidden_fields(question, "/godkann"))
    # Meanwhile a colleague asks for more, and the provider sends version 2.
    workflow.ask_clarification(
        sub, w.reviewer_x2, "Mer om brukarråden.", today() + timedelta(days=30)
    )
    db.session.commit()
    workflow.save_draft(sub, w.user_a, {sub.keys[0]: "150", sub.keys[1]: "Brukarråd varje månad."})
    workflow.submit(sub, w.user_a)
    db.session.commit()
    refused = client.post(approve_url(sub), data=fields)
    assert refused.status_code == 409
    assert "utföraren har skickat in en ny version" in text_of(refused)
    db.session.expire_all()
    assert db.session.get(Submission, sub.id).state == ReviewState.SUBMITTED
    assert approvals(sub) == 0


def test_the_question_names_the_providers_confidentiality_markings(w, make, browser):
    sub = submitted_answer(w, make, marked=True)
    client = browser(w.reviewer_x)
    case = text_of(client.get(case_url(sub)))
    assert "Sekretessmarkerat av utföraren" in case and MARK_REASON in case
    question = text_of(client.post(approve_url(sub), data={"step": "confirm"}))
    assert "Utföraren har sekretessmarkerat 1 uppgift." in question
    assert "sekretessen prövas vid publiceringen" in question


def test_only_a_reviewer_of_the_committee_is_asked(w, make, browser):
    sub = submitted_answer(w, make)
    for user in (w.reviewer_y, w.publisher, w.user_a):
        response = browser(user).post(approve_url(sub), data={"step": "confirm"})
        assert response.status_code in (403, 404)
        assert "Vill du godkänna" not in text_of(response)


# --- publishing ---------------------------------------------------------------------------


def publish_choices(sub: Submission, **extra) -> dict:
    data = {
        "title": "Kvalitet i hemtjänsten 2026",
        "summary": "Omsorgshusets svar.",
        "action": "confirm",
        "answer": [sub.keys[0], sub.keys[1]],
    }
    data.update(extra)
    return data


def publications(sub: Submission) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Publication).filter_by(submission_id=sub.id)
    )


def test_the_publish_page_continues_to_the_question(w, make, browser):
    sub = approved_answer(w, make)
    page = browser(w.publisher).get(publish_url(sub))
    tree = lxml_html.fromstring(page.get_data(as_text=True))
    buttons = {b.get("value"): b.text_content().strip() for b in tree.xpath("//main//button")}
    assert buttons.get("confirm") == "Fortsätt"
    assert "publish" not in buttons, "the page asks before it publishes"


def test_publishing_shows_what_becomes_public_then_publishes(w, make, browser, app):
    sub = approved_answer(w, make)
    client = browser(w.publisher)
    question = client.post(publish_url(sub), data=publish_choices(sub))
    assert question.status_code == 200
    text = text_of(question)
    assert "Vill du publicera det här?" in text
    assert "Rubrik Kvalitet i hemtjänsten 2026" in text
    assert "Sammanfattning Omsorgshusets svar." in text
    assert "Antal brukare 142" in text and "Brukarråd varannan månad." in text
    assert "Anna, 070-123 45 67" not in text, "an answer not chosen is not shown as public"
    assert w.org_a.name in text and "Inga filer." in text
    assert publications(sub) == 0

    fields = hidden_fields(question, "/publicering/")
    assert ("answer", sub.keys[0]) in fields and ("answer", sub.keys[1]) in fields
    done = client.post(publish_url(sub), data=as_data(fields, action="publish"))
    assert done.status_code == 302
    publication = db.session.scalar(sa.select(Publication).filter_by(submission_id=sub.id))
    assert done.location.endswith(f"/handlaggare/publiceringar/{publication.id}")
    assert publication.title == "Kvalitet i hemtjänsten 2026"
    assert publication.answer_keys == [sub.keys[0], sub.keys[1]]
    assert app.test_client().get(f"/publicerat/{publication.id}").status_code == 200


def test_back_and_change_keeps_the_choices(w, make, browser):
    sub = approved_answer(w, make)
    client = browser(w.publisher)
    question = client.post(publish_url(sub), data=publish_choices(sub, summary="Kort."))
    back = client.post(
        publish_url(sub), data=as_data(hidden_fields(question, "/publicering/"), action="check")
    )
    assert back.status_code == 200
    tree = lxml_html.fromstring(back.get_data(as_text=True))
    assert tree.xpath("//textarea[@name='summary']")[0].text_content().strip() == "Kort."
    checked = {i.get("value") for i in tree.xpath("//input[@name='answer'][@checked]")}
    assert checked == {sub.keys[0], sub.keys[1]}
    assert publications(sub) == 0


def test_a_reload_or_the_back_button_never_publishes_twice(w, make, browser):
    sub = approved_answer(w, make)
    client = browser(w.publisher)
    question = client.post(publish_url(sub), data=publish_choices(sub))
    fields = as_data(hidden_fields(question, "/publicering/"), action="publish")
    first = client.post(publish_url(sub), data=fields)
    again = client.post(publish_url(sub), data=fields)
    assert first.status_code == 302 and again.status_code == 302
    assert again.location == first.location, "the second post shows the same publication"
    # The question again, once published: the publication, not a second question.
    asked_again = client.post(publish_url(sub), data=publish_choices(sub))
    assert asked_again.status_code == 302 and asked_again.location == first.location
    assert publications(sub) == 1
    published = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "publication.publish")
    )
    assert published == 1


def test_the_question_is_not_asked_while_the_guard_blocks(w, make, browser):
    sub = approved_answer(w, make)
    client = browser(w.publisher)
    blocked = client.post(
        publish_url(sub), data=publish_choices(sub, summary=f"Brukare {PERSONNUMMER}.")
    )
    assert blocked.status_code == 422
    text = text_of(blocked)
    assert "Vill du publicera" not in text and "Publiceringen är stoppad: 1 fynd" in text
    # Nor when nothing is chosen, or the title is missing.
    empty = client.post(publish_url(sub), data=publish_choices(sub, title=" ", answer=[]))
    assert empty.status_code == 422
    assert "Ange en rubrik" in text_of(empty) and "Välj minst ett svar" in text_of(empty)
    assert publications(sub) == 0


def test_the_question_lists_the_logged_decisions(w, make, browser):
    sub = approved_answer(w, make, marked=True)
    client = browser(w.publisher)
    checked = client.post(publish_url(sub), data=publish_choices(sub, action="check"))
    html = checked.get_data(as_text=True)
    token = html.split('name="override-')[1].split('"')[0]
    reason = "Nämnden har prövat sekretessen: uppgiften är offentlig."
    question = client.post(
        publish_url(sub), data=publish_choices(sub, **{f"override-{token}": reason})
    )
    assert question.status_code == 200
    text = text_of(question)
    assert "Dina beslut att publicera ändå (loggas)" in text
    assert "Sekretessmarkerat av utföraren" in text and reason in text
    fields = hidden_fields(question, "/publicering/")
    assert (f"override-{token}", reason) in fields
    done = client.post(publish_url(sub), data=as_data(fields, action="publish"))
    assert done.status_code == 302
    event = db.session.scalar(sa.select(AuditEvent).filter_by(action="publication.pii_override"))
    assert event.detail["kind"] == "confidential" and event.detail["reason"] == reason


# --- in a browser -------------------------------------------------------------------------


def staff_signed_in(chromium, server, user, width: int = 1280):
    context = chromium.new_context(viewport={"width": width, "height": 900}, locale="sv-SE")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(server + "/logga-in")
    page.fill("#email", user.email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/handlaggare/**")
    return page


def test_both_questions_in_a_browser(chromium, axe, server, w, make):
    """Screenshots for a person to look at (test-artifacts/confirmations/), and axe-core
    on both confirmation pages."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    sub = submitted_answer(w, make, marked=True)
    problems = {}

    page = staff_signed_in(chromium, server, w.reviewer_x)
    page.goto(server + case_url(sub))
    page.fill(".decision-approve textarea[name=comment]", "Komplett och tydligt.")
    page.click(".decision-approve button[type=submit]")
    page.wait_for_selector("h1:has-text('Vill du godkänna ärendet?')")
    main = page.inner_text("main")
    assert w.org_a.name in main and "Komplett och tydligt." in main
    page.screenshot(path=str(ARTIFACTS / "approve-confirm.png"), full_page=True)
    results = axe.run(page, options=AXE_OPTIONS)
    assert len(results.response["passes"]) > 10
    if results.violations_count:
        problems["approve"] = results.generate_report()
    page.click("main button:has-text('Ja, godkänn')")
    page.wait_for_selector("text=Ärendet är godkänt.")
    page.context.close()
    db.session.expire_all()
    assert db.session.get(Submission, sub.id).state == ReviewState.APPROVED

    page = staff_signed_in(chromium, server, w.publisher)
    page.goto(server + publish_url(sub))
    page.check(f"#answer-{sub.keys[1]}")  # the marked answer, left out by default
    page.click("main button[value=check]")
    page.wait_for_selector("li.hit.open")
    page.fill("li.hit.open input[name^=override-]", "Nämnden har prövat sekretessen.")
    page.click("main button:has-text('Fortsätt')")
    page.wait_for_selector("h1:has-text('Vill du publicera det här?')")
    main = page.inner_text("main")
    assert "Brukarråd varannan månad." in main and "Nämnden har prövat sekretessen." in main
    page.screenshot(path=str(ARTIFACTS / "publish-confirm.png"), full_page=True)
    results = axe.run(page, options=AXE_OPTIONS)
    if results.violations_count:
        problems["publish"] = results.generate_report()
    # At the width of a phone, the same question.
    phone = staff_signed_in(chromium, server, w.publisher, width=360)
    phone.goto(server + publish_url(sub))
    phone.click("main button:has-text('Fortsätt')")
    phone.wait_for_selector("h1:has-text('Vill du publicera det här?')")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    phone.screenshot(path=str(ARTIFACTS / "publish-confirm-360.png"), full_page=True)
    phone.context.close()

    page.click("main button:has-text('Ja, publicera')")
    page.wait_for_selector("text=Publicerat. Uppgifterna syns nu för allmänheten.")
    page.context.close()
    assert publications(sub) == 1
    assert not problems, "\n\n".join(f"{name}:\n{report}" for name, report in problems.items())
