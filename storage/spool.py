"""Uploaded file bodies go to disk, hashed and counted while they are written.

:class:`SpoolingRequest` replaces Werkzeug's stream factory (which keeps parts
under 500 KB in memory and the rest in the system temp folder) with a file in
``UPLOAD_TMP`` that computes sha256 and size on the fly and refuses to grow
past ``MAX_UPLOAD_BYTES``. The upload pipeline then never reads the file
just to hash it.

A file part of a request allowed to carry files can also be sent to the object store
while it arrives (:meth:`SpoolFile.send_parts`, when
:func:`storage.uploads.quarantine_target` names a key): a thread of its own reads each
completed part back from the spool file and uploads it, one part in flight. Whoever
takes the file from the request completes or aborts that upload
(:meth:`SpoolFile.claim_parts`); a file closed unclaimed aborts it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import BinaryIO

from flask import Request, current_app
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge, ServiceUnavailable

from storage.sizes import format_size
from storage.store import PartStore, PartUpload

log = logging.getLogger(__name__)

SPOOL_PREFIX = "upload-"


def size_text(limit: int) -> str:
    """``200 MB``: the limit reads as the sizes of files do."""
    return format_size(limit)


class FileTooLarge(RequestEntityTooLarge):
    """413 with a message for the user (the error pages show ``user_message``).

    Raised for a request body, it carries the form's other fields (``form``) and the names
    of the file inputs whose file was too large (``fields``), so that the page can be shown
    again with what the user wrote and the message next to the file.
    """

    def __init__(self, limit: int, form=None, fields: tuple[str, ...] = ()):
        self.limit = limit
        self.form = form
        self.fields = tuple(fields)
        self.user_message = _(
            "Filen är för stor. Den största fil som kan tas emot är %(size)s. "
            "Dela upp innehållet i flera filer eller minska filen (till exempel genom att "
            "spara bilder med lägre upplösning) och försök igen.",
            size=size_text(limit),
        )
        super().__init__(description=self.user_message)


class FormTooLarge(RequestEntityTooLarge):
    """413 for a whole form over MAX_CONTENT_LENGTH (or too many or too large fields)."""

    def __init__(self, limit: int, files: int):
        self.user_message = _(
            "Det du skickade är för stort för att tas emot. Varje fil får vara högst "
            "%(size)s, och högst %(files)s filer kan skickas samtidigt. "
            "Skicka färre filer åt gången och försök igen.",
            size=size_text(limit),
            files=files,
        )
        super().__init__(description=self.user_message)


class UploadNotAllowed(RequestEntityTooLarge):
    """413 for a body too large for a request that may not carry files (not signed in, or
    without the upload token of the page the form came from)."""

    def __init__(self):
        self.user_message = _(
            "Filen kunde inte tas emot: du är inte inloggad längre, eller så är sidan för "
            "gammal. Logga in, öppna sidan på nytt och försök igen. Inget har sparats."
        )
        super().__init__(description=self.user_message)


class SpoolUnavailable(ServiceUnavailable):
    """The upload could not be written to the spool (its disk is full): 503, nothing kept."""

    def __init__(self):
        self.user_message = _(
            "Servern kan inte ta emot filer just nu. Inget har sparats. Försök igen om en stund."
        )
        super().__init__(description=self.user_message)


class PartSender:
    """Sends a growing spool file to ``key`` in parts of the store's ``part_size``, from a
    thread of its own that reads the file through its own descriptor (one part in memory).

    The writer announces what is on disk (:meth:`available`) and when the file is whole
    (:meth:`finish`). A multipart upload begins once more than one part is on disk; a file
    that fits in one part is sent by :meth:`complete` in one put. Exactly one of
    :meth:`complete` and :meth:`abort` ends it.
    """

    def __init__(self, path: str, store: PartStore, key: str):
        self.store, self.key = store, key
        self.part_size = store.part_size
        self.size = 0  # on disk, announced by the writer
        self.error: BaseException | None = None  # what stopped the thread, if anything
        self._fd = os.open(path, os.O_RDONLY)
        self._changed = threading.Condition()
        self._finished = self._cancelled = self._ended = False
        self._sent = 0
        self._upload: PartUpload | None = None
        self._thread = threading.Thread(target=self._run, name=f"parts:{key}", daemon=True)
        self._thread.start()

    def available(self, size: int) -> None:
        with self._changed:
            self.size = size
            self._changed.notify()

    def finish(self, size: int) -> None:
        """The file is whole (``size`` bytes, all on disk): send the rest."""
        with self._changed:
            self.size, self._finished = size, True
            self._changed.notify()

    def _next(self) -> int:
        """The length of the next part to send; 0 when there is none left to send here."""
        with self._changed:
            while True:
                waiting = self.size - self._sent
                if self._cancelled:
                    return 0
                if waiting > self.part_size:
                    return self.part_size
                if self._finished:
                    return waiting if self._upload is not None else 0
                self._changed.wait()

    def _run(self) -> None:
        try:
            buffer = bytearray(self.part_size)  # one part in memory, reused for every part
            while length := self._next():
                data = memoryview(buffer)[:length]
                if (read := os.preadv(self._fd, [data], self._sent)) != length:
                    raise OSError(f"spool file ended at {self._sent + read} bytes")
                if self._upload is None:
                    self._upload = self.store.begin_upload(self.key)
                self._upload.add_part(data)
                self._sent += length
        except BaseException as exc:  # noqa: BLE001 - raised again by complete()
            self.error = exc

    def complete(self) -> None:
        """Wait for the parts, then make them the object (a small file: put it whole).
        Raises what stopped the thread (a :class:`~storage.store.StoreError` from the store),
        and leaves the rest to :meth:`abort`."""
        self._thread.join()
        if self._ended:
            raise RuntimeError(f"the upload of {self.key} has ended")
        if self.error is not None:
            raise self.error
        if self._upload is not None:
            self._upload.complete()
        else:
            with io.FileIO(os.dup(self._fd), "rb") as whole:
                self.store.put(self.key, whole, self.size)
        self._end()

    def abort(self) -> None:
        """Stop sending and discard the parts sent (safe to repeat; errors are logged: the
        bucket's lifecycle rule and ``storage reconcile --delete`` remove what is left)."""
        if self._ended:
            return
        with self._changed:
            self._cancelled = True
            self._changed.notify()
        self._thread.join()
        upload, self._upload = self._upload, None
        self._end()
        if upload is not None:
            try:
                upload.abort()
            except Exception as exc:  # noqa: BLE001 - nothing the user can do about it
                log.warning("could not abort the upload of %s: %s", self.key, exc)

    def _end(self) -> None:
        self._ended = True
        os.close(self._fd)


class SpoolFile:
    """A temporary file in ``directory`` that hashes and counts what is appended to it.

    It deletes itself on close. ``sha256``/``size`` describe the whole content as
    long as it was written front to back (which Werkzeug does); otherwise
    ``sha256`` is None and the pipeline hashes the file itself.
    """

    _parts: PartSender | None = None

    def __init__(self, directory: str | os.PathLike, limit: int | None):
        Path(directory).mkdir(parents=True, exist_ok=True)
        self._file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed by close()
            dir=directory, prefix=SPOOL_PREFIX, delete=True, buffering=1024 * 1024
        )
        self.name = self._file.name
        self.limit = limit
        self._hash = hashlib.sha256()
        self._appending = True
        self.size = 0

    @property
    def sha256(self) -> str | None:
        return self._hash.hexdigest() if self._appending else None

    def write(self, data: bytes) -> int:
        if self._appending and self._file.tell() != self.size:
            self._appending = False
            self._drop_parts()  # the parts sent may not be the file any more
        if self.limit is not None and self.size + len(data) > self.limit:
            self.close()
            raise FileTooLarge(self.limit)
        try:
            written = self._file.write(data)
            if self._appending:
                self._hash.update(data)
            self.size = max(self.size, self._file.tell())
            if self._parts is not None and self.size - self._parts.size > self._parts.part_size:
                self._file.flush()  # a part is complete: on disk, for the sending thread
                self._parts.available(self.size)
        except OSError as exc:  # the spool disk is full (or failing): keep nothing of it
            self._discard()
            raise SpoolUnavailable() from exc
        return written

    def send_parts(self, store: PartStore, key: str) -> None:
        """Send the file to ``key`` in ``store`` while it is written (see :class:`PartSender`)."""
        self._parts = PartSender(self.name, store, key)

    def claim_parts(self) -> PartSender | None:
        """The file is whole: its :class:`PartSender` (None if it has none), told so and now
        the caller's to complete or abort."""
        parts, self._parts = self._parts, None
        if parts is not None:
            self._file.flush()
            parts.finish(self.size)
        return parts

    def _drop_parts(self) -> None:
        parts, self._parts = self._parts, None
        if parts is not None:
            parts.abort()

    def read(self, size: int = -1) -> bytes:
        return self._file.read(size)

    def readinto(self, buffer) -> int:
        return self._file.readinto(buffer)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def flush(self) -> None:
        self._file.flush()

    def fileno(self) -> int:
        return self._file.fileno()

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    @property
    def closed(self) -> bool:
        return self._file.closed

    def close(self) -> None:
        """Delete the file; an upload in parts not claimed is aborted."""
        self._drop_parts()
        self._file.close()

    def _discard(self) -> None:
        """Close and delete the file even when its buffer can no longer be written."""
        self._drop_parts()
        with contextlib.suppress(OSError):
            self._file.close()
        Path(self.name).unlink(missing_ok=True)

    def __enter__(self) -> SpoolFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __iter__(self):
        return iter(self._file)


