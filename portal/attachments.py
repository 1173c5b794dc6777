"""Attachment rows and their files: accept an upload, scan it in a job, send a download,
rescan, reconcile.

The file work (spool, type sniffing, ``quarantine/`` and ``clean/``, the stream to clamd,
ranges) is in :mod:`storage`, which knows nothing of rows, jobs, mail or audit. This
module makes the :class:`~portal.models.Attachment` rows, runs the scan of a content
(:func:`scan_content`, the body of the job ``portal.jobs.scan.scan_content``), records
infected files in the audit trail, tells uploaders about files found infected after they
left the page, and keeps the store and the rows in step. Objects are written before their
rows, and removed only where no row needs them (a scan removes an infected file; reconcile
removes old orphans), so a crash can leave an unreferenced object (reported, and removed
after a day) but never a row without its object.

An upload answers before its verdict: the row is committed ``pending_scan`` and the scan
job is enqueued at the commit; a page that wants to show the verdict at once waits a
little with :func:`await_verdicts`. Until then its bytes are under its upload's own key
(``quarantine_key``, an upload sent to S3 while it arrived) or ``quarantine/<sha256>``
(:func:`quarantined_key`). The scan job works per content: it scans one quarantined copy
for all pending rows of the content and deletes the quarantined keys of every row it
decides.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Response, abort, current_app
from werkzeug.datastructures import FileStorage

from portal import audit, jobs, notifications, tenancy
from portal.extensions import db
from portal.models import Attachment, AuditAction, AuditEvent, ScanStatus, User
from portal.models.base import utcnow
from storage import current_scanner, current_store
from storage.downloads import open_object, send_object
from storage.scan import ScanOutcome, ScanResult
from storage.store import ObjectNotFound, ObjectStream, StoreError
from storage.uploads import (
    CLEAN_PREFIX,
    QUARANTINE_PREFIX,
    UploadError,
    UploadInfected,
    UploadRefused,
    UploadUnavailable,
    release,
    scan_stored,
    store_upload,
    stored_objects,
)

log = logging.getLogger(__name__)

__all__ = [
    "ReconcileReport",
    "RescanReport",
    "UploadError",
    "UploadInfected",
    "UploadRefused",
    "UploadUnavailable",
    "accept_upload",
    "await_verdicts",
    "open_file",
    "quarantined_key",
    "reconcile",
    "refusal",
    "rescan",
    "scan_content",
    "send_attachment",
    "unavailable",
    "verdict_inline",
]

PENDING = ScanStatus.PENDING_SCAN
# A scan that got no verdict (clamd down) is tried again after this.
RETRY_AFTER = timedelta(minutes=1)
# A content whose stored file is missing is looked for again after this.
MISSING_RETRY_AFTER = timedelta(hours=1)
POLL_SECONDS = 0.1


def accept_upload(file: FileStorage, *, uploader: User | None, slot: str = "") -> Attachment:
    """Take one uploaded file through the pipeline and return its (unflushed) Attachment.

    The row is added to ``db.session``; the caller links it to a version and commits.
    With scanning on the row is ``pending_scan`` and its scan is enqueued at the commit;
    with scanning off (development) it is ``not_scanned``. Raises
    :class:`UploadRefused` or :class:`UploadUnavailable` (nothing is stored then).
    """
    scanning = current_scanner() is not None
    stored = store_upload(file, scanning=scanning)
    now = utcnow()
    attachment = Attachment(
        slot=slot,
        sha256=stored.sha256,
        size=stored.size,
        content_type=stored.content_type,
        display_name=stored.display_name,
        quarantine_key=stored.quarantine_key,
        scan_status=ScanStatus(stored.placement.value),
        uploaded_by_id=uploader.id if uploader is not None else None,
        created_at=now,
    )
    if scanning:
        from portal.jobs.scan import scan_content as scan_job  # the task module imports this one

        attachment.scan_next_at = attachment.scan_enqueued_at = now
        jobs.enqueue_after_commit(scan_job, sha256=stored.sha256)
    db.session.add(attachment)
    return attachment


def await_verdicts(attachment_ids: Sequence[int], seconds: float) -> list[Attachment]:
    """The rows of ``attachment_ids`` read afresh, once none of them waits for its scan or
    after ``seconds`` (polling every 100 ms). Files over ``SCAN_INLINE_MAX_BYTES`` are not
    waited for, nor files whose scan got no verdict (clamd down: they wait for minutes).
    Call it after the commit that enqueued the scans (it ends the transaction at each
    look)."""
    limit = current_app.config["SCAN_INLINE_MAX_BYTES"]
    deadline = time.monotonic() + seconds
    while True:
        db.session.commit()  # a fresh snapshot at each look
        found = db.session.scalars(
            sa.select(Attachment)
            .where(Attachment.id.in_(attachment_ids))
            .execution_options(populate_existing=True)
        ).all()
        by_id = {row.id: row for row in found}
        rows = [by_id[i] for i in attachment_ids if i in by_id]
        waiting = any(
            r.scan_status is PENDING and r.size <= limit and not r.scan_error for r in rows
        )
        if not waiting or time.monotonic() >= deadline:
            return rows
        time.sleep(POLL_SECONDS)


def verdict_inline(attachment: Attachment) -> Attachment:
    """After the commit of one upload, its row once the verdict is in or after
    ``SCAN_INLINE_SECONDS``; raises :class:`UploadInfected` for a file found infected."""
    (fresh,) = await_verdicts([attachment.id], current_app.config["SCAN_INLINE_SECONDS"])
    if refused := refusal(fresh):
        raise refused
    return fresh


def refusal(attachment: Attachment) -> UploadInfected | None:
    """For a file found infected, the refusal to show its uploader (the message names the
    signature found); None for any other file."""
    if not attachment.infected:
        return None
    found = db.session.scalar(
        sa.select(AuditEvent.detail)
        .where(
            AuditEvent.action == AuditAction.ATTACHMENT_INFECTED,
            AuditEvent.object_type == "attachment",
            AuditEvent.object_id == attachment.id,
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    return UploadInfected((found or {}).get("signature", ""))


def quarantined_key(row) -> str:
    """Where the bytes of ``row`` (an :class:`Attachment` or a result row with ``sha256``
    and ``quarantine_key``) wait for their scan (:meth:`Attachment.quarantined`)."""
    return Attachment.quarantined(row.sha256, row.quarantine_key)


# --- the scan of one content --------------------------------------------------------------


@dataclass
class Verdict:
    """What one scan run did: ``outcome`` is clean, infected, unavailable, missing or
    nothing to do; ``attachments`` the rows it decided."""

    outcome: str
    attachments: list[int] = field(default_factory=list)
    detail: str = ""  # the signature, or why there is no verdict
    mails: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        counted = f" ({len(self.attachments)} attachment(s))" if self.attachments else ""
        return f"{self.outcome}{counted}" + (f": {self.detail}" if self.detail else "")


def scan_content(sha256: str) -> str:
    """Scan the content ``sha256`` for its pending rows and record the verdict (the body of
    the scan job). Idempotent: a second run finds the rows decided, or leased by the run
    that scans them, and does nothing."""
    return str(_scan(sha256))


def _lease_free(now: datetime):
    return sa.or_(Attachment.scan_claimed_until.is_(None), Attachment.scan_claimed_until < now)


def _claim(sha256: str, token: str) -> int:
    """Lease the due pending rows of ``sha256`` for this run, unless another run holds a lease
    on the content (it scans the same bytes, and its verdict covers these rows too)."""
    now = utcnow()
    lease = timedelta(seconds=current_app.config["SCAN_LEASE_SECONDS"])
    held = sa.orm.aliased(Attachment)
    claimed = db.session.execute(
        sa.update(Attachment)
        .where(
            Attachment.sha256 == sha256,
            Attachment.scan_status == PENDING,
            Attachment.scan_next_at <= now,
            _lease_free(now),
            ~sa.exists().where(held.sha256 == sha256, held.scan_claimed_until >= now),
        )
        .values(scan_claimed_until=now + lease, scan_claim=token)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()  # the lease is visible before clamd is asked
    return claimed


class _Renewal:
    """Called while clamd reads the file: every quarter of the lease, the lease of this run's
    rows is renewed in a short transaction (a 1 GiB scan can outlast a lease)."""

    def __init__(self, sha256: str, token: str):
        self.sha256, self.token = sha256, token
        self.seconds = current_app.config["SCAN_LEASE_SECONDS"]
        self.due = time.monotonic() + self.seconds / 4

    def __call__(self) -> None:
        if time.monotonic() < self.due:
            return
        self.due = time.monotonic() + self.seconds / 4
        db.session.execute(
            sa.update(Attachment)
            .where(Attachment.sha256 == self.sha256, Attachment.scan_claim == self.token)
            .values(scan_claimed_until=utcnow() + timedelta(seconds=self.seconds))
            .execution_options(synchronize_session=False)
        )
        db.session.commit()


def _scan(sha256: str) -> Verdict:
    token = uuid.uuid4().hex
    if not _claim(sha256, token):
        return Verdict("nothing to do")
    scanner, store = current_scanner(), current_store()
    if scanner is None:
        return _postpone(sha256, token, "scanning is off (PORTAL_CLAMD_URL is not set)")
    held = _held_keys(sha256, token)
    try:
        result, source = scan_stored(scanner, store, sha256, held, tick=_Renewal(sha256, token))
    except ObjectNotFound:
        log.error("scan: no stored object for %s", sha256)
        return _postpone(sha256, token, "the stored file is missing", missing=True)
    except StoreError as exc:
        return _postpone(sha256, token, f"the object store failed: {exc}")
    if not result.clean and not result.infected:
        if source == CLEAN_PREFIX + sha256 and _scanned_clean_before(sha256):
            # The content passed a scan before: with clamd down, that verdict stands.
            result = ScanResult(ScanOutcome.CLEAN)
        else:
            log.warning("scan of %s got no verdict: %s", sha256, result.reason)
            return _postpone(sha256, token, result.reason)
    if result.clean:
        return _release(sha256, token, source)
    return _remove_infected(sha256, token, source, result.signature)


def _held_keys(sha256: str, token: str) -> list[str]:
    """The quarantined keys of the rows this run leased (one per upload with a key of its
    own; legacy rows share ``quarantine/<sha256>``): any of them holds the content."""
    rows = db.session.execute(
        sa.select(Attachment.sha256, Attachment.quarantine_key).where(
            Attachment.sha256 == sha256, Attachment.scan_claim == token
        )
    )
    return sorted({quarantined_key(row) for row in rows})


def _scanned_clean_before(sha256: str) -> bool:
    found = db.session.execute(
        sa.select(Attachment.id)
        .where(Attachment.sha256 == sha256, Attachment.scan_status == ScanStatus.CLEAN)
        .limit(1)
    ).first()
    return found is not None


def _postpone(sha256: str, token: str, reason: str, *, missing: bool = False) -> Verdict:
    """No verdict: this run's rows stay pending, with the reason, until the next attempt.
    Its message is used up, so the sweep may enqueue the next one as soon as it is due."""
    now = utcnow()
    after = MISSING_RETRY_AFTER if missing else RETRY_AFTER
    ids = db.session.scalars(
        sa.update(Attachment)
        .where(Attachment.sha256 == sha256, Attachment.scan_claim == token)
        .values(
            scan_attempts=Attachment.scan_attempts + 1,
            scan_error=reason[:500],
            scan_next_at=now + after,
            scan_claimed_until=None,
            scan_claim=None,
            scan_enqueued_at=None,
        )
        .returning(Attachment.id)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()
    return Verdict("missing" if missing else "unavailable", ids, reason)


def _decide(sha256: str, token: str, status: ScanStatus) -> list[Attachment]:
    """Give the verdict to the pending rows of ``sha256`` that this run leased, and to those
    no other run holds (added during the scan, or left by a dead run: the same bytes).
    Each row changes once, whichever runs race: the update returns the rows it changed."""
    now = utcnow()
    ids = db.session.scalars(
        sa.update(Attachment)
        .where(
            Attachment.sha256 == sha256,
            Attachment.scan_status == PENDING,
            sa.or_(Attachment.scan_claim == token, _lease_free(now)),
        )
        .values(
            scan_status=status,
            scanned_at=now,
            scan_claimed_until=None,
            scan_claim=None,
            scan_error="",
        )
        .returning(Attachment.id)
        .execution_options(synchronize_session=False)
    ).all()
    return list(
        db.session.scalars(
            sa.select(Attachment)
            .where(Attachment.id.in_(ids))
            .order_by(Attachment.id)
            .execution_options(populate_existing=True)
        )
    )


def _release(sha256: str, token: str, source: str) -> Verdict:
    """Clean: the rows are committed clean first (downloads read the quarantined copy
    until it is copied), then the object scanned goes to ``clean/`` and every quarantined
    key of the rows decided is deleted. A run killed in between leaves that to the sweep
    (:func:`finish_releases`)."""
    rows = _decide(sha256, token, ScanStatus.CLEAN)
    db.session.commit()
    try:
        release(current_store(), sha256, source, [quarantined_key(row) for row in rows])
    except StoreError as exc:
        log.warning(
            "scan: %s is clean but still in quarantine (%s); the sweep moves it", sha256, exc
        )
    return Verdict("clean", [row.id for row in rows])


def _remove_infected(sha256: str, token: str, source: str, signature: str) -> Verdict:
    """Infected: the rows stay as the record of what was removed, each audited once; whoever
    uploaded a file is told by mail unless they were still on the page (the verdict came
    within ``SCAN_INLINE_SECONDS``); then the object scanned and every quarantined key of
    the rows decided are deleted."""
    rows = _decide(sha256, token, ScanStatus.INFECTED)
    inline = timedelta(seconds=current_app.config["SCAN_INLINE_SECONDS"])
    mails = []
    for row in rows:
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
        if row.scanned_at - row.created_at > inline:
            mails += notifications.attachment_infected(row, signature)
    db.session.commit()
    store = current_store()
    for key in sorted({source, *(quarantined_key(row) for row in rows)}):
        if key.startswith(QUARANTINE_PREFIX) or not _still_referenced(key):
            try:
                store.delete(key)
            except StoreError as exc:
                log.warning("scan: could not remove infected %s (%s); the sweep does", key, exc)
    return Verdict("infected", [row.id for row in rows], signature, [m.id for m in mails])


# --- the sweep's part ---------------------------------------------------------------------


def _due_rows(now: datetime, *, within: timedelta = timedelta(0)) -> sa.Select:
    """The ids of the pending, unleased rows due by ``now + within``."""
    return sa.select(Attachment.id).where(
        Attachment.scan_status == PENDING,
        Attachment.scan_next_at <= now + within,
        _lease_free(now),
    )


def scans_due(now: datetime) -> bool:
    """Whether any pending row is due now or within the retry interval."""
    return db.session.execute(_due_rows(now, within=RETRY_AFTER).limit(1)).first() is not None


def scanner_down(now: datetime, reason: str) -> int:
    """clamd did not answer the sweep's PING: the due rows record it (they stay due, for
    the next sweep to try again)."""
    count = db.session.execute(
        sa.update(Attachment)
        .where(Attachment.id.in_(_due_rows(now)))
        .values(scan_attempts=Attachment.scan_attempts + 1, scan_error=reason[:500])
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return count


def lost_scans(now: datetime, *, lost_after: timedelta, broker_empty: bool) -> list[str]:
    """The contents to enqueue a scan for: pending rows due now (or within the retry
    interval: clamd answered, so what waited for it need not wait longer), not leased,
    whose last enqueue is presumed lost. Their rows are marked due and enqueued now."""
    due = _due_rows(now, within=RETRY_AFTER)
    if not broker_empty:
        due = due.where(
            sa.or_(
                Attachment.scan_enqueued_at.is_(None),
                Attachment.scan_enqueued_at < now - lost_after,
            )
        )
    ids = db.session.scalars(due).all()
    if not ids:
        return []
    shas = db.session.scalars(
        sa.update(Attachment)
        .where(Attachment.id.in_(ids))
        .values(scan_enqueued_at=now, scan_next_at=now)
        .returning(Attachment.sha256)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()
    return sorted(set(shas))


def finish_releases() -> int:
    """Quarantined objects whose rows all have a verdict: copy a clean one to ``clean/`` and
    remove it (a scan run killed between its commit and the copy), remove an infected one.
    Objects no row refers to (by ``quarantine_key``, or legacy ``quarantine/<sha256>``) are
    reconcile's. Returns the count."""
    store = current_store()
    held = {info.key for info in store.list(QUARANTINE_PREFIX)}
    if not held:
        return 0
    names = {key.removeprefix(QUARANTINE_PREFIX) for key in held}
    owners: dict[str, tuple[str, set[ScanStatus]]] = {}  # key: (sha256, its rows' statuses)
    for row in db.session.execute(
        sa.select(Attachment.sha256, Attachment.quarantine_key, Attachment.scan_status)
        .where(
            sa.or_(
                Attachment.quarantine_key.in_(held),
                Attachment.quarantine_key.is_(None) & Attachment.sha256.in_(names),
            )
        )
        .distinct()
    ):
        key = quarantined_key(row)
        if key in held:
            owners.setdefault(key, (row.sha256, set()))[1].add(row.scan_status)
    finished = 0
    for key, (sha256, found) in sorted(owners.items()):
        if PENDING in found:
            continue
        try:
            if found <= {ScanStatus.INFECTED}:
                store.delete(key)
            else:
                release(store, sha256, key)
        except StoreError as exc:
            log.warning("sweep: could not finish %s: %s", key, exc)
            continue
        finished += 1
    return finished


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


