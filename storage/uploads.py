"""The upload pipeline, the rescan of quarantined files and the store/database reconcile.

Order of an upload: spool (hashed and size-limited while the request is read)
→ virus scan, and meanwhile type sniffing and the write to ``quarantine/`` →
move to ``clean/`` → attachment row. The scan verdict is awaited before any
refusal, so that every infected file is refused as infected and audited,
whatever its type. Objects are written before their rows, and removed only
where no row can refer to them (a refused upload removes what it wrote; rescan
removes infected files; reconcile removes old orphans), so a crash can leave an
unreferenced object (reported, and removed after a day) but never a row
without its object.
"""

from __future__ import annotations

import hashlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from portal import audit, notifications
from portal.extensions import db
from portal.models import Attachment, ScanStatus, User
from storage import current_scanner, current_store
from storage.names import safe_display_name, with_extension
from storage.scan import ScanOutcome, ScanResult
from storage.sniff import TypeRefused, sniff
from storage.spool import FileTooLarge, SpoolFile, spool_stream
from storage.store import Store, StoreError

log = logging.getLogger(__name__)

CLEAN_PREFIX = "clean/"
QUARANTINE_PREFIX = "quarantine/"


class UploadError(Exception):
    """An upload that did not go through; ``message`` is Swedish text for the user."""

    def __init__(self, message: str, status: int, code: str):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class UploadRefused(UploadError):
    """The file itself is the problem: too large (413), wrong type (415/422), infected (422)."""


class UploadUnavailable(UploadError):
    """Our side failed (object store down): 503, nothing was kept, the user may retry."""


def accept_upload(file: FileStorage, *, uploader: User | None, slot: str = "") -> Attachment:
    """Take one uploaded file through the pipeline and return its (unflushed) Attachment.

    The row is added to ``db.session``; the caller links it to a version and
    commits. Raises :class:`UploadRefused` or :class:`UploadUnavailable`; an
    infected file is audited (committed on its own, so a rolled-back caller
    does not lose it) and nothing of it is stored.
    """
    config = current_app.config
    limit = int(config["MAX_UPLOAD_BYTES"])
    spool, own_spool = _spooled(file, config["UPLOAD_TMP"], limit)
    try:
        size, sha256 = spool.size, spool.sha256 or _hash_file(spool.name)
        if size > limit:
            raise UploadRefused(FileTooLarge(limit).user_message, 413, "too_large")
        attachment = _accept(
            spool, size, sha256, safe_display_name(file.filename), uploader=uploader, slot=slot
        )
    finally:
        if own_spool:
            spool.close()
    db.session.add(attachment)
    return attachment


def _accept(
    spool: SpoolFile, size: int, sha256: str, name: str, *, uploader: User | None, slot: str
) -> Attachment:
    """Scan, check the type and store; clamd scans while the bytes go to the store.

    Unscanned bytes are only ever written under ``quarantine/``; a clean verdict
    moves them to ``clean/``, a refusal removes what this upload wrote.
    """
    store, scanner = current_store(), current_scanner()
    clean_key, held_key = CLEAN_PREFIX + sha256, QUARANTINE_PREFIX + sha256
    started = time.perf_counter()
    written: str | None = None  # the key this upload created, removed again on refusal
    clean_exists = False
    store_error: StoreError | None = None
    refused: TypeRefused | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="clamd-scan") as pool:
        scan = pool.submit(scanner.scan_file, spool.name) if scanner is not None else None
        try:
            kind = sniff(spool.name, name)
        except TypeRefused as exc:
            refused = exc
        if refused is None:
            try:
                clean_exists = store.touch(clean_key)  # same content stored before: one copy
                if not clean_exists:
                    target = held_key if scan is not None else clean_key
                    if not store.touch(target):
                        _put(store, spool, target, size, kind.mime)
                        written = target
            except StoreError as exc:
                store_error = exc
        verdict = scan.result() if scan is not None else None
    stored = time.perf_counter()

    try:
        if verdict is not None and verdict.infected:
            _audit_infected(uploader, verdict, sha256=sha256, size=size, name=name, slot=slot)
            raise UploadRefused(infected_message(verdict.signature), 422, "infected")
        if refused is not None:
            raise UploadRefused(refused.message, refused.status, refused.code)
        if store_error is not None:
            raise _store_unavailable(store_error)
        try:
            status = _settle(
                store,
                spool,
                verdict,
                sha256,
                size,
                kind.mime,
                clean_exists=clean_exists,
                written=written,
            )
        except StoreError as exc:
            raise _store_unavailable(exc) from exc
    except UploadError:
        if written is not None:
            _discard(store, written)
        raise
    log.info(
        "upload %s (%d bytes): scanned and stored in %.2f s, settled in %.2f s",
        sha256,
        size,
        stored - started,
        time.perf_counter() - stored,
    )
    return Attachment(
        slot=slot,
        sha256=sha256,
        size=size,
        content_type=kind.mime,
        display_name=with_extension(name, kind.extension),
        scan_status=status,
        uploaded_by_id=uploader.id if uploader is not None else None,
        scanned_at=_now() if status is ScanStatus.CLEAN else None,
    )


