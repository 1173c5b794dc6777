"""What the provider sees while the files are scanned, and "Skicka in" waiting for clean files.

The scan gives its verdict in a job after the upload's commit. Rows are set pending here
directly (the statuses a scan leaves them in), or really left pending: a real broker with
no worker until the test starts one.
"""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from portal import workflow
from portal.extensions import db
from portal.models import Attachment, ReviewState, ScanStatus, Submission
from tests.conftest import text_of
from tests.fixtures_jobs import InProcessWorker, wait_until
from tests.pdfs import pdf_bytes
from tests.provider.conftest import keys, valid_form

PENDING = "Viruskontroll pågår"
WAITING = "Viruskontroll väntar: kontrollen svarar inte just nu. Filen kontrolleras automatiskt."
STOPPED = "Stoppad: skadlig kod hittades, filen är borttagen"
RELOAD = "Uppdatera sidan för att se om kontrollen är klar"
STILL_SCANNED = "kontrolleras fortfarande för virus. Du kan skicka in när kontrollen är klar."


def status_url(submission: Submission) -> str:
    return f"/utforare/arenden/{submission.id}/filer/status"


def save_with_files(client, asked, *names: str) -> list[Attachment]:
    """Save the draft with a PDF per name in the file question; its rows, in that order."""
    files = [(io.BytesIO(pdf_bytes(name)), f"{name}.pdf") for name in names]
    form = valid_form(asked, **{keys(asked)["file"]: files})
    response = client.post(f"/utforare/arenden/{asked.id}/svar", data={**form, "action": "save"})
    assert response.status_code == 303, text_of(response)[:500]
    db.session.expire_all()
    rows = db.session.get(Submission, asked.id).current_draft.attachments
    return sorted(rows, key=lambda a: names.index(a.display_name.removesuffix(".pdf")))


def set_scan(attachment: Attachment, status: ScanStatus, attempts: int = 0) -> None:
    db.session.execute(
        sa.update(Attachment)
        .where(Attachment.id == attachment.id)
        .values(scan_status=status, scan_attempts=attempts)
    )
    db.session.commit()
    db.session.expire_all()


def test_the_status_of_each_file_as_json(client, w, asked, compiled_translations):
    client.login(w.user_a)
    pending, waiting, stopped, clean = save_with_files(client, asked, "a", "b", "c", "d")

    unscanned = client.get(status_url(asked))  # scanning is off: files are not scanned
    assert unscanned.status_code == 200 and unscanned.headers["Cache-Control"] == "no-store"
    assert unscanned.json["ready"] is True and unscanned.json["reason"] == ""
    assert {f["status"] for f in unscanned.json["files"]} == {"not_scanned"}

    set_scan(pending, ScanStatus.PENDING_SCAN)
    set_scan(waiting, ScanStatus.PENDING_SCAN, attempts=2)
    set_scan(stopped, ScanStatus.INFECTED)
    set_scan(clean, ScanStatus.CLEAN)
    answer = client.get(status_url(asked)).json
    by_id = {f["id"]: f for f in answer["files"]}
    assert by_id[pending.id] == {"id": pending.id, "status": "pending", "label": PENDING}
    assert by_id[waiting.id] == {"id": waiting.id, "status": "waiting", "label": WAITING}
    assert by_id[stopped.id] == {"id": stopped.id, "status": "infected", "label": STOPPED}
    assert by_id[clean.id] == {
        "id": clean.id,
        "status": "clean",
        "label": "",
        "url": f"/utforare/filer/{clean.id}",
    }
    assert answer["ready"] is False and answer["poll_ms"] == 2000
    assert answer["reason"] == (
        "Filen c.pdf stoppades av viruskontrollen. Ta bort den och ladda upp en annan fil."
    )
    assert answer["done_label"] == "Viruskontrollen är klar"

    set_scan(stopped, ScanStatus.CLEAN)
    answer = client.get(status_url(asked)).json
    assert answer["ready"] is False
    assert answer["reason"] == "Ärendet kan skickas in när alla filer är kontrollerade."

    english = client.get(status_url(asked) + "?lang=en").json
    labels = {f["id"]: f["label"] for f in english["files"]}
    assert labels[pending.id] == "Virus check in progress"
    assert labels[waiting.id].startswith("Virus check waiting: the check is not responding")
    assert english["reason"] == "The case can be submitted when all files have been checked."

    set_scan(pending, ScanStatus.CLEAN)
    set_scan(waiting, ScanStatus.CLEAN)
    answer = client.get(status_url(asked)).json
    assert answer["ready"] is True and answer["reason"] == ""
    assert {f["status"] for f in answer["files"]} == {"clean"}


