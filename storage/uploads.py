"""The file side of an upload: spool, type sniffing, quarantine; and of its scan and release.

Order of an upload: spool (hashed and size-limited while the request is read; with
scanning on and a store that takes parts, such as S3, each part is also sent on to
``quarantine/<upload id>`` while the rest arrives) → type sniffing (a refused type is
refused here, in the request, and its upload aborted) → the object under a key of the
upload's own (the parts completed) or, for a file not sent in parts,
``quarantine/<sha256>``; content already under ``clean/`` (or ``quarantine/<sha256>``)
is not stored again. The virus scan comes later, in a job:
:func:`scan_stored` streams a quarantined object to clamd, :func:`release` copies a clean
one to ``clean/<sha256>`` and deletes the quarantined copies of the content (one copy
per content once released).

Nothing here knows the app's rows, jobs, mail or audit: :mod:`portal.attachments` makes
the attachment row of a :class:`StoredUpload`, runs the scan job and records its verdict.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from storage import current_scanner, current_store
from storage.names import safe_display_name, with_extension
from storage.scan import Scanner, ScanResult
from storage.sniff import TypeRefused, sniff
from storage.spool import FileTooLarge, PartSender, SpoolFile, spool_stream
from storage.store import (
    ObjectInfo,
    ObjectNotFound,
    ObjectStream,
    PartStore,
    Store,
    StoreError,
)

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
    """The scanner found ``signature`` (422): for a caller that waited for the verdict."""

    def __init__(self, signature: str):
        super().__init__(infected_message(signature), 422, "infected")
        self.signature = signature


class Placement(enum.StrEnum):
    """Where a stored upload waits (the values of the rows' status)."""

    PENDING_SCAN = "pending_scan"  # under quarantine/ (or clean/, same content) until scanned
    NOT_SCANNED = "not_scanned"  # scanning is off (development): under clean/


@dataclass(frozen=True)
class StoredUpload:
    """An accepted upload: its content, the type found by sniffing, and where it is."""

    sha256: str
    size: int
    content_type: str
    display_name: str  # the uploaded name, made safe, with the extension of its real type
    placement: Placement
    # Where the bytes wait for their scan when the upload has a key of its own
    # (``quarantine/<upload id>``); None: under ``quarantine/<sha256>`` or already clean.
    quarantine_key: str | None = None


def quarantine_target() -> tuple[PartStore, str] | None:
    """Where a file part of an upload request is sent while it arrives: a key of its own,
    ``quarantine/<uuid4 hex>``, when scanning is on and the store takes parts; else None
    (the file is stored from the spool once checked)."""
    store = current_store()
    if current_scanner() is None or not isinstance(store, PartStore):
        return None
    return store, QUARANTINE_PREFIX + uuid.uuid4().hex


def store_upload(file: FileStorage, *, scanning: bool) -> StoredUpload:
    """Take one uploaded file through the pipeline and return what was stored.

    With ``scanning`` the bytes go under ``quarantine/`` (to be scanned), else under
    ``clean/``; content already under ``clean/`` is not stored again. A file sent in parts
    while the request was read (see :func:`quarantine_target`) is completed under its own
    key, or aborted when refused or already stored. Raises :class:`UploadRefused` (too
    large, wrong type: nothing is stored) or :class:`UploadUnavailable` (the store failed).
    """
    config = current_app.config
    limit = int(config["MAX_UPLOAD_BYTES"])
    spool, own_spool = _spooled(file, config["UPLOAD_TMP"], limit)
    parts = spool.claim_parts()  # the rest of the file is sent while it is checked
    key = None
    try:
        if parts is not None and (not scanning or spool.sha256 is None):
            parts.abort()  # stored from the spool below instead
            parts = None
        size, sha256 = spool.size, spool.sha256 or _hash_file(spool.name)
        if size > limit:
            raise UploadRefused(FileTooLarge(limit).user_message, 413, "too_large")
        name = safe_display_name(file.filename)
        try:
            kind = sniff(spool.name, name)
        except TypeRefused as refused:
            raise UploadRefused(refused.message, refused.status, refused.code) from None
        started = time.perf_counter()
        try:
            if parts is not None:
                key = _keep_parts(current_store(), parts, sha256)
            else:
                _keep(current_store(), spool, sha256, size, kind.mime, scanning=scanning)
        except StoreError as exc:
            raise _store_unavailable(exc) from exc
    except BaseException:
        if parts is not None:
            parts.abort()
        raise
    finally:
        if own_spool:
            spool.close()
    log.info(
        "upload %s (%d bytes) stored in %.2f s after its checks%s",
        sha256,
        size,
        time.perf_counter() - started,
        f" (sent while it arrived, as {key})" if key else "",
    )
    return StoredUpload(
        sha256=sha256,
        size=size,
        content_type=kind.mime,
        display_name=with_extension(name, kind.extension),
        placement=Placement.PENDING_SCAN if scanning else Placement.NOT_SCANNED,
        quarantine_key=key,
    )


def _keep_parts(store: Store, parts: PartSender, sha256: str) -> str | None:
    """Complete an upload sent in parts under its own key and return the key; abort it, and
    return None, when the content is already under ``clean/`` or ``quarantine/<sha256>``."""
    if store.touch(CLEAN_PREFIX + sha256) or store.touch(QUARANTINE_PREFIX + sha256):
        parts.abort()
        return None
    parts.complete()
    return parts.key


def _keep(store: Store, spool: SpoolFile, sha256: str, size: int, mime: str, *, scanning: bool):
    """Store the bytes once per content. Unscanned bytes are only ever written under
    ``quarantine/`` (with scanning on); a content under ``clean/`` is touched, not copied."""
    if store.touch(CLEAN_PREFIX + sha256):
        return
    target = (QUARANTINE_PREFIX if scanning else CLEAN_PREFIX) + sha256
    if not store.touch(target):
        spool.seek(0)
        store.put(target, spool, size, mime.split(";")[0])


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


# --- the scan job's file side ----------------------------------------------------------


class _Watched:
    """A stream that calls ``tick()`` before each read (the scan job renews its lease)."""

    def __init__(self, stream: ObjectStream, tick: Callable[[], None]):
        self._stream, self._tick = stream, tick

    def read(self, size: int = -1) -> bytes:
        self._tick()
        return self._stream.read(size)


def scan_stored(
    scanner: Scanner,
    store: Store,
    sha256: str,
    quarantined: Iterable[str] = (),
    *,
    tick: Callable[[], None] | None = None,
) -> tuple[ScanResult, str]:
    """Stream the stored content to clamd: the first of the ``quarantined`` keys (by
    default ``quarantine/<sha256>``) that exists, else ``clean/<sha256>`` (the same content
    stored clean before). Returns the verdict and the key scanned; :class:`ObjectNotFound`
    if none exists, :class:`StoreError` if the store fails. ``tick`` is called before each
    chunk is read."""
    keys = list(quarantined) or [QUARANTINE_PREFIX + sha256]
    for key in [*keys, CLEAN_PREFIX + sha256]:
        try:
            stream = store.get(key)
        except ObjectNotFound:
            continue
        with stream:
            return scanner.scan_stream(_Watched(stream, tick) if tick else stream), key
    raise ObjectNotFound(keys[0])


def release(store: Store, sha256: str, source: str, quarantined: Iterable[str] = ()) -> None:
    """Make a content found clean available under ``clean/``: copy ``source`` there (unless
    a copy is there already), then delete it and the other ``quarantined`` keys of the
    same content. Safe to repeat."""
    target = CLEAN_PREFIX + sha256
    if source != target and not store.touch(target):
        store.copy(source, target)
    for key in sorted({source, *quarantined} - {target}):
        store.delete(key)


def stored_objects(store: Store) -> dict[str, ObjectInfo]:
    """Every object under ``clean/`` and ``quarantine/``, by key."""
    objects = {}
    for prefix in (CLEAN_PREFIX, QUARANTINE_PREFIX):
        for info in store.list(prefix):
            objects[info.key] = info
    return objects
