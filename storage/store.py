"""The object store interface and the choice of backend by URL.

Keys are short ASCII paths such as ``clean/<sha256>``; they never carry a
user's file name. Every backend streams: nothing here reads a whole object
into memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Protocol, runtime_checkable

# Large enough to keep request overhead low, small enough that a few parallel
# parts per upload stay well inside a worker's memory budget.
PART_SIZE = 8 * 1024 * 1024
CHUNK_SIZE = 256 * 1024

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


class StoreError(Exception):
    """Base class of object store failures."""


class ObjectNotFound(StoreError, KeyError):
    """No object under the key."""

    def __str__(self) -> str:
        return f"no object {self.args[0]!r}" if self.args else "no such object"


class StoreUnavailable(StoreError):
    """The backend cannot be reached or refused the operation (network, permissions, bucket)."""


class InvalidKey(StoreError, ValueError):
    """The key is not a plain relative path (``..``, absolute, odd characters)."""


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe object key, else raise :class:`InvalidKey`."""
    if not isinstance(key, str) or len(key) > 512 or not _KEY.match(key):
        raise InvalidKey(f"invalid object key {key!r}")
    if any(part in (".", "..") for part in key.split("/")):
        raise InvalidKey(f"invalid object key {key!r}")
    return key


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    modified: datetime
    content_type: str = "application/octet-stream"


class ObjectStream:
    """A readable object body, or a byte range of it. Always close it (or use ``with``).

    Iterating yields chunks of at most ``chunk_size`` bytes; a WSGI server that
    gets this as a response body closes it when the client is done or gone.
    """

    def __init__(self, raw, length: int, *, closer=None, chunk_size: int = CHUNK_SIZE):
        self._raw = raw
        self._closer = closer or raw.close
        self.length = length
        self.chunk_size = chunk_size
        self._remaining = length
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        if self.closed or self._remaining <= 0:
            return b""
        want = self._remaining if size is None or size < 0 else min(size, self._remaining)
        data = self._raw.read(want)
        self._remaining -= len(data)
        return data

    def __iter__(self) -> Iterator[bytes]:
        while True:
            chunk = self.read(self.chunk_size)
            if not chunk:
                return
            yield chunk

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._closer()

    def __enter__(self) -> ObjectStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@runtime_checkable
class Store(Protocol):
    """What the app needs of an object store."""

    def put(
        self,
        key: str,
        stream: BinaryIO,
        length: int = -1,
        content_type: str = "application/octet-stream",
    ) -> ObjectInfo:
        """Store ``stream`` under ``key`` (replacing it); ``length=-1`` when unknown.

        Readers see either the old object or the whole new one, never a part.
        """

    def get(self, key: str, offset: int = 0, length: int | None = None) -> ObjectStream:
        """Open the object, or ``length`` bytes of it from ``offset`` (which must lie inside
        the object). The caller closes it; :class:`ObjectNotFound` if missing."""

    def stat(self, key: str) -> ObjectInfo:
        """Size and time of the object; :class:`ObjectNotFound` if missing."""

    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""

    def delete(self, key: str) -> None:
        """Remove the object; removing a missing object is not an error."""

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """All objects whose key starts with ``prefix``, in key order."""

    def copy(self, source: str, target: str) -> None:
        """Copy an object inside the store (server-side where possible)."""

    def move(self, source: str, target: str) -> None:
        """Copy then delete the source."""

    def touch(self, key: str) -> bool:
        """Renew the object's modification time; False if there is no such object.

        Deduplication touches the object it reuses, so that ``reconcile --delete``
        (which removes only unreferenced objects older than a day) cannot remove
        it between the upload's check and its commit.
        """

    def presign(
        self, key: str, expires_seconds: int = 300, *, filename: str = "", content_type: str = ""
    ) -> str | None:
        """A time-limited direct download URL, or None where the backend has none."""

    def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless the store answers and is writable."""


class PartUpload(Protocol):
    """An object written part by part as its bytes arrive (an S3 multipart upload).

    Nothing is readable under ``key`` until :meth:`complete`; :meth:`abort` discards the
    parts sent. Every part but the last is at least 5 MiB.
    """

    key: str

    def add_part(self, data: bytes | memoryview) -> None:
        """Send the next part (``data`` is only read during the call)."""

    def complete(self) -> None:
        """Make the parts sent the object under ``key``."""

    def abort(self) -> None:
        """Discard the parts sent; nothing is stored."""


@runtime_checkable
class PartStore(Protocol):
    """A store that takes an object in parts while it is still arriving."""

    part_size: int

    def begin_upload(self, key: str, content_type: str = "application/octet-stream") -> PartUpload:
        """Begin writing ``key`` in parts of ``part_size`` bytes (the last one shorter)."""


def open_store(url: str, *, create_bucket: bool = False) -> Store:
    """Open the store described by ``url``.

    ``file:///abs/path`` gives a :class:`~storage.local.LocalStore`;
    ``s3://ACCESS:SECRET@host:port/bucket[/prefix]?secure=false&region=...`` gives an
    :class:`~storage.s3.S3Store`. ``create_bucket`` makes a missing bucket
    (development and tests only: in production the bucket, its policy and its
    lifecycle rules are provisioned, and the app must not invent them).
    """
    if url.startswith("file://"):
        from storage.local import LocalStore

        return LocalStore(url.removeprefix("file://"))
    if url.startswith("s3://"):
        from storage.s3 import S3Store

        return S3Store.from_url(url, create_bucket=create_bucket)
    raise ValueError(f"unsupported storage URL scheme: {url.split(':', 1)[0]!r}")