def test_the_status_is_only_for_the_organisation(app, client, w, asked):
    client.login(w.user_a)
    (file,) = save_with_files(client, asked, "a")
    set_scan(file, ScanStatus.PENDING_SCAN)
    assert client.get(status_url(asked)).status_code == 200

    for user in (w.user_b, w.reviewer_x, w.admin):
        other = app.test_client()
        other.login(user)
        response = other.get(status_url(asked))
        assert response.status_code == 404, user.email
        assert PENDING not in response.get_data(as_text=True)
    anonymous = app.test_client().get(status_url(asked))
    assert anonymous.status_code == 302 and "/logga-in" in anonymous.headers["Location"]
    assert client.get("/utforare/arenden/999999/filer/status").status_code == 404


def test_the_status_is_limited_per_user(app, client, w, asked):
    client.login(w.user_a)
    save_with_files(client, asked, "a")
    answers = [client.get(status_url(asked)).status_code for _ in range(61)]
    assert answers[:60] == [200] * 60 and answers[60] == 429
    colleague = app.test_client()
    colleague.login(w.admin_a)
    assert colleague.get(status_url(asked)).status_code == 200


def test_skicka_in_waits_for_the_scan(client, w, asked):
    client.login(w.user_a)
    (file,) = save_with_files(client, asked, "Rutin")
    set_scan(file, ScanStatus.PENDING_SCAN)

    form = client.get(f"/utforare/arenden/{asked.id}/svar").get_data(as_text=True)
    assert f'data-scan-file="{file.id}" data-scan-status="pending">{PENDING}</span>' in form
    assert f'href="/utforare/arenden/{asked.id}/svar">{RELOAD}' in form
    case = client.get(f"/utforare/arenden/{asked.id}").get_data(as_text=True)
    assert "Filer i utkastet" in case and PENDING in case and RELOAD in case

    check = client.get(f"/utforare/arenden/{asked.id}/kontrollera")
    html = check.get_data(as_text=True)
    assert check.status_code == 200 and f"Filen Rutin.pdf {STILL_SCANNED}" in text_of(check)
    assert "data-scan-send disabled" in html
    assert f'data-scan-status-url="{status_url(asked)}"' in html
    assert f'href="/utforare/arenden/{asked.id}/kontrollera">{RELOAD}' in html

    db.session.refresh(asked)
    refused = client.post(
        f"/utforare/arenden/{asked.id}/skicka-in", data={"lock_version": asked.lock_version}
    )
    assert refused.status_code == 422
    assert f"Filen Rutin.pdf {STILL_SCANNED}" in text_of(refused)
    db.session.refresh(asked)
    assert asked.state is ReviewState.DRAFT and not asked.submitted_versions

    set_scan(file, ScanStatus.CLEAN)
    ready = client.get(f"/utforare/arenden/{asked.id}/kontrollera").get_data(as_text=True)
    assert "disabled" not in ready and RELOAD not in ready and PENDING not in ready
    db.session.refresh(asked)
    sent = client.post(
        f"/utforare/arenden/{asked.id}/skicka-in", data={"lock_version": asked.lock_version}
    )
    assert sent.status_code == 303
    db.session.refresh(asked)
    assert asked.state is ReviewState.SUBMITTED
    assert [a.scan_status for a in asked.submitted_versions[-1].attachments] == ["clean"]


def test_an_infected_file_must_be_removed_before_sending(client, w, asked):
    client.login(w.user_a)
    (file,) = save_with_files(client, asked, "Rutin")
    set_scan(file, ScanStatus.INFECTED)
    message = (
        "Filen Rutin.pdf stoppades av viruskontrollen. Ta bort den och ladda upp en annan fil."
    )

    check = text_of(client.get(f"/utforare/arenden/{asked.id}/kontrollera"))
    assert message in check and "Det här behöver rättas" in check
    submit = client.post(
        f"/utforare/arenden/{asked.id}/svar",
        data={**valid_form(asked, **{keys(asked)["file"]: []}), "action": "submit"},
    )
    assert submit.status_code == 422
    html = submit.get_data(as_text=True)
    assert f'id="fld-{keys(asked)["file"]}-error"' in html and message in text_of(submit)
    assert STOPPED in text_of(submit)
    db.session.refresh(asked)
    assert asked.state is ReviewState.DRAFT


