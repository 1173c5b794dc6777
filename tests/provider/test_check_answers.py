"""Check your answers (issue 11): the form's "Fortsätt" saves the draft and shows every
question with its answer and an "Ändra" link; only the check page's button sends, and
only what was read through (a draft changed since is not sent)."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from lxml import html as lxml_html

from portal import workflow
from portal.dates import today
from portal.extensions import db
from portal.models import ReviewEvent, ReviewState, Submission, SubmissionKind
from tests.browser import AXE_OPTIONS
from tests.conftest import text_of
from tests.pdfs import pdf_bytes
from tests.provider.conftest import commit_and_send, keys, valid_form
from tests.provider.test_browser import fill_answers, signed_in
from tests.provider.test_deviation import report_form

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "check-answers"
PERSONNUMMER = "19121212-1212"  # Skatteverket's test number


def answer_url(sub) -> str:
    return f"/utforare/arenden/{sub.id}/svar"


def check_url(sub) -> str:
    return f"/utforare/arenden/{sub.id}/kontrollera"


def send_url(sub) -> str:
    return f"/utforare/arenden/{sub.id}/skicka-in"


def tree(response):
    return lxml_html.fromstring(response.get_data(as_text=True))


def send_form(response) -> dict:
    """The fields of the check page's send form, as the browser would post them."""
    (form,) = tree(response).xpath("//form[contains(@action, '/skicka-in')]")
    return {
        i.get("name"): i.get("value")
        for i in form.xpath(".//input[@type='hidden']")
        if i.get("name") != "csrf_token"
    }


def test_continue_shows_the_answers_and_only_the_check_page_sends(client, w, asked, smtp_server):
    client.login(w.user_a)
    smtp_server.clear()  # the request's own mails
    form = client.get(answer_url(asked)).get_data(as_text=True)
    assert 'value="check"' in form and ">Fortsätt<" in form
    assert 'value="submit"' not in form  # nothing is sent from the form itself

    shown = client.post(answer_url(asked), data={**valid_form(asked), "action": "check"})
    assert shown.status_code == 303 and shown.location.endswith(check_url(asked))
    db.session.refresh(asked)
    assert asked.state == ReviewState.DRAFT and asked.current_draft is not None
    assert asked.registration_number is None and smtp_server.messages == []

    page = client.get(shown.location)
    assert page.status_code == 200
    text = text_of(page)
    assert "Kontrollera svaren innan ni skickar in" in text
    k = keys(asked)
    rows = {
        r.xpath("string(dt)").strip(): r.xpath("string(dd)")
        for r in tree(page).xpath("//dl[contains(@class, 'check-answers')]/div")
    }
    assert list(rows) == [
        "Beskriv arbetet med delaktighet",
        "Antal brukare",
        "Andel undersköterskor",
        "Finns ledningssystem?",
        "Senaste egenkontroll",
        "Kvalitetsberättelse",
    ]
    assert "Brukarråd varannan månad." in rows["Beskriv arbetet med delaktighet"]
    assert "1\u00a0234\u00a0personer" in rows["Antal brukare"]
    assert "85,5\u00a0%" in rows["Andel undersköterskor"]
    assert "Ja" in rows["Finns ledningssystem?"]
    assert "31 mars 2026" in rows["Senaste egenkontroll"]
    assert "Kvalitetsberättelse.pdf" in rows["Kvalitetsberättelse"]
    # Each answer can be changed: the link goes to its field on the form.
    links = tree(page).xpath("//a[starts-with(normalize-space(.), 'Ändra')]/@href")
    for key in k.values():
        assert f"{answer_url(asked)}#fld-{key}" in links
    assert f"{answer_url(asked)}#note" in links
    assert "Skicka in" in text and "kan inte ändras efteråt" in text

    sent = client.post(send_url(asked), data=send_form(page))
    assert sent.status_code == 303 and sent.location.endswith(f"/kvitto/{1}")
    db.session.refresh(asked)
    assert asked.state == ReviewState.SUBMITTED and asked.registration_number
    assert asked.versions[0].frozen and asked.versions[0].answers[k["number"]] == "1234"
    assert "Tack! Kommunen har tagit emot" in text_of(client.get(sent.location))
    assert f"Kvitto: {asked.registration_number} har tagits emot" in smtp_server.subjects(
        w.user_a.email
    )
    # A second click (or the back button) sends nothing more: the receipt again.
    again = client.post(send_url(asked), data=send_form(page))
    assert again.status_code == 303 and again.location.endswith("/kvitto/1")
    events = db.session.scalars(
        sa.select(ReviewEvent.action).where(ReviewEvent.submission_id == asked.id)
    ).all()
    assert events == ["submit"]
    # Afterwards the check page leads to the case: nothing is left to send.
    after = client.get(check_url(asked))
    assert after.status_code == 303 and after.location.endswith(f"/utforare/arenden/{asked.id}")


