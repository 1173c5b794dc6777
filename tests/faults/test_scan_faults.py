"""The scan job's faults on real brokers (an SQLite file and Redis): a worker killed in the
middle of a scan (the next one finishes it, exactly once), and clamd down (uploads answer
at once, nothing is enqueued while it is down, everything is released when it is back).
Plan §10.3, faults 1 and 4; the sweep's scan part is called directly."""

from __future__ import annotations

import io
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from portal import attachments
from portal.extensions import csrf, db
from portal.jobs import huey
from portal.jobs.scan import sweep_scans
from portal.models import Attachment, AuditEvent, OutboundMail, ScanStatus
from portal.models.base import utcnow
from storage import current_store, takes_files
from tests.faults.clamd_gate import ClamdGate
from tests.fixtures_jobs import wait_until
from tests.pdfs import pdf_bytes
from tests.storage.conftest import upload_view
from tests.storage.files import EICAR, docx_bytes

LEASE = 3


@pytest.fixture
def clamd_gate(clamd_socket):
    gate = ClamdGate(clamd_socket)
    yield gate
    gate.close()


@pytest.fixture
def app_config(app_config, clamd_gate, s3_url):
    """clamd behind the gate, S3 on moto, short leases (the worker processes get the same)."""
    app_config.update(
        CLAMD_URL=clamd_gate.url,
        CLAMD_TIMEOUT=60.0,
        SCAN_LEASE_SECONDS=LEASE,
        SCAN_INLINE_SECONDS=0.5,
        JOBS_LOST_AFTER_SECONDS=2,
        STORAGE_URL=s3_url,
    )
    return app_config


def row(attachment_id: int) -> Attachment:
    db.session.rollback()  # a fresh snapshot
    return db.session.get(Attachment, attachment_id)


def keys() -> list[str]:
    return sorted(info.key for info in current_store().list())


def count(model, *where) -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


@pytest.mark.parametrize("content", ["clean", "infected"])
def test_a_worker_killed_mid_scan_is_finished_once_by_the_next(
    clamd_gate, jobs_app, worker_process, w, content
):
    first = worker_process()
    clamd_gate.hold()
    data = pdf_bytes() if content == "clean" else EICAR
    with jobs_app.test_request_context():
        uploaded = attachments.accept_upload(FileStorage(io.BytesIO(data), "f"), uploader=w.user_a)
        db.session.commit()
    wait_until(lambda: row(uploaded.id).scan_claim is not None, message="the scan's lease")
    wait_until(lambda: clamd_gate.received > 0, message="the scan reached clamd")

    first.sigkill()
    assert row(uploaded.id).scan_status is ScanStatus.PENDING_SCAN
    assert huey.pending_count() == 0  # the message died with the worker
    worker_process()
    clamd_gate.release()

    def decided() -> bool:
        sweep_scans(utcnow(), broker_empty=huey.pending_count() == 0)
        return row(uploaded.id).scan_status is not ScanStatus.PENDING_SCAN

    wait_until(decided, LEASE + 15, 0.5, "the next worker's verdict")
    sha256 = uploaded.sha256
    if content == "clean":
        assert row(uploaded.id).scan_status is ScanStatus.CLEAN
        wait_until(lambda: keys() == [f"clean/{sha256}"], 10, message="released to clean/")
    else:
        assert row(uploaded.id).scan_status is ScanStatus.INFECTED
        wait_until(lambda: keys() == [], 5, message="the object removed after the commit")
        infected = AuditEvent.action == "attachment.infected"
        assert count(AuditEvent, infected, AuditEvent.object_id == uploaded.id) == 1
        assert count(OutboundMail, OutboundMail.recipient == w.user_a.email) == 1
    assert clamd_gate.scans == 2  # the killed one and the one that finished
    time.sleep(1)  # nothing more happens
    assert count(AuditEvent, AuditEvent.action == "attachment.infected") == (content == "infected")


@pytest.fixture
def route(jobs_app):
    jobs_app.add_url_rule(
        "/_test/upload", "test_upload", takes_files(csrf.exempt(upload_view)), methods=["POST"]
    )
    jobs_app.extensions["upload_gate"] = None
    return jobs_app.test_client()


