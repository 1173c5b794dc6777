"""The upload pipeline end to end: real request class, real clamd, real stores. The page
tests' engine runs each scan job at the upload's commit (``immediate://``); the scan on a
real broker and worker is in tests/jobs/test_scan_jobs.py."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta

import pytest
from flask import Flask

import storage
from portal.attachments import accept_upload, reconcile, refusal, rescan
from portal.extensions import db
from portal.models import Attachment, ScanStatus
from storage import current_store
from tests.pdfs import pdf_bytes
from tests.storage.conftest import attachment_count, audit_events, spool_files, stored_keys
from tests.storage.files import (
    EICAR,
    SIGNATURE,
    docx_bytes,
    multipart_body,
    png_bytes,
    with_zip_member,
    zip_bytes,
)

MIB = 1024 * 1024


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_clean_pdf_and_docx_are_stored_once_when_uploaded_twice(app, upload, backend):
    pdf, document = pdf_bytes(), docx_bytes()
    results = [
        upload(pdf, "rapport.pdf").json,
        upload(document, "plan.docx").json,
        upload(pdf, "rapport igen.pdf").json,
        upload(document, "plan.docx").json,
    ]
    assert all(r["status"] == "clean" for r in results)
    assert results[0]["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert results[0]["content_type"] == "application/pdf"
    assert stored_keys() == sorted(
        f"clean/{hashlib.sha256(d).hexdigest()}" for d in (pdf, document)
    )
    assert attachment_count() == 4
    assert {r["name"] for r in results} == {"rapport.pdf", "plan.docx", "rapport igen.pdf"}
    with current_store().get(results[0]["key"]) as stream:
        assert b"".join(stream) == pdf


@pytest.mark.parametrize("backend", ["local", "s3"])
@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: EICAR, "eicar.txt"),
        (lambda: docx_bytes(EICAR.decode()), "åtgärdsplan.docx"),
        (lambda: with_zip_member(docx_bytes(), "word/media/image1.png", EICAR), "bilder.docx"),
    ],
)
def test_infected_files_are_refused_audited_and_not_stored(app, upload, make, name, backend):
    response = upload(make(), name, slot="bilaga")
    assert response.status_code == 422
    assert response.json["code"] == "infected"
    assert SIGNATURE in response.json["error"]
    assert stored_keys() == []
    # The row stays as the record of what was removed; its file is gone.
    row = db.session.get(Attachment, response.json["id"])
    assert row.scan_status is ScanStatus.INFECTED and row.slot == "bilaga"
    # On S3 it waited under a key of its own (sent while the request was read), now deleted.
    assert (row.quarantine_key or "").startswith("quarantine/") is (backend == "s3")
    if backend == "s3":
        assert current_store().incomplete_uploads() == []
    events = audit_events("attachment.infected")
    assert [e.object_id for e in events] == [row.id]
    assert events[0].detail["signature"].startswith(SIGNATURE)
    assert spool_files(app) == []


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_refused_types_store_nothing(app, upload, backend):
    for data, name, status in [
        (b"MZ" + b"\x00" * 100, "faktura.pdf", 415),
        # A refused type is refused in the request, before any scan: even when infected.
        (zip_bytes({"word/document.xml": EICAR}), "rapport.docx", 415),
        (pdf_bytes(password="x"), "skyddad.pdf", 422),
        (with_zip_member(docx_bytes(), "word/vbaProject.bin", b"x"), "makro.docx", 422),
    ]:
        response = upload(data, name)
        assert response.status_code == status, response.json
    assert stored_keys() == []
    assert attachment_count() == 0


def _post_body(client, body, content_type, *, chunked: bool):
    with open(body, "rb") as stream:
        if chunked:
            return client.post(
                "/_test/upload",
                input_stream=stream,
                content_type=content_type,
                headers={"Transfer-Encoding": "chunked", "Accept": "application/json"},
                environ_overrides={"wsgi.input_terminated": True},
            )
        return client.post(
            "/_test/upload",
            input_stream=stream,
            content_type=content_type,
            content_length=body.stat().st_size,
            headers={"Accept": "application/json"},
        )


@pytest.mark.parametrize(
    ("file_size", "chunked"),
    [
        (201 * MIB, False),  # with Content-Length
        (201 * MIB, True),  # no Content-Length: cut while reading
        (200 * MIB + 1, False),  # one byte too many
    ],
)
def test_over_the_limit_is_413_and_nothing_is_kept(app, client, tmp_path, file_size, chunked):
    assert app.config["MAX_UPLOAD_BYTES"] == 200 * MIB
    body, content_type = multipart_body(tmp_path / "body", file_size)
    response = _post_body(client, body, content_type, chunked=chunked)
    assert response.status_code == 413
    assert "Filen är för stor" in response.json["error"]
    assert "200 MB" in response.json["error"]
    assert stored_keys() == []
    assert attachment_count() == 0
    assert spool_files(app) == []


def test_several_files_in_one_form_each_within_the_limit(configure):
    app = configure(MAX_UPLOAD_BYTES=MIB, MAX_FILES_PER_REQUEST=3)
    response = app.test_client().post(
        "/_test/upload",
        data={
            "file": (io.BytesIO(pdf_bytes()), "a.pdf"),
            "other": [(io.BytesIO(b"x" * (MIB - 10)), "b.txt"), (io.BytesIO(b"y" * 100), "c.txt")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.json
    assert spool_files(app) == []


def test_a_form_over_the_total_limit_is_refused_before_reading(configure, tmp_path):
    app = configure(MAX_UPLOAD_BYTES=MIB, MAX_FILES_PER_REQUEST=2)
    assert app.config["MAX_CONTENT_LENGTH"] == 3 * MIB
    body, content_type = multipart_body(tmp_path / "body", 3 * MIB, filename="stor.txt")
    response = _post_body(app.test_client(), body, content_type, chunked=False)
    assert response.status_code == 413
    assert "högst 2 filer" in response.json["error"]
    assert stored_keys() == [] and spool_files(app) == []


def test_exactly_the_limit_passes_the_size_check(configure, tmp_path):
    app = configure(MAX_UPLOAD_BYTES=4 * MIB)
    body, content_type = multipart_body(tmp_path / "body", 4 * MIB, filename="nollor.txt")
    # Zero bytes are control characters, not text: refused by type, after the full read.
    response = _post_body(app.test_client(), body, content_type, chunked=True)
    assert response.status_code == 415, response.json
    assert response.json["code"] == "unknown"
    assert spool_files(app) == []


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_clamd_down_quarantines_and_rescan_releases(app, upload, clamd_service, client, backend):
    document = docx_bytes("Redovisning av avvikelser")
    clamd_service.stop()
    try:
        first = upload(document, "avvikelser.docx").json
        second = upload(document, "avvikelser kopia.docx").json
        infected = upload(EICAR, "eicar.txt").json
    finally:
        clamd_service.start()
    assert first["status"] == second["status"] == infected["status"] == "pending_scan"
    if backend == "s3":
        # Sent to S3 while the request was read: each upload waits under a key of its own.
        keys = [first["key"], second["key"], infected["key"]]
        assert all(re.fullmatch(r"quarantine/[0-9a-f]{32}", key) for key in keys), keys
        assert stored_keys() == sorted(keys)
    else:
        assert first["key"] == second["key"] == f"quarantine/{first['sha256']}"
        assert len(stored_keys()) == 2
    # Nobody gets a quarantined file.
    assert client.get(f"/_test/files/{first['id']}").status_code == 409

    report = rescan()
    assert report.released == 1 and report.attachments_released == 2
    assert [i["signature"].startswith(SIGNATURE) for i in report.infected] == [True]
    assert report.infected[0]["attachments"] == [infected["id"]]
    assert report.still_pending == 0
    assert stored_keys() == [f"clean/{first['sha256']}"]
    rows = db.session.scalars(db.select(Attachment).order_by(Attachment.id)).all()
    # The infected file's row stays as the record of what was removed; its object is gone.
    assert [r.scan_status for r in rows] == [
        ScanStatus.CLEAN,
        ScanStatus.CLEAN,
        ScanStatus.INFECTED,
    ]
    assert all(r.scanned_at is not None for r in rows)
    assert client.get(f"/_test/files/{infected['id']}").status_code == 410
    assert reconcile().consistent
    assert audit_events("attachment.infected")[0].object_id == infected["id"]
    assert client.get(f"/_test/files/{first['id']}").status_code == 200
    assert rescan().released == 0


def test_rescan_with_clamd_still_down_keeps_files_pending(app, upload, clamd_service):
    clamd_service.stop()
    try:
        upload(pdf_bytes(), "a.pdf")
        report = rescan()
    finally:
        clamd_service.start()
    assert report.released == 0 and report.still_pending == 1 and report.reason
    assert rescan().released == 1


def test_hanging_clamd_quarantines(configure, upload, hanging_clamd):
    configure(CLAMD_URL=hanging_clamd.url, CLAMD_TIMEOUT=0.5)
    result = upload(pdf_bytes(), "rapport.pdf").json
    assert result["status"] == "pending_scan"
    assert stored_keys() == [f"quarantine/{result['sha256']}"]


def test_file_already_scanned_needs_no_quarantine(app, upload, clamd_service):
    """Content stored clean before is not stored again, and with clamd down its earlier
    verdict stands."""
    pdf = pdf_bytes()
    assert upload(pdf, "a.pdf").json["status"] == "clean"
    clamd_service.stop()
    try:
        again = upload(pdf, "b.pdf").json
    finally:
        clamd_service.start()
    assert again["status"] == "clean"
    assert stored_keys() == [f"clean/{again['sha256']}"]


def test_s3_down_gives_a_clear_error_and_no_row(configure, upload, s3_server, request):
    configure(STORAGE_URL=request.getfixturevalue("s3_url"))
    s3_server.stop()
    try:
        response = upload(pdf_bytes(), "rapport.pdf")
    finally:
        s3_server.start()
    assert response.status_code == 503
    assert response.json["code"] == "store_unavailable"
    assert "filarkivet" in response.json["error"]
    assert attachment_count() == 0


def test_scanning_off_in_development_marks_not_scanned(configure, upload):
    app = configure(CLAMD_URL="")
    assert not storage.scanning_enabled()
    result = upload(png_bytes(), "bild.png").json
    assert result["status"] == "not_scanned"
    assert result["key"] == f"clean/{result['sha256']}"
    assert app.extensions["scanner"] is None


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("../../../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\boot.ini.pdf", "boot.ini.pdf"),
        ("rap\x00po\x1brt\u202e.pdf", "rapport.pdf"),
        ("/tmp/../../Åtgärdsplan\x7f för 2026.pdf", "Åtgärdsplan för 2026.pdf"),
        ("Å" * 300 + ".pdf", None),
        ("rapport", "rapport.pdf"),
    ],
)
def test_file_names_are_made_safe(app, upload, raw, shown):
    result = upload(pdf_bytes(), raw).json
    if shown is not None:
        assert result["name"] == shown
    else:
        assert result["name"].endswith("….pdf") and len(result["name"]) <= 150
    assert result["key"] == f"clean/{result['sha256']}"
    assert stored_keys() == [result["key"]]


def test_accept_upload_records_uploader_and_slot(app, make):
    from werkzeug.datastructures import FileStorage

    from portal.models import Role

    user = make.user(Role.PROVIDER_USER, provider_=make.provider())
    with app.test_request_context():
        attachment = accept_upload(
            FileStorage(io.BytesIO(pdf_bytes()), "a.pdf"), uploader=user, slot="fält-1"
        )
        db.session.commit()
    assert attachment.uploaded_by_id == user.id and attachment.slot == "fält-1"
    with app.test_request_context():
        infected = accept_upload(FileStorage(io.BytesIO(EICAR), "x.txt"), uploader=user)
        assert infected.scan_status is ScanStatus.PENDING_SCAN  # until the commit's scan
        db.session.commit()
    assert infected.scan_status is ScanStatus.INFECTED
    (event,) = audit_events("attachment.infected")
    assert event.object_id == infected.id and event.detail["uploaded_by_id"] == user.id
    assert refusal(infected).status == 422


def test_reconcile_reports_and_deletes_old_orphans(app, upload):
    kept = upload(pdf_bytes(), "a.pdf").json
    store = current_store()
    store.put("clean/" + "0" * 64, io.BytesIO(b"orphan"), 6)
    lost = Attachment(
        sha256="f" * 64,
        size=1,
        content_type="text/plain",
        display_name="x.txt",
        scan_status=ScanStatus.CLEAN,
    )
    db.session.add(lost)
    db.session.commit()

    report = reconcile()
    assert report.orphan_objects == ["clean/" + "0" * 64]
    assert report.missing_objects == [(lost.id, "clean/" + "f" * 64)]
    assert reconcile(delete=True).deleted == []  # too young
    assert reconcile(delete=True, min_age=timedelta(0)).deleted == ["clean/" + "0" * 64]
    assert stored_keys() == [kept["key"]]
    db.session.delete(lost)
    db.session.commit()
    assert reconcile().consistent


def test_init_app_limits_and_production_needs_a_scanner(tmp_path):
    app = Flask(__name__)
    app.config.update(
        STORAGE_URL=f"file://{tmp_path}/f",
        CLAMD_URL="",
        MAX_UPLOAD_BYTES=5 * MIB,
        UPLOAD_TMP=str(tmp_path / "spool"),
        PORTAL_ENV="development",
    )
    storage.init_app(app)
    assert app.config["MAX_CONTENT_LENGTH"] == 5 * 5 * MIB + MIB
    assert app.config["MAX_FORM_MEMORY_SIZE"] and app.config["MAX_FORM_PARTS"]
    assert app.request_class is storage.spool.SpoolingRequest
    production = Flask(__name__)
    production.config.update(app.config, PORTAL_ENV="production")
    with pytest.raises(RuntimeError, match="CLAMD"):
        storage.init_app(production)


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_a_clean_verdict_releases_every_pending_row_of_the_content(
    app, upload, clamd_service, backend
):
    document = docx_bytes("Samma innehåll två gånger")
    clamd_service.stop()
    try:
        pending = upload(document, "först.docx").json
    finally:
        clamd_service.start()
    assert pending["status"] == "pending_scan"
    assert stored_keys() == [pending["key"]]
    clean = upload(document, "sedan.docx").json
    assert clean["status"] == "clean"
    assert db.session.get(Attachment, pending["id"]).scan_status is ScanStatus.CLEAN
    assert stored_keys() == [clean["key"]]
    assert rescan().attachments_released == 0


def test_cli_reconcile_reports_0_and_0_after_uploads_and_rescan(app, upload, clamd_service):
    upload(pdf_bytes(), "a.pdf")
    upload(docx_bytes(), "b.docx")
    upload(EICAR, "virus.txt")
    clamd_service.stop()
    try:
        upload(docx_bytes("väntar"), "c.docx")
    finally:
        clamd_service.start()
    runner = app.test_cli_runner()
    rescanned = runner.invoke(args=["storage", "rescan"])
    assert rescanned.exit_code == 0, rescanned.output
    assert "released 1 file(s) (1 attachment(s)), infected 0, still pending 0" in rescanned.output
    result = runner.invoke(args=["storage", "reconcile"])
    assert result.exit_code == 0, result.output
    assert "objects without a row: 0; rows without an object: 0" in result.output
