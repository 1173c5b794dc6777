"""The provider pages in a real browser: the upload with a progress bar where JavaScript is
on, the plain form where it is off, and axe-core (WCAG 2.1 AA) on every kind of page."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal import workflow
from portal.dates import today
from portal.extensions import db
from portal.models import Finding, ReviewState, SubmissionKind
from tests.browser import AXE_OPTIONS
from tests.factories import PASSWORD
from tests.provider.conftest import keys


def signed_in(browser, server, user, *, javascript: bool = True, width: int = 1280):
    context = browser.new_context(
        java_script_enabled=javascript, viewport={"width": width, "height": 900}
    )
    context.set_default_timeout(10_000)  # a wait that cannot succeed fails fast
    page = context.new_page()
    page.goto(server + "/logga-in")
    page.fill("#email", user.email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/utforare/")
    return page


def fill_answers(page, submission, file_path) -> None:
    k = keys(submission)
    page.fill(f"#fld-{k['text']}", "Brukarråd varannan månad.")
    page.fill(f"#fld-{k['number']}", "1 234")
    page.fill(f"#fld-{k['percentage']}", "85,5")
    page.check(f"input[name={k['yes_no']}][value=yes]")
    page.fill(f"#fld-{k['date']}", "2026-03-31")
    page.set_input_files(f"#fld-{k['file']}", str(file_path))


def test_upload_with_progress_bar_when_javascript_is_on(browser, server, w, asked, tmp_path):
    big = tmp_path / "Kvalitetsberättelse.txt"
    big.write_bytes(b"Kvalitetsarbete i hemtjansten.\n" * 200_000)  # about 6 MB
    page = signed_in(browser, server, w.user_a)
    page.goto(f"{server}/utforare/arenden/{asked.id}/svar")
    fill_answers(page, asked, big)
    page.evaluate("""() => {
        window.progressSeen = [];
        new MutationObserver(() => {
            const box = document.querySelector('.upload-status');
            if (box && !box.hidden) {
                window.progressSeen.push(box.querySelector('progress').value + ' '
                    + box.querySelector('.upload-text').textContent);
            }
        }).observe(document.documentElement, {subtree: true, attributes: true,
                                              childList: true, characterData: true});
    }""")
    with page.expect_request(lambda r: r.method == "POST") as posted:
        page.click("button[name=action][value=check]")
    assert posted.value.resource_type == "xhr"  # sent by the script, not the form
    page.wait_for_selector("h1:has-text('Kontrollera svaren innan ni skickar in')")
    seen = page.evaluate("window.progressSeen")
    assert any("Laddar upp" in s or "Filen är uppladdad" in s for s in seen), seen
    assert page.url.endswith(f"/utforare/arenden/{asked.id}/kontrollera")  # not the post's
    db.session.refresh(asked)
    assert asked.state == ReviewState.DRAFT  # nothing sent before the answers are read through
    page.click("main button:has-text('Skicka in')")
    page.wait_for_selector("text=Tack! Kommunen har tagit emot")
    assert page.url.endswith(f"/utforare/arenden/{asked.id}/kvitto/1")
    assert "Kvalitetsberättelse.txt" in page.inner_text("main")
    db.session.refresh(asked)
    assert asked.state == ReviewState.SUBMITTED
    assert asked.versions[0].attachments[0].size == big.stat().st_size
    page.context.close()


def test_refused_file_message_with_javascript(browser, server, w, asked, tmp_path):
    bad = tmp_path / "sida.html"
    bad.write_text("<html><body>hej</body></html>")
    page = signed_in(browser, server, w.user_a)
    page.goto(f"{server}/utforare/arenden/{asked.id}/svar")
    fill_answers(page, asked, bad)
    page.click("button[name=action][value=check]")
    page.wait_for_selector("#fel")
    assert page.evaluate("document.activeElement.id") == "fel"  # focus on the summary
    assert "HTML-, SVG- och XML-filer kan inte tas emot" in page.inner_text("#fel")
    assert page.input_value(f"#fld-{keys(asked)['number']}") == "1 234"  # as typed
    page.context.close()


def test_file_over_the_limit_is_caught_before_upload(browser, server, w, asked, tmp_path):
    page = signed_in(browser, server, w.user_a)
    page.goto(f"{server}/utforare/arenden/{asked.id}/svar")
    k = keys(asked)
    page.evaluate(
        f"document.getElementById('fld-{k['file']}').setAttribute('data-max-bytes', '10')"
    )
    big = tmp_path / "stor.txt"
    big.write_bytes(b"x" * 100)
    page.set_input_files(f"#fld-{k['file']}", str(big))
    assert "Filen stor.txt är för stor" in page.inner_text("main")
    posts = []
    page.on("request", lambda r: posts.append(r) if r.method == "POST" else None)
    page.click("button[name=action][value=check]")
    page.wait_for_timeout(500)
    assert posts == []  # not sent at all
    page.context.close()


def test_plain_form_works_without_javascript(browser, server, w, asked, tmp_path):
    file = tmp_path / "berattelse.txt"
    file.write_text("Kvalitetsberättelse\n")
    page = signed_in(browser, server, w.admin_a, javascript=False)
    page.goto(f"{server}/utforare/arenden/{asked.id}/svar")
    fill_answers(page, asked, file)
    with page.expect_request(lambda r: r.method == "POST") as posted:
        page.click("button[name=action][value=check]")
    assert posted.value.resource_type == "document"
    page.wait_for_selector("h1:has-text('Kontrollera svaren innan ni skickar in')")
    assert "berattelse.txt" in page.inner_text("main")
    page.click("main button:has-text('Skicka in')")
    page.wait_for_selector("text=Tack! Kommunen har tagit emot")
    db.session.refresh(asked)
    assert asked.state == ReviewState.SUBMITTED
    assert [a.display_name for a in asked.versions[0].attachments] == ["berattelse.txt"]
    page.context.close()


@pytest.fixture
def pages(make, w, asked):
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
    plan = workflow.record_finding(
        Finding(
            agreement=agreement,
            assessed_on=today(),
            meets_requirements=False,
            deficiencies="Genomförandeplaner saknas.",
            action_plan_due=today() + timedelta(days=14),
        ),
        w.reviewer_x,
    )
    workflow.save_draft(
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
    return {
        "start": "/utforare/",
        "list": "/utforare/arenden",
        "answer": f"/utforare/arenden/{asked.id}/svar",
        "request": f"/utforare/arenden/{asked.id}",
        "deviation": f"/utforare/arenden/{report.id}",
        "receipt": f"/utforare/arenden/{report.id}/kvitto/1",
        "new deviation": "/utforare/avvikelser/ny",
        "plan": f"/utforare/arenden/{plan.id}/svar",
        "plan to check": f"/utforare/arenden/{plan.id}/kontrollera",
        "new plan": "/utforare/atgardsplaner/ny",
        "organisation": "/utforare/organisation",
        "invite": "/utforare/organisation/bjud-in",
    }


@pytest.mark.parametrize("width", [1280, 360])
def test_axe_finds_no_violations_on_provider_pages(browser, axe, server, w, pages, width):
    page = signed_in(browser, server, w.admin_a, width=width)
    problems = {}
    for name, path in pages.items():
        response = page.goto(server + path)
        assert response.status == 200, name
        results = axe.run(page, options=AXE_OPTIONS)
        if results.violations_count:
            problems[name] = results.generate_report()
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, (name, overflow)
    # The form with its messages, too.
    page.goto(server + pages["answer"])
    page.click("button[name=action][value=check]")
    page.wait_for_selector("#fel")
    results = axe.run(page, options=AXE_OPTIONS)
    if results.violations_count:
        problems["answer with errors"] = results.generate_report()
    page.context.close()
    assert not problems, "\n\n".join(f"{name}:\n{report}" for name, report in problems.items())