def test_clamd_down_uploads_answer_at_once_and_are_released_when_it_is_back(
    clamd_service, route, jobs_app, jobs_worker
):
    jobs_app.config["SCAN_INLINE_SECONDS"] = 5.0  # the answers do not wait it out
    clamd_service.stop()
    try:
        answers = []
        for n in range(3):
            started = time.monotonic()
            response = route.post(
                "/_test/upload",
                data={"file": (io.BytesIO(docx_bytes(f"Plan {n}")), f"plan-{n}.docx")},
                content_type="multipart/form-data",
            )
            answers.append((response, time.monotonic() - started))
        assert all(r.status_code == 201 for r, _ in answers)
        assert all(r.json["status"] == "pending_scan" for r, _ in answers)
        assert all(took < 3 for _, took in answers), [took for _, took in answers]
        ids = [r.json["id"] for r, _ in answers]
        wait_until(lambda: all(row(i).scan_error for i in ids), message="the reason recorded")

        # Down for a while: each sweep records the attempt and enqueues nothing.
        for minutes in (1, 2, 3):
            later = utcnow() + timedelta(minutes=minutes, seconds=1)
            report = sweep_scans(later, broker_empty=True)
            assert report["scans_enqueued"] == 0 and report["scans_waiting"] == 3, report
            assert huey.pending_count() == 0
        assert [row(i).scan_attempts for i in ids] == [4, 4, 4]
        assert all("clamd" in row(i).scan_error for i in ids)
    finally:
        clamd_service.start()

    report = sweep_scans(utcnow(), broker_empty=huey.pending_count() == 0)
    assert report["scans_enqueued"] == 3, report
    wait_until(lambda: all(row(i).scan_status is ScanStatus.CLEAN for i in ids), 3)
    assert all(row(i).scan_error == "" for i in ids)
    wait_until(lambda: all(k.startswith("clean/") for k in keys()) and len(keys()) == 3, 3)
    assert attachments.reconcile().consistent


class TestRedisEmptied:
    """Uploads whose scan jobs waited in a Redis that was emptied (fault 3, the uploads'
    half; the mails' half is in test_mail_faults.py): the periodic sweep of a new worker
    finds the pending rows and scans them. On a private redis-server."""

    @pytest.fixture
    def jobs_url(self, private_redis):
        return private_redis.url

    @pytest.fixture
    def app_config(self, app_config):
        # Not presumed lost for an hour: only the empty broker explains a re-enqueue.
        app_config["JOBS_LOST_AFTER_SECONDS"] = 3600
        return app_config

    @pytest.mark.parametrize("how", ["restart", "flushall"])
    def test_uploads_waiting_in_an_emptied_redis_are_scanned(
        self, how, private_redis, jobs_app, worker_process, w
    ):
        from tests.fixtures_jobs import rewind_period

        files = [pdf_bytes(f"rapport {n}") for n in range(3)] + [EICAR]
        with jobs_app.test_request_context():
            uploaded = [
                attachments.accept_upload(FileStorage(io.BytesIO(d), f"f{n}"), uploader=w.user_a)
                for n, d in enumerate(files)
            ]
            db.session.commit()
        ids = [a.id for a in uploaded]
        assert huey.pending_count() == len(files)
        if how == "restart":
            private_redis.stop()
            private_redis.start()
        else:
            private_redis.flushall()
        assert huey.pending_count() == 0  # the prompts are gone; the rows are not

        def settled() -> bool:
            rewind_period("sweep")  # each scheduler check runs the sweep again
            return all(row(i).scan_status != ScanStatus.PENDING_SCAN for i in ids)

        worker_process(tasks=["portal.jobs.periodic"], periodic=True, fast=True)
        wait_until(settled, timeout=30, message="every upload scanned")
        statuses = [row(i).scan_status for i in ids]
        assert statuses == [ScanStatus.CLEAN] * 3 + [ScanStatus.INFECTED]
        # The infected object goes right after its rows are committed infected.
        expected = sorted({f"clean/{a.sha256}" for a in uploaded[:3]})
        wait_until(lambda: keys() == expected, timeout=10, message="only the clean objects")
        infected = AuditEvent.action == "attachment.infected"
        assert count(AuditEvent, infected) == 1