def _fallback(attachment: Attachment) -> str | None:
    """Where a clean row's bytes are while its release is not finished."""
    if attachment.scan_status is ScanStatus.CLEAN:
        return quarantined_key(attachment)
    return None


def send_attachment(attachment: Attachment, *, inline: bool = False) -> Response:
    """Stream ``attachment`` to the client with Range, ETag and conditional-GET support.

    A file still waiting for its scan is never served (409), nor one found infected (410).
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
        fallback=_fallback(attachment),
    )


def open_file(attachment: Attachment) -> ObjectStream:
    """The stored bytes of ``attachment`` for reading in the app (text extraction); the
    caller closes it. :class:`~storage.store.StoreError` when it cannot be read."""
    return open_object(attachment.storage_key, fallback=_fallback(attachment))


# --- rescan -------------------------------------------------------------------------------


@dataclass
class RescanReport:
    released: int = 0  # files (distinct contents) found clean
    attachments_released: int = 0
    infected: list[dict] = field(default_factory=list)  # {sha256, signature, attachments}
    still_pending: int = 0
    reason: str = ""  # why files are still pending, if any
    missing: list[str] = field(default_factory=list)  # sha256 with no object anywhere
    mails: list[int] = field(default_factory=list)  # outbox ids telling the uploaders


def rescan(*, include_not_scanned: bool = False) -> RescanReport:
    """Scan every pending content now, in this process (``flask storage rescan``; safe
    beside the workers: each content is leased as in the job).

    Stops at the first scan without a verdict (clamd down) and reports the rest as
    pending. With ``include_not_scanned``, files accepted while scanning was off are made
    pending and scanned too.
    """
    if current_scanner() is None:
        raise RuntimeError("PORTAL_CLAMD_URL is not set: there is no scanner to rescan with")
    now = utcnow()
    if include_not_scanned:
        db.session.execute(
            sa.update(Attachment)
            .where(Attachment.scan_status == ScanStatus.NOT_SCANNED)
            .values(scan_status=PENDING)
            .execution_options(synchronize_session=False)
        )
    db.session.execute(
        sa.update(Attachment)
        .where(Attachment.scan_status == PENDING)
        .values(scan_next_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    pending = db.session.scalars(
        sa.select(Attachment.sha256)
        .where(Attachment.scan_status == PENDING)
        .distinct()
        .order_by(Attachment.sha256)
    ).all()
    report = RescanReport()
    for index, sha256 in enumerate(pending):
        verdict = _scan(sha256)
        if verdict.outcome == "unavailable":
            report.still_pending = len(pending) - index
            report.reason = verdict.detail
            break
        if verdict.outcome == "missing":
            report.missing.append(sha256)
        elif verdict.outcome == "clean":
            report.released += 1
            report.attachments_released += len(verdict.attachments)
        elif verdict.outcome == "infected":
            report.infected.append(
                {"sha256": sha256, "signature": verdict.detail, "attachments": verdict.attachments}
            )
            report.mails += verdict.mails
    return report


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
    referenced: set[str] = set()
    missing: dict[str, int] = {}
    for row in _rows_of_every_municipality():
        keys = _keys_of(row)
        present = next((key for key in keys if key in objects), None)
        if present is None:
            missing.setdefault(keys[0], row.id)
        else:
            referenced.add(present)

    report = ReconcileReport()
    report.orphan_objects = sorted(set(objects) - referenced)
    report.missing_objects = sorted((row_id, key) for key, row_id in missing.items())
    incomplete = getattr(store, "incomplete_uploads", lambda: [])()
    report.incomplete_uploads = [(key, begun) for key, _id, begun in incomplete]
    if delete:
        cutoff = utcnow() - min_age
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


def _rows_of_every_municipality() -> list:
    """(id, sha256, quarantine_key, scan_status) of every attachment row not found
    infected, in every municipality: the object store is the installation's, one copy per
    content."""

    def rows() -> list:
        return db.session.execute(
            sa.select(
                Attachment.id, Attachment.sha256, Attachment.quarantine_key, Attachment.scan_status
            ).where(Attachment.scan_status != ScanStatus.INFECTED)
        ).all()

    return [row for found in tenancy.in_each_municipality(db.session, rows) for row in found]


def _keys_of(row) -> tuple[str, ...]:
    """Where a row's bytes may be, first choice first: a pending row's under its quarantined
    key or (content stored clean before) ``clean/``; a clean row's under ``clean/`` or,
    until its release is finished, its quarantined key."""
    clean, held = CLEAN_PREFIX + row.sha256, quarantined_key(row)
    return {
        ScanStatus.PENDING_SCAN: (held, clean),
        ScanStatus.CLEAN: (clean, held),
    }.get(row.scan_status, (clean,))


def _still_referenced(key: str) -> bool:
    """Whether a row may still need ``key`` (kept rather than deleted when unsure)."""
    prefix, name = key.split("/", 1)
    if prefix + "/" == QUARANTINE_PREFIX:
        status = [ScanStatus.PENDING_SCAN, ScanStatus.CLEAN]
        refers = sa.or_(
            Attachment.quarantine_key == key,
            Attachment.quarantine_key.is_(None) & (Attachment.sha256 == name),
        )
    else:
        status = [ScanStatus.CLEAN, ScanStatus.NOT_SCANNED, ScanStatus.PENDING_SCAN]
        refers = Attachment.sha256 == name
    query = sa.select(Attachment.id).where(refers, Attachment.scan_status.in_(status)).limit(1)
    if db.session.execute(query).first() is not None:  # the current municipality's first
        return True
    found = tenancy.in_each_municipality(db.session, lambda: db.session.execute(query).first())
    return any(row is not None for row in found)
