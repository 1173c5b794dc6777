"""An app with real clamd and a real store, and two small routes that call the pipeline
the way the pages do (upload, commit, wait a little for the verdict; download through
``send_attachment``)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import current_app, request

from portal.attachments import (
    UploadError,
    accept_upload,
    await_verdicts,
    quarantined_key,
    reconcile,
    refusal,
    send_attachment,
)
from portal.extensions import csrf, db
from portal.models import Attachment, AuditEvent
from storage import current_store, takes_files


def upload_view():
    try:
        attachment = accept_upload(
            request.files["file"], uploader=None, slot=request.form.get("slot", "")
        )
    except UploadError as error:
        db.session.rollback()
        return {"error": error.message, "code": error.code}, error.status
    db.session.commit()
    # As the pages do: the scan runs after the commit; its verdict is shown if it comes soon.
    (attachment,) = await_verdicts([attachment.id], current_app.config["SCAN_INLINE_SECONDS"])
    if refused := refusal(attachment):
        return {"error": refused.message, "code": refused.code, "id": attachment.id}, 422
    return {
        "id": attachment.id,
        "sha256": attachment.sha256,
        "size": attachment.size,
        "status": attachment.scan_status.value,
        "name": attachment.display_name,
        "content_type": attachment.content_type,
        # Where the bytes are: a file waiting for its scan is under its quarantined key.
        "key": quarantined_key(attachment)
        if attachment.scan_status == "pending_scan"
        else attachment.storage_key,
    }, 201


def download_view(attachment_id: int):
    attachment = db.get_or_404(Attachment, attachment_id)
    return send_attachment(attachment, inline=request.args.get("inline") == "1")


@pytest.fixture
def backend() -> str:
    """``local`` or ``s3``; parametrize a test with ``backend`` to run it on both."""
    return "local"


@pytest.fixture
def app_config(app_config, backend, clamd_url, request):
    app_config.update(CLAMD_URL=clamd_url, CLAMD_TIMEOUT=10.0)
    if backend == "s3":
        app_config["STORAGE_URL"] = request.getfixturevalue("s3_url")
    return app_config


@pytest.fixture
def app(app):
    """The shared test app plus the two routes; after the test, store and rows must agree."""
    # The pipeline on its own: the route takes files from anyone (the portal's gate, which
    # asks for a login and the page's upload token, is tested in tests/security).
    app.add_url_rule(
        "/_test/upload", "test_upload", takes_files(csrf.exempt(upload_view)), methods=["POST"]
    )
    app.extensions["upload_gate"] = None
    app.add_url_rule("/_test/files/<int:attachment_id>", "test_download", download_view)
    yield app
    db.session.rollback()
    report = reconcile()
    assert report.consistent, f"store and database disagree after the test: {report}"


@pytest.fixture
def configure(app_config, request):
    """``configure(CLAMD_URL=...)`` changes the configuration, then builds the app."""

    def build(**overrides):
        app_config.update(overrides)
        return request.getfixturevalue("app")

    return build


@pytest.fixture
def upload(request):
    """``upload(data, name)`` posts one file and returns the response.

    The app is built at the first call, so a test may ``configure`` it before.
    """

    def post(data: bytes, name: str, **form):
        client = request.getfixturevalue("client")
        return client.post(
            "/_test/upload",
            data={"file": (io.BytesIO(data), name), **form},
            content_type="multipart/form-data",
        )

    return post


def stored_keys() -> list[str]:
    store = current_store()
    return [i.key for i in store.list("clean/")] + [i.key for i in store.list("quarantine/")]


def attachment_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Attachment))


def audit_events(action: str) -> list[AuditEvent]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def spool_files(app) -> list[str]:
    folder = Path(app.config["UPLOAD_TMP"])
    return os.listdir(folder) if folder.exists() else []
