"""The virus scan as a job, on real brokers (an SQLite file and Redis) with a worker in the
test process, the real clamd behind a gate the test can hold, and a real store: the upload
answers before a slow verdict and shows a fast one; an infected file is removed, audited
once and mailed about only when its uploader has left the page; one scan serves every
upload of the same content; a second job does nothing twice."""

from __future__ import annotations

import hashlib
import io
import time

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from portal import attachments
from portal.extensions import csrf, db
from portal.jobs import huey
from portal.jobs.scan import sweep_scans
from portal.models import Attachment, AuditEvent, OutboundMail, Role, ScanStatus
from portal.models.base import utcnow
from storage import current_scanner, current_store, takes_files
from storage.scan import ScanOutcome
from storage.store import ObjectNotFound
from storage.uploads import scan_stored
from tests.faults.clamd_gate import ClamdGate
from tests.fixtures_jobs import wait_until
from tests.pdfs import pdf_bytes
from tests.storage.conftest import download_view, upload_view
from tests.storage.files import EICAR, SIGNATURE

INLINE = 1.0


@pytest.fixture
def clamd_gate(clamd_socket):
    gate = ClamdGate(clamd_socket)
    yield gate
    gate.close()


@pytest.fixture
def app_config(app_config, clamd_gate):
    app_config.update(
        CLAMD_URL=clamd_gate.url,
        CLAMD_TIMEOUT=30.0,
        SCAN_INLINE_SECONDS=INLINE,
        SCAN_LEASE_SECONDS=30,
    )
    return app_config


@pytest.fixture
def routes(jobs_app):
    """The storage tests' upload and download routes (upload, commit, wait inline)."""
    jobs_app.add_url_rule(
        "/_test/upload", "test_upload", takes_files(csrf.exempt(upload_view)), methods=["POST"]
    )
    jobs_app.extensions["upload_gate"] = None
    jobs_app.add_url_rule("/_test/files/<int:attachment_id>", "test_download", download_view)
    return jobs_app.test_client()


def post(client, data: bytes, name: str):
    return client.post(
        "/_test/upload",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def keys() -> list[str]:
    return sorted(info.key for info in current_store().list())


def row(attachment_id: int) -> Attachment:
    db.session.rollback()  # a fresh snapshot
    return db.session.get(Attachment, attachment_id)


def events(action: str) -> list[AuditEvent]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def upload_as(app, user, data: bytes, name: str) -> Attachment:
    """An upload by ``user`` as a page makes it: the row, then the commit enqueues its scan."""
    with app.test_request_context():
        attachment = attachments.accept_upload(FileStorage(io.BytesIO(data), name), uploader=user)
        db.session.commit()
    return attachment


def test_the_answer_comes_before_a_slow_verdict(routes, jobs_worker, clamd_gate):
    clamd_gate.hold()
    response = post(routes, pdf_bytes(), "rapport.pdf")
    assert response.status_code == 201 and response.json["status"] == "pending_scan"
    sha256 = response.json["sha256"]
    assert keys() == [f"quarantine/{sha256}"]
    assert routes.get(f"/_test/files/{response.json['id']}").status_code == 409
    clamd_gate.release()
    wait_until(lambda: row(response.json["id"]).scan_status is ScanStatus.CLEAN, 15)
    wait_until(lambda: keys() == [f"clean/{sha256}"], 5, message="released to clean/")
    assert routes.get(f"/_test/files/{response.json['id']}").data == pdf_bytes()
    assert clamd_gate.scans == 1


def test_a_fast_verdict_is_shown_inline(routes, jobs_worker, configure_inline):
    clean = post(routes, pdf_bytes(), "rapport.pdf")
    assert clean.status_code == 201 and clean.json["status"] == "clean", clean.json
    infected = post(routes, EICAR, "eicar.txt")
    assert infected.status_code == 422 and SIGNATURE in infected.json["error"]
    assert row(infected.json["id"]).scan_status is ScanStatus.INFECTED
    wait_until(lambda: keys() == [f"clean/{clean.json['sha256']}"], 5, message="released")
    assert [e.object_id for e in events("attachment.infected")] == [infected.json["id"]]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboundMail)) == 0


@pytest.fixture
def configure_inline(jobs_app):
    """A longer inline wait, so that a loaded machine still gives the verdict inline."""
    jobs_app.config["SCAN_INLINE_SECONDS"] = 10.0