class _BodyPart(SpoolFile):
    """A file part of a request body. Past the limit the file is refused (and deleted), but
    the rest of the part is read into nothing, so that the fields after it are still read."""

    refused = False

    def write(self, data: bytes) -> int:
        if not self.refused:
            try:
                return super().write(data)
            except FileTooLarge:
                self.refused = True  # super() closed, and so deleted, the file
        return len(data)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return 0 if self.refused else super().seek(offset, whence)


def spool_stream(stream: BinaryIO, directory: str | os.PathLike, limit: int | None) -> SpoolFile:
    """Copy ``stream`` into a new :class:`SpoolFile` (for files that did not come through
    :class:`SpoolingRequest`). Raises :class:`FileTooLarge` past ``limit``."""
    spool = SpoolFile(directory, limit)
    try:
        while chunk := stream.read(1024 * 1024):
            spool.write(chunk)
        spool.flush()
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool


def takes_files(view):
    """Mark a view as one that receives files (see :attr:`SpoolingRequest.max_content_length`)."""
    view.takes_files = True
    return view


class SpoolingRequest(Request):
    """Flask's request, with multipart file parts spooled by :class:`SpoolFile`.

    Only a request the app's upload gate lets through (a signed-in user posting, with
    the page's upload token, to a view marked :func:`takes_files`) may be as large as
    ``MAX_CONTENT_LENGTH``; every other request has the small ``MAX_FORM_BODY``, so
    nothing large is read, let alone spooled, before login and CSRF are checked. The
    decision is taken when the body is first read, which is before any view runs.
    """

    _files_allowed: bool | None = None

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is not None:
            return self._max_content_length
        config = current_app.config
        return config["MAX_CONTENT_LENGTH"] if self.files_allowed else config["MAX_FORM_BODY"]

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    @property
    def files_allowed(self) -> bool:
        if self._files_allowed is None:
            view = current_app.view_functions.get(self.endpoint or "")
            gate = current_app.extensions.get("upload_gate")
            self._files_allowed = bool(
                getattr(view, "takes_files", False) and (gate is None or gate(self))
            )
        return self._files_allowed

    def _get_file_stream(
        self, total_content_length, content_type, filename=None, content_length=None
    ):
        config = current_app.config
        part = _BodyPart(config["UPLOAD_TMP"], config["MAX_UPLOAD_BYTES"])
        self.__dict__.setdefault("_spooled", []).append(part)
        if filename and self.files_allowed:
            from storage.uploads import quarantine_target  # that module imports this one

            if target := quarantine_target():
                part.send_parts(*target)
        return part

    def close(self) -> None:
        """Close the request's files, also those a failed parse never listed (each aborts an
        upload in parts not claimed)."""
        try:
            super().close()
        finally:
            for part in self.__dict__.get("_spooled", ()):
                part.close()

    def _load_form_data(self) -> None:
        try:
            super()._load_form_data()
        except FileTooLarge:
            raise
        except RequestEntityTooLarge as exc:
            # Werkzeug's own 413: the body, a text field or the number of parts is too large.
            view = current_app.view_functions.get(self.endpoint or "")
            if getattr(view, "takes_files", False) and not self.files_allowed:
                raise UploadNotAllowed() from exc
            config = current_app.config
            raise FormTooLarge(
                config["MAX_UPLOAD_BYTES"], config.get("MAX_FILES_PER_REQUEST") or 1
            ) from exc
        files = list(self.files.items(multi=True))
        refused = [name for name, file in files if getattr(file.stream, "refused", False)]
        if refused:
            # Nothing of the request is kept: the other files go too.
            for _name, file in files:
                file.close()
            self.__dict__["files"] = self.parameter_storage_class()
            raise FileTooLarge(current_app.config["MAX_UPLOAD_BYTES"], self.form, refused)


def remove_stale_spool_files(directory: str | os.PathLike, older_than: float = 86400) -> int:
    """Delete spool files left by a crashed worker; returns how many."""
    removed = 0
    cutoff = time.time() - older_than
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return 0
    for entry in entries:
        try:
            if entry.name.startswith(SPOOL_PREFIX) and entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
        except FileNotFoundError:
            continue
    return removed
