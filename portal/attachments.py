"""Attachment rows and their files: accept an upload, send a download, rescan, reconcile.

The file work (spool, virus scan, type sniffing, ``quarantine/`` and ``clean/``, ranges)
is in :mod:`storage`, which knows nothing of rows, mail or audit. This module makes the
:class:`~portal.models.Attachment` rows, records infected uploads in the audit trail,
tells uploaders about files found infected later, and keeps the store and the rows in
step. Objects are written before their rows, and removed only where no row can refer to
them (a refused upload removes what it wrote; rescan removes infected files; reconcile
removes old orphans), so a crash can leave an unreferenced object (reported, and removed
after a day) but never a row without its object.

Pages use :func:`accept_upload` and :func:`send_attachment`; the CLI uses :func:`rescan`
and :func:`reconcile`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import Response, abort
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from portal import audit, notifications
from portal.extensions import db
from portal.models import Attachment, AuditAction, ScanStatus, User
from storage import current_scanner, current_store
from storage.downloads import send_object
from storage.scan import ScanOutcome, ScanResult
from storage.store import Store, StoreError
from storage.uploads import (
    CLEAN_PREFIX,
    QUARANTINE_PREFIX,
    UploadError,
    UploadInfected,
    UploadRefused,
    UploadUnavailable,
    scan_object,
    store_upload,
    stored_objects,
)

log = logging.getLogger(__name__)

__all__ = [
    "ReconcileReport",
    "RescanReport",
    "UploadError",
    "UploadRefused",
    "UploadUnavailable",
    "accept_upload",
    "reconcile",
    "rescan",
    "send_attachment",
    "unavailable",
]


def accept_upload(file: FileStorage, *, uploader: User | None, slot: str = "") -> Attachment:
    """Take one uploaded file through the pipeline and return its (unflushed) Attachment.

    The row is added to ``db.session``; the caller links it to a version and
    commits. Raises :class:`UploadRefused` or :class:`UploadUnavailable`; an
    infected file is audited (committed on its own, so a rolled-back caller
    does not lose it) and nothing of it is stored.
    """
    try:
        stored = store_upload(file, scanned_clean_before=_scanned_clean_before)
    except UploadInfected as hit:
        _audit_infected(
            uploader, hit.signature, sha256=hit.sha256, size=hit.size, name=hit.name, slot=slot
        )
        raise
    status = ScanStatus(stored.placement.value)
    attachment = Attachment(
        slot=slot,
        sha256=stored.sha256,
        size=stored.size,
        content_type=stored.content_type,
        display_name=stored.display_name,
        scan_status=status,
        uploaded_by_id=uploader.id if uploader is not None else None,
        scanned_at=_now() if status is ScanStatus.CLEAN else None,
    )
    db.session.add(attachment)
    return attachment


def _scanned_clean_before(sha256: str) -> bool:
    found = db.session.execute(
        sa.select(Attachment.id)
        .where(Attachment.sha256 == sha256, Attachment.scan_status == ScanStatus.CLEAN)
        .limit(1)
    ).first()
    return found is not None


def _now() -> datetime:
    return datetime.now(UTC)


def _audit_infected(uploader: User | None, signature: str, **detail) -> None:
    """Write ``upload.infected`` in its own transaction: the caller will roll back its own."""
    event = audit.record(AuditAction.UPLOAD_INFECTED, actor=uploader, signature=signature, **detail)
    if _holds_sqlite_write_lock():
        # A second SQLite connection would wait out the busy timeout (10 s) behind this one's
        # write lock and then fail: the event goes with the caller's transaction instead.
        return
    db.session.expunge(event)
    try:
        with Session(db.engine) as session:
            session.add(event)
            session.commit()
    except SQLAlchemyError:
        log.exception("could not write the audit event apart; leaving it to the caller")
        db.session.add(event)


def _holds_sqlite_write_lock() -> bool:
    session = db.session()
    if db.engine.dialect.name != "sqlite" or not session.in_transaction():
        return False
    return bool(session.connection().connection.dbapi_connection.in_transaction)


# --- downloads ----------------------------------------------------------------------------

PENDING_MESSAGE = "Filen väntar på virusgenomsökning och kan inte hämtas ännu. Försök igen senare."
INFECTED_MESSAGE = (
    "Filen är borttagen: viruskontrollen hittade skadlig kod i den. "
    "Den som laddade upp filen har fått besked."
)


def unavailable(attachment: Attachment) -> tuple[int, str] | None:
    """Why ``attachment`` cannot be served, as (status, message), or None when it can."""
    if attachment.infected:
        return 410, INFECTED_MESSAGE
    if not attachment.released:
        return 409, PENDING_MESSAGE
    return None


def send_attachment(attachment: Attachment, *, inline: bool = False) -> Response:
    """Stream ``attachment`` to the client with Range, ETag and conditional-GET support.

    A file still waiting in quarantine is never served (409), nor one found infected (410).
    Access is not checked here: the caller asks the policy module first.
    """
    refused = unavailable(attachment)
    if refused:
        abort(refused[0], description=refused[1])
    return send_object(
        attachment.storage_key,
        size=attachment.size,
        etag=attachment.sha256,
        content_type=attachment.content_type,
        filename=attachment.display_name,
        inline=inline,
    )


# --- rescan -------------------------------------------------------------------------------


@dataclass
class RescanReport:
    released: int = 0  # files (distinct contents) moved to clean/
    attachments_released: int = 0
    infected: list[dict] = field(default_factory=list)  # {sha256, signature, attachments}
    still_pending: int = 0
    reason: str = ""  # why files are still pending, if any
    missing: list[str] = field(default_factory=list)  # sha256 with no object anywhere
    mails: list[int] = field(default_factory=list)  # outbox ids telling the uploaders


def rescan(*, include_not_scanned: bool = False) -> RescanReport:
    """Scan quarantined files again (safe to run from cron, and concurrently).

    Clean: the object is copied to ``clean/``, the rows committed as clean, then
    the quarantine copy removed. Infected: the rows are marked infected with an
    ``attachment.infected`` audit event and a mail to the uploader each, then the object
    is removed. Stops at the first unavailable verdict (clamd down) and reports the rest
    as pending.
    With ``include_not_scanned``, files accepted while scanning was off are scanned too.
    """
    scanner = current_scanner()
    if scanner is None:
        raise RuntimeError("PORTAL_CLAMD_URL is not set: there is no scanner to rescan with")
    store = current_store()
    statuses = [ScanStatus.PENDING_SCAN]
    if include_not_scanned:
        statuses.append(ScanStatus.NOT_SCANNED)
    pending = db.session.execute(
        sa.select(Attachment.sha256, Attachment.scan_status)
        .where(Attachment.scan_status.in_(statuses))
        .distinct()
        .order_by(Attachment.sha256)
    ).all()
    report = RescanReport()
    for index, (sha256, status) in enumerate(pending):
        source = (QUARANTINE_PREFIX if status is ScanStatus.PENDING_SCAN else CLEAN_PREFIX) + sha256
        try:
            verdict = scan_object(scanner, store, source)
        except StoreError as exc:
            if status is ScanStatus.PENDING_SCAN and store.exists(CLEAN_PREFIX + sha256):
                # An earlier rescan copied it but did not get to commit.
                verdict = ScanResult(ScanOutcome.CLEAN)
                source = CLEAN_PREFIX + sha256
            else:
                log.error("rescan: cannot read %s: %s", source, exc)
                report.missing.append(sha256)
                continue
        if verdict.outcome is ScanOutcome.UNAVAILABLE:
            report.still_pending = len(pending) - index
            report.reason = verdict.reason
            break
        if verdict.clean:
            count = _release(store, sha256, status, source)
            report.released += 1
            report.attachments_released += count
        else:
            ids, mails = _remove_infected(store, sha256, status, source, verdict.signature)
            report.infected.append(
                {"sha256": sha256, "signature": verdict.signature, "attachments": ids}
            )
            report.mails += mails
    return report


def _rows(sha256: str, status: ScanStatus) -> list[Attachment]:
    return list(
        db.session.scalars(
            sa.select(Attachment).where(
                Attachment.sha256 == sha256, Attachment.scan_status == status
            )
        )
    )


def _release(store: Store, sha256: str, status: ScanStatus, source: str) -> int:
    target = CLEAN_PREFIX + sha256
    if source != target:
        store.copy(source, target)
    now = _now()
    rows = _rows(sha256, status)
    for row in rows:
        row.scan_status = ScanStatus.CLEAN
        row.scanned_at = now
    db.session.commit()
    if source != target:
        store.delete(source)
    return len(rows)


def _remove_infected(
    store: Store, sha256: str, status: ScanStatus, source: str, signature: str
) -> list[int]:
    """Mark the rows infected (they stay as the record of what was removed), tell whoever
    uploaded them, and delete the object."""
    rows = _rows(sha256, status)
    mails = []
    for row in rows:
        row.scan_status = ScanStatus.INFECTED
        row.scanned_at = _now()
        audit.record(
            AuditAction.ATTACHMENT_INFECTED,
            row,
            actor=None,
            signature=signature,
            sha256=sha256,
            version_id=row.version_id,
            display_name=row.display_name,
            uploaded_by_id=row.uploaded_by_id,
        )
        mails += notifications.attachment_infected(row, signature)
    db.session.commit()
    if source.startswith(QUARANTINE_PREFIX) or not _still_referenced(source):
        store.delete(source)
    return [row.id for row in rows], [m.id for m in mails]


# --- reconcile ----------------------------------------------------------------------------


@dataclass
class ReconcileReport:
    orphan_objects: list[str] = field(default_factory=list)  # keys with no attachment row
    missing_objects: list[tuple[int, str]] = field(default_factory=list)  # (attachment id, key)
    deleted: list[str] = field(default_factory=list)
    # Multipart uploads an S3 server still holds parts of (key, begun); aborted with ``delete``.
    incomplete_uploads: list[tuple[str, datetime]] = field(default_factory=list)
    aborted_uploads: list[str] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        return not self.orphan_objects and not self.missing_objects


def reconcile(*, delete: bool = False, min_age: timedelta = timedelta(days=1)) -> ReconcileReport:
    """Compare ``clean/`` and ``quarantine/`` with the attachment rows.

    With ``delete``, unreferenced objects last modified more than ``min_age`` ago
    are removed (younger ones may belong to an upload whose row is not committed yet),
    and so are the parts of multipart uploads begun before then and never finished (an
    S3 server that went away in the middle of an upload keeps them).
    """
    store = current_store()
    objects = stored_objects(store)
    referenced: dict[str, int] = {}
    for row_id, sha256, status in db.session.execute(
        sa.select(Attachment.id, Attachment.sha256, Attachment.scan_status).where(
            Attachment.scan_status != ScanStatus.INFECTED
        )
    ):
        prefix = QUARANTINE_PREFIX if status is ScanStatus.PENDING_SCAN else CLEAN_PREFIX
        referenced.setdefault(prefix + sha256, row_id)

    report = ReconcileReport()
    report.orphan_objects = sorted(set(objects) - set(referenced))
    report.missing_objects = sorted(
        (row_id, key) for key, row_id in referenced.items() if key not in objects
    )
    incomplete = getattr(store, "incomplete_uploads", lambda: [])()
    report.incomplete_uploads = [(key, begun) for key, _id, begun in incomplete]
    if delete:
        cutoff = _now() - min_age
        for key, upload_id, begun in incomplete:
            if begun < cutoff:
                store.abort_upload(key, upload_id)
                report.aborted_uploads.append(key)
        for key in report.orphan_objects:
            if objects[key].modified >= cutoff:
                continue
            if _still_referenced(key):
                continue
            try:  # the re-stat narrows the window against a deduplicating upload's touch
                if store.stat(key).modified >= cutoff:
                    continue
            except StoreError:
                continue
            store.delete(key)
            report.deleted.append(key)
    return report


def _still_referenced(key: str) -> bool:
    prefix, sha256 = key.split("/", 1)
    status = (
        [ScanStatus.PENDING_SCAN]
        if prefix + "/" == QUARANTINE_PREFIX
        else [ScanStatus.CLEAN, ScanStatus.NOT_SCANNED]
    )
    found = db.session.execute(
        sa.select(Attachment.id)
        .where(Attachment.sha256 == sha256, Attachment.scan_status.in_(status))
        .limit(1)
    ).first()
    return found is not None