def test_incomplete_answers_are_corrected_before_the_check_page(client, w, asked):
    client.login(w.user_a)
    k = keys(asked)
    form = {**valid_form(asked), k["number"]: "tolv"}
    del form[k["file"]]
    response = client.post(answer_url(asked), data={**form, "action": "check"})
    assert response.status_code == 422
    text = text_of(response)
    assert "Ange ett tal" in text and "Bifoga minst en fil." in text
    assert 'value="tolv"' in response.get_data(as_text=True)  # as typed
    db.session.refresh(asked)
    assert asked.current_draft.answers[k["text"]] == "Brukarråd varannan månad."  # kept

    # The check page opened anyway lists what to correct, with no button to send.
    page = client.get(check_url(asked))
    assert page.status_code == 200
    summary = tree(page).xpath("//div[@id='fel']//a")
    targets = {a.get("href") for a in summary}
    assert f"{answer_url(asked)}#fld-{k['number']}" in targets
    assert f"{answer_url(asked)}#fld-{k['file']}" in targets
    assert not tree(page).xpath("//form[contains(@action, '/skicka-in')]")
    # A crafted post sends nothing either: the form again, with the messages.
    refused = client.post(send_url(asked), data={"lock_version": str(asked.lock_version)})
    assert refused.status_code == 422
    assert "Inget är inskickat" in text_of(refused) and "Ange ett tal" in text_of(refused)
    db.session.refresh(asked)
    assert asked.state == ReviewState.DRAFT and not asked.submitted_versions


def test_a_draft_changed_after_it_was_checked_is_not_sent(client, app, w, asked):
    client.login(w.user_a)
    client.post(answer_url(asked), data={**valid_form(asked), "action": "check"})
    page = client.get(check_url(asked))
    checked = send_form(page)

    colleague = app.test_client()
    colleague.login(w.admin_a)
    k = keys(asked)
    form = {**valid_form(asked), k["text"]: "Ändrat av en kollega."}
    del form[k["file"]]
    assert colleague.post(answer_url(asked), data={**form, "action": "save"}).status_code == 303

    stale = client.post(send_url(asked), data=checked)
    assert stale.status_code == 303 and stale.location.endswith(check_url(asked))
    db.session.refresh(asked)
    assert asked.state == ReviewState.DRAFT
    again = client.get(stale.location)
    assert "svaren har ändrats sedan sidan visades" in text_of(again)
    assert "Ändrat av en kollega." in text_of(again)  # what will be sent now
    # Without the version read through, nothing is sent either.
    assert client.post(send_url(asked), data={}).status_code == 303
    db.session.refresh(asked)
    assert asked.state == ReviewState.DRAFT
    assert client.post(send_url(asked), data=send_form(again)).status_code == 303
    db.session.refresh(asked)
    assert asked.state == ReviewState.SUBMITTED
    assert asked.versions[0].answers[k["text"]] == "Ändrat av en kollega."


