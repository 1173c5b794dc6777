"""The file side of an upload: spool, virus scan, type sniffing, quarantine and release.

Order of an upload: spool (hashed and size-limited while the request is read)
→ virus scan, and meanwhile type sniffing and the write to ``quarantine/`` →
move to ``clean/``. The scan verdict is awaited before any refusal, so that
every infected file is refused as infected (:class:`UploadInfected`, which the
caller records), whatever its type. A refused upload removes what it wrote.

Nothing here knows the app's rows, mail or audit: :mod:`portal.attachments`
makes the attachment row of a :class:`StoredUpload`, records infected uploads,
and runs the rescan and the reconcile with :func:`scan_object` and
:func:`stored_objects`.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from storage import current_scanner, current_store
from storage.names import safe_display_name, with_extension
from storage.scan import Scanner, ScanResult
from storage.sniff import TypeRefused, sniff
from storage.spool import FileTooLarge, SpoolFile, spool_stream
from storage.store import ObjectInfo, Store, StoreError

log = logging.getLogger(__name__)

CLEAN_PREFIX = "clean/"
QUARANTINE_PREFIX = "quarantine/"


class UploadError(Exception):
    """An upload that did not go through; ``message`` is for the user, in their language."""

    def __init__(self, message: str, status: int, code: str):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class UploadRefused(UploadError):
    """The file itself is the problem: too large (413), wrong type (415/422), infected (422)."""


class UploadUnavailable(UploadError):
    """Our side failed (object store down): 503, nothing was kept, the user may retry."""


class UploadInfected(UploadRefused):
    """The scanner found ``signature`` (422); nothing of the file is kept.

    Carries what the caller records of the attempt: the content's ``sha256``, ``size``
    and the file's ``name``.
    """

    def __init__(self, signature: str, *, sha256: str, size: int, name: str):
        super().__init__(infected_message(signature), 422, "infected")
        self.signature = signature
        self.sha256 = sha256
        self.size = size
        self.name = name


class Placement(enum.StrEnum):
    """Where a stored upload is, by what the scanner said (the values of the rows' status)."""

    CLEAN = "clean"  # scanned clean: under clean/
    PENDING_SCAN = "pending_scan"  # the scanner was unavailable: held under quarantine/
    NOT_SCANNED = "not_scanned"  # scanning is off (development): under clean/


@dataclass(frozen=True)
class StoredUpload:
    """An accepted upload: its content, the type found by sniffing, and where it is."""

    sha256: str
    size: int
    content_type: str
    display_name: str  # the uploaded name, made safe, with the extension of its real type
    placement: Placement


def store_upload(file: FileStorage, *, scanned_clean_before: Callable[[str], bool]) -> StoredUpload:
    """Take one uploaded file through the pipeline and return what was stored.

    ``scanned_clean_before(sha256)`` says whether this content passed a scan before; it is
    asked only when the scanner is unavailable and the content is already under ``clean/``
    (it then needs no quarantine). Raises :class:`UploadRefused` (:class:`UploadInfected`
    for a scanner hit) or :class:`UploadUnavailable`; a refused upload leaves nothing.
    """
    config = current_app.config
    limit = int(config["MAX_UPLOAD_BYTES"])
    spool, own_spool = _spooled(file, config["UPLOAD_TMP"], limit)
    try:
        size, sha256 = spool.size, spool.sha256 or _hash_file(spool.name)
        if size > limit:
            raise UploadRefused(FileTooLarge(limit).user_message, 413, "too_large")
        return _store(spool, size, sha256, safe_display_name(file.filename), scanned_clean_before)
    finally:
        if own_spool:
            spool.close()


def _store(
    spool: SpoolFile,
    size: int,
    sha256: str,
    name: str,
    scanned_clean_before: Callable[[str], bool],
) -> StoredUpload:
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
            raise UploadInfected(verdict.signature, sha256=sha256, size=size, name=name)
        if refused is not None:
            raise UploadRefused(refused.message, refused.status, refused.code)
        if store_error is not None:
            raise _store_unavailable(store_error)
        try:
            placement = _settle(
                store,
                spool,
                verdict,
                sha256,
                size,
                kind.mime,
                clean_exists=clean_exists,
                written=written,
                scanned_clean_before=scanned_clean_before,
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
    return StoredUpload(
        sha256=sha256,
        size=size,
        content_type=kind.mime,
        display_name=with_extension(name, kind.extension),
        placement=placement,
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
    scanned_clean_before: Callable[[str], bool],
) -> Placement:
    """Put the object where the scanner's verdict says and return that place."""
    clean_key, held_key = CLEAN_PREFIX + sha256, QUARANTINE_PREFIX + sha256
    if verdict is None:
        return Placement.NOT_SCANNED
    if verdict.clean:
        if not clean_exists:
            if written == held_key:
                store.move(held_key, clean_key)
            else:  # a pending upload of the same content still refers to the quarantined copy
                store.copy(held_key, clean_key)
        return Placement.CLEAN
    # The scanner is unavailable: content that already passed a scan needs no quarantine.
    if clean_exists and scanned_clean_before(sha256):
        return Placement.CLEAN
    log.warning("scanner unavailable (%s); %s kept in quarantine", verdict.reason, sha256)
    if written != held_key and not store.touch(held_key):
        _put(store, spool, held_key, size, mime)
    return Placement.PENDING_SCAN


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
        _(
            "Filen kunde inte sparas eftersom filarkivet inte svarar just nu. "
            "Inget har sparats. Försök igen om en stund."
        ),
        503,
        "store_unavailable",
    )


def infected_message(signature: str) -> str:
    """The user's message for a scanner hit, naming the signature."""
    if signature.startswith("Heuristics.Limits.Exceeded"):
        reason = _(
            "den är för stor eller innehåller för många eller för djupt packade filer "
            "för att kunna genomsökas fullständigt"
        )
    elif signature.startswith("Heuristics.Encrypted"):
        reason = _("den innehåller krypterat innehåll som inte kan genomsökas")
    elif signature.startswith("Heuristics.OLE2.ContainsMacros"):
        reason = _("den innehåller makron")
    else:
        reason = _("virusskyddet hittade skadlig kod i den")
    return _(
        "Filen kan inte tas emot eftersom %(reason)s (%(signature)s). "
        "Inget har sparats. Kontakta din IT-avdelning om du är osäker på filen.",
        reason=reason,
        signature=signature,
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


# --- for the rescan and the reconcile -----------------------------------------------------


def scan_object(scanner: Scanner, store: Store, key: str) -> ScanResult:
    """Scan the stored object ``key`` again; raises :class:`StoreError` if it cannot be read."""
    with store.get(key) as stream:
        return scanner.scan_stream(stream)


def stored_objects(store: Store) -> dict[str, ObjectInfo]:
    """Every object under ``clean/`` and ``quarantine/``, by key."""
    objects = {}
    for prefix in (CLEAN_PREFIX, QUARANTINE_PREFIX):
        for info in store.list(prefix):
            objects[info.key] = info
    return objects
