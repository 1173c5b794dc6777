"""What the provider sees of the virus scan: each file's status and whether the draft can go.

A file is ``pending`` while its scan is due or running, ``waiting`` once a scan got no
verdict (clamd did not answer; the sweep tries again), then ``clean`` or ``infected``;
``not_scanned`` with scanning off (development). The pages show the status of each file
and, while any is unfinished, a link that reloads the page; ``static/js/scan-status.js``
polls :func:`report` (the status endpoint) and updates the page in place.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import url_for
from flask_babel import lazy_gettext as _l

from portal import workflow
from portal.models import Attachment, ScanStatus, Submission

PENDING, WAITING, INFECTED, CLEAN, NOT_SCANNED = (
    "pending",
    "waiting",
    "infected",
    "clean",
    "not_scanned",
)
UNFINISHED = {PENDING, WAITING}
LABELS = {
    PENDING: _l("Viruskontroll pågår"),
    WAITING: _l(
        "Viruskontroll väntar: kontrollen svarar inte just nu. Filen kontrolleras automatiskt."
    ),
    INFECTED: _l("Stoppad: skadlig kod hittades, filen är borttagen"),
}
NOT_READY = _l("Ärendet kan skickas in när alla filer är kontrollerade.")
# Announced (not shown) when a file's scan finds nothing: the file's name becomes a link.
DONE = _l("Viruskontrollen är klar")
# First poll of the page's script; it polls less often as the wait grows.
POLL_MS = 2000


def status_of(attachment: Attachment) -> str:
    if attachment.scan_status == ScanStatus.PENDING_SCAN:
        return WAITING if attachment.scan_attempts else PENDING
    return {
        ScanStatus.INFECTED: INFECTED,
        ScanStatus.CLEAN: CLEAN,
        ScanStatus.NOT_SCANNED: NOT_SCANNED,
    }[attachment.scan_status]


def label_of(status: str) -> str:
    return str(LABELS.get(status, ""))


def unfinished(attachments: Iterable[Attachment]) -> bool:
    """Whether any of ``attachments`` still waits for its verdict."""
    return any(status_of(a) in UNFINISHED for a in attachments)


def files_shown(submission: Submission) -> list[Attachment]:
    """The files the answer pages show: the draft's, else the latest version's."""
    version = submission.current_draft or submission.latest
    return list(version.attachments) if version is not None else []


def readiness(attachments: Iterable[Attachment]) -> tuple[bool, str]:
    """(whether the files let the draft be sent, why not): an infected file names
    itself, unfinished scans give the general reason."""
    attachments = list(attachments)
    reasons = [workflow.unsendable_file(a) for a in attachments]
    stopped = [r for a, r in zip(attachments, reasons, strict=True) if a.infected]
    if stopped:
        return False, str(stopped[0])
    if any(reasons):
        return False, str(NOT_READY)
    return True, ""


def report(submission: Submission) -> dict:
    """The status endpoint's answer for ``submission``: each file's status and label (and
    its address once it can be opened), whether the files let the draft be sent and why
    not, and when to ask again."""
    files = files_shown(submission)
    ready, reason = readiness(files)
    rows = []
    for attachment in files:
        status = status_of(attachment)
        row = {"id": attachment.id, "status": status, "label": label_of(status)}
        if attachment.released:
            row["url"] = url_for("provider.attachment", attachment_id=attachment.id)
        rows.append(row)
    return {
        "files": rows,
        "ready": ready,
        "reason": reason,
        "done_label": str(DONE),
        "poll_ms": POLL_MS,
    }