def test_a_personnummer_is_confirmed_on_the_check_page(client, w, asked):
    client.login(w.user_a)
    k = keys(asked)
    form = {**valid_form(asked), k["text"]: f"Brukaren {PERSONNUMMER} deltog."}
    assert client.post(answer_url(asked), data={**form, "action": "check"}).status_code == 303
    page = client.get(check_url(asked))
    text = text_of(page)
    assert "Texten verkar innehålla personnummer" in text and "********-**12" in text
    assert PERSONNUMMER not in page.get_data(as_text=True)

    unconfirmed = client.post(send_url(asked), data=send_form(page))
    assert unconfirmed.status_code == 422
    assert "Bekräfta att numret inte är ett personnummer" in text_of(unconfirmed)
    db.session.refresh(asked)
    assert asked.state == ReviewState.DRAFT
    confirmed = client.post(send_url(asked), data={**send_form(page), "pii_confirmed": "1"})
    assert confirmed.status_code == 303
    db.session.refresh(asked)
    assert asked.state == ReviewState.SUBMITTED


def test_the_send_address_opened_and_a_check_page_without_a_draft(client, w, asked):
    client.login(w.user_a)
    nothing = client.get(check_url(asked))  # nothing saved yet: back to the form
    assert nothing.status_code == 303 and nothing.location.endswith(answer_url(asked))
    opened = client.get(send_url(asked))  # a reload, the language switch
    assert opened.status_code == 303 and opened.location.endswith(check_url(asked))
    db.session.refresh(asked)
    assert asked.state == ReviewState.DRAFT and asked.versions == []


def test_a_new_deviation_report_is_checked_before_it_is_sent(client, w):
    client.login(w.user_a)
    agreement = w.org_a.agreements[0]
    form = client.get("/utforare/avvikelser/ny").get_data(as_text=True)
    assert 'value="check"' in form and 'value="submit"' not in form
    shown = client.post(
        "/utforare/avvikelser/ny",
        data={
            **report_form(agreement),
            "action": "check",
            "attachments": (io.BytesIO(pdf_bytes()), "Händelseanalys.pdf"),
        },
    )
    assert shown.status_code == 303
    (report,) = db.session.scalars(
        sa.select(Submission).where(Submission.kind == SubmissionKind.DEVIATION_REPORT)
    ).all()
    assert shown.location.endswith(check_url(report)) and report.state == ReviewState.DRAFT
    page = client.get(shown.location)
    text = text_of(page)
    for label, value in (
        ("Rubrik", "Fördröjd läkemedelsutdelning"),
        ("Avtal och verksamhet", agreement.reference),
        ("Typ av händelse", "Avvikelse"),
        ("Allvarlighetsgrad", "Medel"),
        ("Vad hände?", "Kvällens läkemedel delades ut två timmar sent"),
        ("Bilagor", "Händelseanalys.pdf"),
    ):
        assert label in text and value in text, label
    assert f"{answer_url(report)}#fld-title" in page.get_data(as_text=True)
    sent = client.post(send_url(report), data=send_form(page))
    assert sent.status_code == 303
    db.session.refresh(report)
    assert report.state == ReviewState.SUBMITTED and report.registration_number


@pytest.fixture
def approved_plan(w):
    """An approved action plan of org A after a finding, with one measure planned."""
    from portal.models import Finding

    plan = workflow.record_finding(
        Finding(
            agreement=w.org_a.agreements[0],
            assessed_on=today(),
            meets_requirements=False,
            deficiencies="Genomförandeplaner saknas.",
            action_plan_due=today() + timedelta(days=21),
        ),
        w.reviewer_x,
    )
    measure = {
        "description": "Uppdatera genomförandeplanerna.",
        "owner": "Enhetschef",
        "due": (today() + timedelta(days=30)).isoformat(),
        "status": "planned",
    }
    workflow.save_draft(plan, w.user_a, {"measures": [measure]})
    workflow.submit(plan, w.user_a)
    workflow.approve(plan, w.reviewer_x)
    commit_and_send()
    return plan