def _settle(
    store: Store,
    spool: SpoolFile,
    verdict: ScanResult | None,
    sha256: str,
    size: int,
    mime: str,
    *,
    clean_exists: bool,
    written: str | None,
) -> ScanStatus:
    """Put the object where its scan status says and return that status."""
    clean_key, held_key = CLEAN_PREFIX + sha256, QUARANTINE_PREFIX + sha256
    if verdict is None:
        return ScanStatus.NOT_SCANNED
    if verdict.clean:
        if not clean_exists:
            if written == held_key:
                store.move(held_key, clean_key)
            else:  # a pending upload of the same content still refers to the quarantined copy
                store.copy(held_key, clean_key)
        return ScanStatus.CLEAN
    # The scanner is unavailable: content that already passed a scan needs no quarantine.
    if clean_exists and _scanned_clean_before(sha256):
        return ScanStatus.CLEAN
    log.warning("scanner unavailable (%s); %s kept in quarantine", verdict.reason, sha256)
    if written != held_key and not store.touch(held_key):
        _put(store, spool, held_key, size, mime)
    return ScanStatus.PENDING_SCAN


def _put(store: Store, spool: SpoolFile, key: str, size: int, mime: str) -> None:
    spool.seek(0)
    store.put(key, spool, size, mime.split(";")[0])


def _discard(store: Store, key: str) -> None:
    try:
        store.delete(key)
    except StoreError as exc:  # reconcile removes it later
        log.warning("could not remove %s after a refused upload: %s", key, exc)


def _store_unavailable(exc: StoreError) -> UploadUnavailable:
    log.error("object store failed: %s", exc)
    return UploadUnavailable(
        "Filen kunde inte sparas eftersom filarkivet inte svarar just nu. "
        "Inget har sparats. Försök igen om en stund.",
        503,
        "store_unavailable",
    )


def infected_message(signature: str) -> str:
    """The user's message for a scanner hit, naming the signature."""
    if signature.startswith("Heuristics.Limits.Exceeded"):
        reason = (
            "den är för stor eller innehåller för många eller för djupt packade filer "
            "för att kunna genomsökas fullständigt"
        )
    elif signature.startswith("Heuristics.Encrypted"):
        reason = "den innehåller krypterat innehåll som inte kan genomsökas"
    elif signature.startswith("Heuristics.OLE2.ContainsMacros"):
        reason = "den innehåller makron"
    else:
        reason = "virusskyddet hittade skadlig kod i den"
    return (
        f"Filen kan inte tas emot eftersom {reason} ({signature}). "
        "Inget har sparats. Kontakta din IT-avdelning om du är osäker på filen."
    )


def _spooled(file: FileStorage, directory: str, limit: int) -> tuple[SpoolFile, bool]:
    """The file's spool (from :class:`~storage.spool.SpoolingRequest`), or a new one."""
    stream = file.stream
    if isinstance(stream, SpoolFile) and not stream.closed:
        stream.flush()
        return stream, False
    try:
        return spool_stream(stream, directory, limit), True
    except FileTooLarge as exc:
        raise UploadRefused(exc.user_message, 413, "too_large") from None


def _hash_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _scanned_clean_before(sha256: str) -> bool:
    found = db.session.execute(
        sa.select(Attachment.id)
        .where(Attachment.sha256 == sha256, Attachment.scan_status == ScanStatus.CLEAN)
        .limit(1)
    ).first()
    return found is not None


def _now() -> datetime:
    return datetime.now(UTC)


def _audit_infected(uploader: User | None, verdict: ScanResult, **detail) -> None:
    """Write ``upload.infected`` in its own transaction: the caller will roll back its own."""
    event = audit.record("upload.infected", actor=uploader, signature=verdict.signature, **detail)
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
            verdict = _scan_object(scanner, store, source)
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


def _scan_object(scanner, store: Store, key: str) -> ScanResult:
    with store.get(key) as stream:
        return scanner.scan_stream(stream)


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
            "attachment.infected",
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
    objects = {}
    for prefix in (CLEAN_PREFIX, QUARANTINE_PREFIX):
        for info in store.list(prefix):
            objects[info.key] = info
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