def test_workflow_submit_refuses_a_file_that_is_not_clean(w, asked):
    draft = workflow.draft_for_editing(asked, w.user_a)
    file = Attachment(
        version=draft,
        slot=keys(asked)["file"],
        sha256="0" * 64,
        size=3,
        content_type="text/plain",
        display_name="väntar.txt",
        scan_status=ScanStatus.PENDING_SCAN,
    )
    db.session.add(file)
    db.session.commit()
    with pytest.raises(workflow.WorkflowError, match="väntar.txt kontrolleras fortfarande"):
        workflow.submit(asked, w.user_a)
    db.session.rollback()
    file.scan_status = ScanStatus.INFECTED
    db.session.commit()
    with pytest.raises(workflow.WorkflowError, match="stoppades av viruskontrollen"):
        workflow.submit(asked, w.user_a)
    db.session.rollback()
    db.session.refresh(asked)
    assert asked.state is ReviewState.DRAFT and asked.registration_number is None


@pytest.fixture
def scanning(app_config, clamd_url):
    app_config["CLAMD_URL"] = clamd_url


def test_send_in_the_same_post_as_a_fast_upload(scanning, client, w, asked):
    """Jobs run at the commit here: the verdict comes within the inline wait."""
    client.login(w.user_a)
    response = client.post(
        f"/utforare/arenden/{asked.id}/svar", data={**valid_form(asked), "action": "submit"}
    )
    assert response.status_code == 303, text_of(response)[:500]
    db.session.refresh(asked)
    assert asked.state is ReviewState.SUBMITTED
    (file,) = asked.submitted_versions[-1].attachments
    assert file.scan_status is ScanStatus.CLEAN


def test_a_file_not_scanned_is_not_sent_while_scanning_is_on(scanning, w, asked):
    draft = workflow.draft_for_editing(asked, w.user_a)
    file = Attachment(
        version=draft,
        slot=keys(asked)["file"],
        sha256="1" * 64,
        size=3,
        content_type="text/plain",
        display_name="gammal.txt",
        scan_status=ScanStatus.NOT_SCANNED,
    )
    assert workflow.unsendable_file(file) is not None
    db.session.rollback()


@pytest.fixture
def slow_verdicts(scanning, jobs_config):
    """A real broker and no worker until the test starts one; a short inline wait."""
    jobs_config["SCAN_INLINE_SECONDS"] = 0.2


def test_a_submit_whose_files_are_not_scanned_yet_is_sent_once_they_are(
    slow_verdicts, jobs_app, client, w, asked
):
    client.login(w.user_a)
    response = client.post(
        f"/utforare/arenden/{asked.id}/svar", data={**valid_form(asked), "action": "submit"}
    )
    assert response.status_code == 422
    page = text_of(response)
    assert f"Filen Kvalitetsberättelse.pdf {STILL_SCANNED}" in page and RELOAD in page
    assert f'id="fld-{keys(asked)["file"]}-error"' in response.get_data(as_text=True)
    db.session.expire_all()
    asked = db.session.get(Submission, asked.id)
    assert asked.state is ReviewState.DRAFT
    (file,) = asked.current_draft.attachments
    assert file.scan_status is ScanStatus.PENDING_SCAN
    answer = client.get(status_url(asked)).json
    assert answer["ready"] is False and answer["files"][0]["status"] == "pending"

    with InProcessWorker(jobs_app):
        wait_until(
            lambda: client.get(status_url(asked)).json["ready"],
            timeout=30,
            message="the worker scanned the file",
        )
    db.session.expire_all()
    asked = db.session.get(Submission, asked.id)
    sent = client.post(
        f"/utforare/arenden/{asked.id}/skicka-in", data={"lock_version": asked.lock_version}
    )
    assert sent.status_code == 303, text_of(sent)[:500]
    db.session.expire_all()
    asked = db.session.get(Submission, asked.id)
    assert asked.state is ReviewState.SUBMITTED
    assert asked.submitted_versions[-1].attachments[0].scan_status is ScanStatus.CLEAN
