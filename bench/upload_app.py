"""Bench-only WSGI app for ``bench/upload.py``: the real app plus a few bare routes.

Not part of the portal and never deployed. It is the app from
``portal.create_app`` (so ``storage.init_app``, ``jobs.init_app``, the spooling request
class and the error handlers are the production ones) with one upload route that calls
``portal.attachments.accept_upload``, commits (which enqueues the scan job) and waits
for the verdict as the provider pages do (``await_verdicts``; files over
``PORTAL_SCAN_INLINE_MAX_MB`` are not waited for), and one download route that calls
``portal.attachments.send_attachment`` — the pipeline the provider pages use, without
login and forms in the way. Configuration: the ``PORTAL_*`` environment (the job
worker beside it reads the same), overridden by JSON in ``INSYN_BENCH_CONFIG`` if set.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import sys

from flask import current_app, request

from portal import create_app
from portal.attachments import UploadError, accept_upload, await_verdicts, send_attachment
from portal.extensions import csrf, db
from portal.models import Attachment
from storage import takes_files

logging.basicConfig(stream=sys.stderr, format="%(name)s %(message)s")
logging.getLogger("storage").setLevel(logging.INFO)  # per-upload timings into gunicorn.log
app = create_app(json.loads(os.environ.get("INSYN_BENCH_CONFIG") or "{}"))


@csrf.exempt
def upload():
    try:
        attachment = accept_upload(request.files["file"], uploader=None, slot="bench")
    except UploadError as error:
        db.session.rollback()
        return {"error": error.message, "code": error.code}, error.status
    db.session.commit()  # enqueues the scan job
    (attachment,) = await_verdicts([attachment.id], current_app.config["SCAN_INLINE_SECONDS"])
    return {
        "id": attachment.id,
        "sha256": attachment.sha256,
        "size": attachment.size,
        "status": attachment.scan_status.value,
    }, 201


def download(attachment_id: int):
    return send_attachment(db.get_or_404(Attachment, attachment_id))


def rss():
    """This worker's pid and peak resident set size since start or the last reset, in KiB."""
    return {"pid": os.getpid(), "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


@csrf.exempt
def reset_rss():
    with open("/proc/self/clear_refs", "w") as handle:  # Linux: restart the peak from now
        handle.write("5")
    return rss()


# The pipeline on its own: anyone may post files here (no login, no upload token).
app.extensions["upload_gate"] = None
app.add_url_rule("/_bench/upload", "bench_upload", takes_files(upload), methods=["POST"])
app.add_url_rule("/_bench/files/<int:attachment_id>", "bench_download", download)
app.add_url_rule("/_bench/rss", "bench_rss", rss)
app.add_url_rule("/_bench/rss/reset", "bench_rss_reset", reset_rss, methods=["POST"])