def test_a_late_infected_verdict_is_audited_once_and_mailed_once(
    jobs_app, jobs_worker, clamd_gate, make
):
    user = make.user(Role.PROVIDER_USER, provider_=make.provider())
    clamd_gate.hold()
    attachment = upload_as(jobs_app, user, EICAR, "eicar.txt")
    wait_until(lambda: row(attachment.id).scan_claim is not None, message="the scan's lease")
    wait_until(lambda: clamd_gate.received > 0, message="clamd reached")
    time.sleep(INLINE + 0.2)  # the uploader has left the page
    clamd_gate.release()
    wait_until(lambda: row(attachment.id).scan_status is ScanStatus.INFECTED, 15)
    wait_until(lambda: keys() == [], 5, message="the object removed after the commit")
    (event,) = events("attachment.infected")
    assert event.object_id == attachment.id and event.detail["signature"].startswith(SIGNATURE)
    mails = db.session.scalars(sa.select(OutboundMail)).all()
    assert [m.recipient for m in mails] == [user.email]

    # A second job for the same content finds nothing to do: no second audit, no mail.
    with jobs_app.app_context():
        assert attachments.scan_content(attachment.sha256) == "nothing to do"
    assert len(events("attachment.infected")) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboundMail)) == 1


def test_the_same_content_uploaded_during_its_scan_is_scanned_once(routes, jobs_worker, clamd_gate):
    document = pdf_bytes()
    clamd_gate.hold()
    first = post(routes, document, "först.pdf").json
    assert first["status"] == "pending_scan"
    wait_until(lambda: clamd_gate.received > 0, message="the first scan reached clamd")
    second = post(routes, document, "sedan.pdf").json
    assert second["status"] == "pending_scan"  # its job found the content being scanned
    assert huey.pending_count() == 0
    clamd_gate.release()
    for attachment_id in (first["id"], second["id"]):
        wait_until(lambda i=attachment_id: row(i).scan_status is ScanStatus.CLEAN, 15)
    wait_until(lambda: keys() == [f"clean/{first['sha256']}"], 5, message="released")
    assert clamd_gate.scans == 1


def test_a_long_scan_renews_its_lease(routes, jobs_app, jobs_worker, clamd_gate):
    """A scan that outlasts its lease keeps it (renewed while clamd reads), so the sweep and
    a second job leave the content alone."""
    jobs_app.config["SCAN_LEASE_SECONDS"] = 1
    clamd_gate.delay = 0.05  # about 0.8 s per MiB
    response = post(routes, b"Kvalitetsarbete.\n" * (8 * 1024 * 1024 // 17), "lang.txt")
    assert response.json["status"] == "pending_scan"
    attachment_id, sha256 = response.json["id"], response.json["sha256"]
    claim = wait_until(lambda: row(attachment_id).scan_claim, message="the scan's lease")
    time.sleep(1.5)  # longer than the lease
    leased = row(attachment_id)
    assert leased.scan_status is ScanStatus.PENDING_SCAN and leased.scan_claim == claim
    assert leased.scan_claimed_until > utcnow()
    assert sweep_scans(utcnow(), broker_empty=True)["scans_enqueued"] == 0
    assert attachments.scan_content(sha256) == "nothing to do"
    wait_until(lambda: row(attachment_id).scan_status is ScanStatus.CLEAN, 15)
    assert clamd_gate.scans == 1


def test_scan_stored_reads_clean_when_there_is_no_quarantine_copy(jobs_app):
    store, scanner = current_store(), current_scanner()
    document = pdf_bytes()
    sha256 = hashlib.sha256(document).hexdigest()
    store.put(f"clean/{sha256}", io.BytesIO(document), len(document))
    verdict, source = scan_stored(scanner, store, sha256)
    assert (verdict.outcome, source) == (ScanOutcome.CLEAN, f"clean/{sha256}")
    bad = hashlib.sha256(EICAR).hexdigest()
    store.put(f"quarantine/{bad}", io.BytesIO(EICAR), len(EICAR))
    verdict, source = scan_stored(scanner, store, bad)
    assert verdict.infected and source == f"quarantine/{bad}"
    with pytest.raises(ObjectNotFound):
        scan_stored(scanner, store, "0" * 64)
    for key in (f"clean/{sha256}", f"quarantine/{bad}"):
        store.delete(key)


def test_a_half_released_file_is_served_and_the_sweep_finishes_it(routes):
    """A worker killed between the clean commit and the copy to clean/ leaves a clean row
    with only the quarantined copy: downloads read that, and the sweep moves it."""
    document = pdf_bytes()
    sha256 = hashlib.sha256(document).hexdigest()
    current_store().put(f"quarantine/{sha256}", io.BytesIO(document), len(document))
    attachment = Attachment(
        sha256=sha256,
        size=len(document),
        content_type="application/pdf",
        display_name="rapport.pdf",
        scan_status=ScanStatus.CLEAN,
        scanned_at=utcnow(),
    )
    db.session.add(attachment)
    db.session.commit()
    assert routes.get(f"/_test/files/{attachment.id}").data == document
    # Text extraction (the search index) reads it the same way.
    with attachments.open_file(attachment) as stream:
        assert stream.read() == document
    report = sweep_scans(utcnow(), broker_empty=False)
    assert report["releases_finished"] == 1 and report["scans_enqueued"] == 0
    assert keys() == [f"clean/{sha256}"]
    assert routes.get(f"/_test/files/{attachment.id}").data == document
    assert attachments.reconcile().consistent
