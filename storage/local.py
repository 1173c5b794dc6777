"""Object store on a local folder: the embedded default."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from stat import S_ISREG
from typing import BinaryIO

from storage.store import CHUNK_SIZE, ObjectInfo, ObjectNotFound, ObjectStream, StoreUnavailable
from storage.store import check_key as _check_key

_TMP = ".tmp"  # partial writes live here, on the same file system, then are renamed in


class LocalStore:
    """Objects as files under ``root``; writes are atomic (temporary file, fsync, rename)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()
        (self.root / _TMP).mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        _check_key(key)
        if key.split("/", 1)[0] == _TMP:
            raise ObjectNotFound(key)
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise ObjectNotFound(key)
        return path

    @staticmethod
    def _info(key: str, st: os.stat_result) -> ObjectInfo:
        modified = datetime.fromtimestamp(st.st_mtime, UTC)
        return ObjectInfo(key=key, size=st.st_size, modified=modified)

    def put(
        self,
        key: str,
        stream: BinaryIO,
        length: int = -1,
        content_type: str = "application/octet-stream",
    ) -> ObjectInfo:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=self.root / _TMP, prefix="put-")
        try:
            with os.fdopen(fd, "wb") as out:
                copied = _copy(stream, out, length)
                out.flush()
                os.fsync(out.fileno())
            if length >= 0 and copied != length:
                raise OSError(f"stream ended after {copied} of {length} bytes")
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)
        return self._info(key, path.stat())

    def get(self, key: str, offset: int = 0, length: int | None = None) -> ObjectStream:
        path = self._path(key)
        try:
            handle = path.open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None
        size = os.fstat(handle.fileno()).st_size
        offset = min(max(offset, 0), size)
        available = size - offset
        handle.seek(offset)
        return ObjectStream(handle, available if length is None else min(length, available))

    def stat(self, key: str) -> ObjectInfo:
        try:
            st = self._path(key).stat()
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectNotFound(key) from None
        if not S_ISREG(st.st_mode):
            raise ObjectNotFound(key)
        return self._info(key, st)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        found = []
        for directory, dirnames, filenames in os.walk(self.root):
            rel_dir = os.path.relpath(directory, self.root)
            if rel_dir == ".":
                dirnames[:] = [d for d in dirnames if d != _TMP]
                rel_dir = ""
            for name in filenames:
                key = f"{rel_dir}/{name}" if rel_dir else name
                if key.startswith(prefix):
                    found.append(key)
        for key in sorted(found):
            try:
                yield self._info(key, (self.root / key).stat())
            except FileNotFoundError:
                continue  # deleted while listing

    def copy(self, source: str, target: str) -> None:
        with self.get(source) as stream:
            self.put(target, stream, stream.length)

    def move(self, source: str, target: str) -> None:
        src, dst = self._path(source), self._path(target)
        if not src.is_file():
            raise ObjectNotFound(source)
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dst)
        _fsync_dir(dst.parent)

    def touch(self, key: str) -> bool:
        try:
            os.utime(self._path(key))
        except FileNotFoundError:
            return False
        return True

    def presign(
        self, key: str, expires_seconds: int = 300, *, filename: str = "", content_type: str = ""
    ) -> str | None:
        return None

    def ping(self) -> None:
        probe = self.root / _TMP
        if not probe.is_dir() or not os.access(probe, os.W_OK):
            raise StoreUnavailable(f"{self.root} is not a writable folder")


def _copy(source: BinaryIO, target, length: int) -> int:
    """Copy at most ``length`` bytes (all when negative), chunk by chunk."""
    copied = 0
    while length < 0 or copied < length:
        want = CHUNK_SIZE * 4 if length < 0 else min(CHUNK_SIZE * 4, length - copied)
        chunk = source.read(want)
        if not chunk:
            break
        target.write(chunk)
        copied += len(chunk)
    return copied


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