def test_a_progress_report_is_checked_before_it_is_sent(client, w, approved_plan):
    plan = approved_plan
    client.login(w.user_a)
    shown = client.post(
        answer_url(plan),
        data={
            "measure_count": "1",
            "m-0-status": "in_progress",
            "note": "Hälften av planerna är uppdaterade.",
            "action": "check",
        },
    )
    assert shown.status_code == 303 and shown.location.endswith(check_url(plan))
    page = client.get(shown.location)
    text = text_of(page)
    assert "Uppdatera genomförandeplanerna." in text and "Pågår" in text
    assert "Hälften av planerna är uppdaterade." in text
    assert re.search(r"Skicka lägesrapport", text)
    assert f"{answer_url(plan)}#atgarder" in page.get_data(as_text=True)
    db.session.refresh(plan)
    assert len(plan.submitted_versions) == 1  # nothing sent yet
    sent = client.post(send_url(plan), data=send_form(page))
    assert sent.status_code == 303 and sent.location.endswith("/kvitto/2")
    db.session.refresh(plan)
    assert plan.state == ReviewState.APPROVED and len(plan.submitted_versions) == 2
    assert plan.versions[1].answers["measures"][0]["status"] == "in_progress"


def test_the_check_page_in_a_browser(browser, axe, server, w, asked, tmp_path):
    """Screenshots for a person to look at (test-artifacts/check-answers/), without
    JavaScript as with it; axe-core on the check page (where scripts run)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    file = tmp_path / "Kvalitetsberättelse.txt"
    file.write_text("Kvalitetsarbete i hemtjänsten.\n")
    k = keys(asked)
    problems = {}
    for javascript in (False, True):
        name = "with-javascript" if javascript else "without-javascript"
        page = signed_in(browser, server, w.user_a, javascript=javascript, width=1280)
        page.set_default_timeout(15_000)
        page.goto(server + answer_url(asked))
        fill_answers(page, asked, file)
        details = f"#confidential-{k['text']}-details"
        if page.get_attribute(details, "open") is None:  # folded away until used
            page.click(f"{details} summary")
        page.check(f"#confidential-{k['text']}")
        page.fill(f"#confidential-{k['text']}-reason", "Uppgiften rör en enskild brukares hälsa.")
        page.click("button[name=action][value=check]")
        page.wait_for_selector("h1:has-text('Kontrollera svaren innan ni skickar in')")
        assert page.url.endswith(check_url(asked))
        main = page.inner_text("main")
        assert "Kvalitetsberättelse.txt" in main and "Sekretessmarkerad" in main
        assert "Uppgiften rör en enskild brukares hälsa." in main
        page.screenshot(path=str(ARTIFACTS / f"check-answers-{name}.png"), full_page=True)
        if javascript:  # axe-core is a script: it runs where scripts do
            results = axe.run(page, options=AXE_OPTIONS)
            if results.violations_count:
                problems[name] = results.generate_report()
        # "Ändra" leads to the field on the form, with the answer as it was saved.
        page.click(f"a[href$='#fld-{k['number']}']")
        page.wait_for_url(f"**{answer_url(asked)}#fld-{k['number']}")
        assert page.input_value(f"#fld-{k['number']}") == "1234"
        page.context.close()
    # At the width of a phone.
    page = signed_in(browser, server, w.user_a, javascript=True, width=360)
    page.set_default_timeout(15_000)
    page.goto(server + check_url(asked))
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(ARTIFACTS / "check-answers-360.png"), full_page=True)
    results = axe.run(page, options=AXE_OPTIONS)
    if results.violations_count:
        problems["360"] = results.generate_report()
    page.click("main button:has-text('Skicka in')")
    page.wait_for_selector("text=Tack! Kommunen har tagit emot")
    page.context.close()
    db.session.refresh(asked)
    assert asked.state == ReviewState.SUBMITTED
    assert asked.versions[0].confidential == {k["text"]: "Uppgiften rör en enskild brukares hälsa."}
    assert not problems, "\n\n".join(f"{name}:\n{report}" for name, report in problems.items())
