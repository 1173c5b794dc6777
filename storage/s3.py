"""Object store on any S3 (MinIO, AWS, Ceph) through the minio SDK.

This is the only module of the app that imports ``minio``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import BinaryIO
from urllib.parse import parse_qs, unquote, urlsplit

import urllib3
from minio import Minio
from minio.commonconfig import ENABLED, REPLACE, CopySource, Filter
from minio.datatypes import Part
from minio.error import MinioException, S3Error
from minio.lifecycleconfig import AbortIncompleteMultipartUpload, LifecycleConfig, Rule

from storage.store import (
    PART_SIZE,
    InvalidKey,
    ObjectInfo,
    ObjectNotFound,
    ObjectStream,
    StoreError,
    StoreUnavailable,
    check_key,
)

log = logging.getLogger(__name__)

_MISSING = {"NoSuchKey", "NoSuchObject", "ResourceNotFound"}
# A lost connection is an outage, not a missing object; retry briefly, then say so.
_TRANSPORT_ERRORS = (urllib3.exceptions.HTTPError, OSError)


def _http_client(connect_timeout: float, read_timeout: float) -> urllib3.PoolManager:
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
        maxsize=10,
        retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
    )


class S3Store:
    """Objects in one bucket (optionally under a key prefix).

    Objects larger than ``part_size`` (and all of unknown length) go as multipart
    uploads; each part is held in memory while it is sent, ``parallel`` at a
    time, so a worker needs about ``part_size * (parallel + 1)`` per concurrent
    upload. One part at a time is the default: measured under gunicorn, two
    parallel parts cost a 300 MB upload 16 MiB more peak RSS; raise it
    (``?parallel=3``) for a distant S3, where round trips dominate.
    :meth:`begin_upload` writes an object part by part as it arrives (an upload
    request's file, see :mod:`storage.spool`), one part in flight whatever ``parallel``
    says: the parts overlap the request instead.
    minio aborts the multipart upload when a part fails; a lifecycle rule
    (set here when the bucket is created, to be provisioned in production)
    cleans up what a crashed worker leaves.
    """

    def __init__(
        self,
        client: Minio,
        bucket: str,
        *,
        prefix: str = "",
        part_size: int = PART_SIZE,
        parallel: int = 1,
    ):
        if not 5 * 1024 * 1024 <= part_size <= 64 * 1024 * 1024:
            raise ValueError("part_size must be between 5 and 64 MiB")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.part_size = part_size
        self.parallel = parallel

    @classmethod
    def from_url(cls, url: str, *, create_bucket: bool = False) -> S3Store:
        """``s3://ACCESS:SECRET@host:port/bucket[/prefix]?secure=false&region=eu-north-1``.

        Percent-encode ``/``, ``+`` or ``@`` in the secret. Query options:
        ``secure`` (default true), ``region`` (default us-east-1),
        ``part_size_mb`` (default 8), ``parallel`` (parts sent at once, default 1),
        ``timeout`` (read timeout, seconds, default 120).
        """
        parts = urlsplit(url)
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        path = parts.path.strip("/")
        if not parts.hostname or not path:
            raise ValueError(
                "S3 storage URL needs a host and a bucket: s3://KEY:SECRET@host/bucket"
            )
        bucket, _, prefix = path.partition("/")
        endpoint = parts.hostname + (f":{parts.port}" if parts.port else "")
        secure = options.get("secure", "true").lower() not in ("false", "0", "no")
        client = Minio(
            endpoint,
            access_key=unquote(parts.username or "") or None,
            secret_key=unquote(parts.password or "") or None,
            secure=secure,
            region=options.get("region", "us-east-1"),
            http_client=_http_client(10, float(options.get("timeout", "120"))),
        )
        store = cls(
            client,
            bucket,
            prefix=prefix,
            part_size=int(options.get("part_size_mb", "8")) * 1024 * 1024,
            parallel=int(options.get("parallel", "1")),
        )
        if create_bucket:
            store.create_bucket()
        return store

    def __repr__(self) -> str:
        return f"S3Store(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _call(self, key: str | None, action, *args, **kwargs):
        """Run a minio call, mapping its errors to the store's."""
        try:
            return action(*args, **kwargs)
        except S3Error as exc:
            if exc.code in _MISSING and key is not None:
                raise ObjectNotFound(key) from None
            raise StoreUnavailable(f"S3 {exc.code}: {exc.message}") from exc
        except (MinioException, *_TRANSPORT_ERRORS) as exc:
            raise StoreUnavailable(f"S3 server unreachable: {exc}") from exc

    def create_bucket(self) -> None:
        """Make the bucket if missing, with a rule that aborts stale multipart uploads."""
        if self._call(None, self.client.bucket_exists, self.bucket):
            return
        self._call(None, self.client.make_bucket, self.bucket)
        rule = Rule(
            ENABLED,
            rule_filter=Filter(prefix=""),
            rule_id="abort-incomplete-uploads",
            abort_incomplete_multipart_upload=AbortIncompleteMultipartUpload(1),
        )
        try:
            self._call(None, self.client.set_bucket_lifecycle, self.bucket, LifecycleConfig([rule]))
        except StoreError as exc:  # some S3 servers have no lifecycle support
            log.warning("could not set the lifecycle rule on %s: %s", self.bucket, exc)

    def put(
        self,
        key: str,
        stream: BinaryIO,
        length: int = -1,
        content_type: str = "application/octet-stream",
    ) -> ObjectInfo:
        name = self._name(key)
        self._call(
            key,
            self.client.put_object,
            self.bucket,
            name,
            stream,
            length,
            content_type=content_type,
            part_size=self.part_size,
            num_parallel_uploads=self.parallel,
        )
        return self.stat(key)

    def get(self, key: str, offset: int = 0, length: int | None = None) -> ObjectStream:
        name = self._name(key)
        if length is not None and length <= 0:
            return ObjectStream(_Empty(), 0)
        response = self._call(
            key,
            self.client.get_object,
            self.bucket,
            name,
            offset=max(offset, 0),
            length=length or 0,
        )
        size = int(response.headers.get("Content-Length", "0"))

        def release() -> None:
            response.close()
            response.release_conn()

        return ObjectStream(response, size, closer=release)

    def stat(self, key: str) -> ObjectInfo:
        result = self._call(key, self.client.stat_object, self.bucket, self._name(key))
        return ObjectInfo(
            key=key,
            size=result.size,
            modified=_utc(result.last_modified),
            content_type=result.content_type or "application/octet-stream",
        )

    def exists(self, key: str) -> bool:
        try:
            self.stat(key)
        except ObjectNotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        self._call(key, self.client.remove_object, self.bucket, self._name(key))

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        listing = self._call(
            None, self.client.list_objects, self.bucket, prefix=self.prefix + prefix, recursive=True
        )
        iterator = iter(listing)
        while True:
            item = self._call(None, next, iterator, None)
            if item is None:
                return
            key = item.object_name[len(self.prefix) :]
            try:
                check_key(key)
            except InvalidKey:
                continue  # not written by this app
            yield ObjectInfo(key=key, size=item.size or 0, modified=_utc(item.last_modified))

    def copy(self, source: str, target: str) -> None:
        self._call(
            source,
            self.client.copy_object,
            self.bucket,
            self._name(target),
            CopySource(self.bucket, self._name(source)),
        )

    def move(self, source: str, target: str) -> None:
        self.copy(source, target)
        self.delete(source)

    def touch(self, key: str) -> bool:
        try:
            info = self.stat(key)
            # A copy onto itself must change something: replace the metadata with the same.
            self._call(
                key,
                self.client.copy_object,
                self.bucket,
                self._name(key),
                CopySource(self.bucket, self._name(key)),
                metadata={"Content-Type": info.content_type},
                metadata_directive=REPLACE,
            )
        except ObjectNotFound:
            return False
        return True

    def presign(
        self, key: str, expires_seconds: int = 300, *, filename: str = "", content_type: str = ""
    ) -> str | None:
        headers = {}
        if filename:
            from storage.downloads import content_disposition

            headers["response-content-disposition"] = content_disposition("attachment", filename)
        if content_type:
            headers["response-content-type"] = content_type
        return self._call(
            key,
            self.client.presigned_get_object,
            self.bucket,
            self._name(key),
            expires=timedelta(seconds=expires_seconds),
            response_headers=headers or None,
        )

    def incomplete_uploads(self) -> list[tuple[str, str, datetime]]:
        """Multipart uploads begun and neither completed nor aborted (the first 1000), as
        (key, upload id, begun). minio's own abort of a failed put cannot reach a server
        that went away during it; reconcile aborts these later."""
        result = self._call(
            None, self.client._list_multipart_uploads, self.bucket, prefix=self.prefix
        )
        return [
            (upload.object_name[len(self.prefix) :], upload.upload_id, _utc(upload.initiated_time))
            for upload in result.uploads
        ]

    def abort_upload(self, key: str, upload_id: str) -> None:
        self._call(
            key, self.client._abort_multipart_upload, self.bucket, self._name(key), upload_id
        )

    def ping(self) -> None:
        if not self._call(None, self.client.bucket_exists, self.bucket):
            raise StoreUnavailable(f"bucket {self.bucket!r} does not exist")

    def begin_upload(
        self, key: str, content_type: str = "application/octet-stream"
    ) -> S3PartUpload:
        """Begin a multipart upload of ``key``, its parts to come (see :class:`S3PartUpload`)."""
        name = self._name(key)
        upload_id = self._call(
            None,
            self.client._create_multipart_upload,
            self.bucket,
            name,
            {"Content-Type": content_type},
        )
        return S3PartUpload(self, key, upload_id)


class S3PartUpload:
    """One multipart upload, its parts sent in order by one thread at a time."""

    def __init__(self, store: S3Store, key: str, upload_id: str):
        self.store, self.key, self.upload_id = store, key, upload_id
        self._parts: list[Part] = []

    def add_part(self, data: bytes | memoryview) -> None:
        store, number = self.store, len(self._parts) + 1
        etag = store._call(
            None,
            store.client._upload_part,
            store.bucket,
            store._name(self.key),
            data,
            None,
            self.upload_id,
            number,
        )
        self._parts.append(Part(number, etag))

    def complete(self) -> None:
        if not self._parts:
            self.add_part(b"")
        store = self.store
        store._call(
            None,
            store.client._complete_multipart_upload,
            store.bucket,
            store._name(self.key),
            self.upload_id,
            self._parts,
        )

    def abort(self) -> None:
        self.store.abort_upload(self.key, self.upload_id)


class _Empty:
    def read(self, size: int = -1) -> bytes:
        return b""

    def close(self) -> None:
        pass


def _utc(value: datetime | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
