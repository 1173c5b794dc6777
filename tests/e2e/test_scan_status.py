"""The virus scan as the provider sees it, in a real browser: the app on PostgreSQL, the S3
server and clamd, a real broker, and the worker started only when the test wants the
verdict. With JavaScript the page updates itself and enables "Skicka in" (no reload, no
Content-Security-Policy violation, axe-core clean); without it a link reloads the page."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from portal.extensions import db
from portal.models import ReviewState, ScanStatus, Submission
from tests.browser import AXE_OPTIONS
from tests.fixtures_jobs import InProcessWorker, wait_until
from tests.pdfs import pdf_bytes
from tests.provider.conftest import commit_and_send, each_type_fields
from tests.provider.test_browser import fill_answers, signed_in

PENDING = "Viruskontroll pågår"
RELOAD = "Uppdatera sidan för att se om kontrollen är klar"
SEND = "main button:has-text('Skicka in')"


@pytest.fixture
def no_worker_yet(app_config, jobs_config):
    """Scans wait on the broker until the test starts a worker; a short inline wait."""
    jobs_config["SCAN_INLINE_SECONDS"] = 0.2


@pytest.fixture
def w(make):
    return make.world()


@pytest.fixture
def answer(make, w) -> Submission:
    """Org A's answer to a request with one field of each type (a file among them)."""
    (submission,) = make.info_request(
        w.committee_x,
        [w.org_a],
        w.reviewer_x,
        title="Kvalitetsredovisning 2026",
        fields=each_type_fields(),
    )
    commit_and_send()
    return submission


@pytest.fixture
def report(tmp_path):
    path = tmp_path / "Kvalitetsberättelse.pdf"
    path.write_bytes(pdf_bytes("Kvalitetsberättelse för hemtjänsten."))
    return path


def upload_and_check(page, server, answer, report) -> None:
    """Fill in the answer with the file and go on to the check page; the scan waits."""
    page.goto(f"{server}/utforare/arenden/{answer.id}/svar")
    fill_answers(page, answer, report)
    page.click("button[name=action][value=check]")
    page.wait_for_selector("h1:has-text('Kontrollera svaren innan ni skickar in')")


def no_axe_violations(axe, page) -> None:
    violations = axe.run(page, options=AXE_OPTIONS).response["violations"]
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]


def scan_status(answer: Submission) -> ScanStatus:
    """The draft's file's status as committed now."""
    db.session.rollback()
    return db.session.get(Submission, answer.id).current_draft.attachments[0].scan_status


def sent(answer: Submission) -> Submission:
    db.session.expire_all()
    submission = db.session.get(Submission, answer.id)
    assert submission.state is ReviewState.SUBMITTED
    (file,) = submission.submitted_versions[-1].attachments
    assert file.scan_status is ScanStatus.CLEAN
    return submission


@pytest.mark.parametrize("jobs_url", ["sqlite"], indirect=True)
def test_the_page_updates_itself_when_the_scan_is_done(
    no_worker_yet, jobs_app, browser, server, axe, w, answer, report
):
    page = signed_in(browser, server, w.user_a)
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    upload_and_check(page, server, answer, report)
    page.evaluate("""() => {
        window.violations = [];
        document.addEventListener('securitypolicyviolation',
            (e) => window.violations.push(e.violatedDirective + ' ' + e.blockedURI));
        window.notReloaded = true;
    }""")
    status = page.locator("[data-scan-status]")
    assert status.get_attribute("data-scan-status") == "pending"
    assert status.inner_text() == PENDING
    assert page.locator(SEND).is_disabled()
    assert "kontrolleras fortfarande för virus" in page.inner_text("#send-wait")
    no_axe_violations(axe, page)

    polled = page.wait_for_event("response", lambda r: r.url.endswith("/filer/status"))
    assert polled.status == 200 and polled.json()["ready"] is False
    with InProcessWorker(jobs_app):
        page.wait_for_selector(f"{SEND}:not([disabled])", timeout=30_000)
    assert page.evaluate("window.notReloaded") is True  # updated in place
    assert status.get_attribute("data-scan-status") == "clean" and status.inner_text() == ""
    assert page.locator("#send-wait").is_hidden()
    assert page.locator("[data-scan-refresh]").is_hidden()
    assert page.get_by_role("link", name="Kvalitetsberättelse.pdf").count() == 1
    told = page.inner_text("[data-scan-live]")
    assert told == "Kvalitetsberättelse.pdf: Viruskontrollen är klar"
    no_axe_violations(axe, page)
    assert page.evaluate("window.violations") == []
    assert problems == [], problems

    page.click(SEND)
    page.wait_for_selector("text=Tack! Kommunen har tagit emot")
    sent(answer)
    page.context.close()


@pytest.mark.parametrize("jobs_url", ["sqlite"], indirect=True)
def test_without_javascript_a_link_reloads_the_page(
    no_worker_yet, jobs_app, browser, server, w, answer, report
):
    page = signed_in(browser, server, w.user_a, javascript=False)
    upload_and_check(page, server, answer, report)
    assert PENDING in page.inner_text("main")
    assert page.locator(SEND).is_disabled()
    reload = page.get_by_role("link", name=RELOAD)
    # The server is reached at the municipality's path prefix; the link keeps it.
    prefix = urlsplit(server).path
    assert reload.get_attribute("href") == f"{prefix}/utforare/arenden/{answer.id}/kontrollera"

    with InProcessWorker(jobs_app):
        wait_until(
            lambda: scan_status(answer) is ScanStatus.CLEAN,
            timeout=30,
            message="the worker scanned the file",
        )
    reload.click()
    page.wait_for_load_state("load")
    assert PENDING not in page.inner_text("main")
    assert page.get_by_role("link", name=RELOAD).count() == 0
    page.click(SEND)
    page.wait_for_selector("text=Tack! Kommunen har tagit emot")
    sent(answer)
    page.context.close()
