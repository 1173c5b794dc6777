"""The real app factory plus two test routes, served by gunicorn in the memory test.

Configuration comes as JSON in ``INSYN_TEST_CONFIG``. ``/_test/rss`` reports the
worker's peak resident set size (``ru_maxrss``, KiB on Linux); ``/_test/rss/reset``
starts a new peak from the current size (Linux ``clear_refs``), so that the peak
of one request can be told apart from the start-up peak (argon2 hashes at import).
"""

from __future__ import annotations

import json
import os
import resource

from flask import request

from portal import create_app
from portal.attachments import UploadError, accept_upload, send_attachment
from portal.extensions import csrf, db
from portal.models import Attachment, Municipality
from storage import takes_files

app = create_app(json.loads(os.environ["INSYN_TEST_CONFIG"]))
with app.app_context():
    db.create_all()
    db.session.add(Municipality(slug="exempelby", name="Exempelby kommun"))  # the only one
    db.session.commit()


@csrf.exempt
def upload():
    try:
        attachment = accept_upload(request.files["file"], uploader=None)
    except UploadError as error:
        db.session.rollback()
        return {"error": error.message, "code": error.code}, error.status
    db.session.commit()
    return {
        "id": attachment.id,
        "sha256": attachment.sha256,
        "size": attachment.size,
        "status": attachment.scan_status.value,
    }, 201


def download(attachment_id: int):
    return send_attachment(db.get_or_404(Attachment, attachment_id))


def rss():
    return {"max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


@csrf.exempt
def reset_rss():
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")
    return rss()


# The pipeline on its own: anyone may post files here (no login, no upload token).
app.extensions["upload_gate"] = None
app.add_url_rule("/_test/upload", "test_upload", takes_files(upload), methods=["POST"])
app.add_url_rule("/_test/files/<int:attachment_id>", "test_download", download)
app.add_url_rule("/_test/rss", "test_rss", rss)
app.add_url_rule("/_test/rss/reset", "test_rss_reset", reset_rss, methods=["POST"])
