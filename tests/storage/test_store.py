"""The store contract, run against LocalStore and S3Store (moto over HTTP)."""

from __future__ import annotations

import hashlib
import io
import os
from datetime import UTC, datetime, timedelta

import pytest

from storage.local import LocalStore
from storage.s3 import S3Store
from storage.store import (
    PART_SIZE,
    InvalidKey,
    ObjectNotFound,
    Store,
    StoreUnavailable,
    open_store,
)


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path) -> Store:
    if request.param == "local":
        return open_store(f"file://{tmp_path / 'objects'}")
    url = request.getfixturevalue("s3_url")
    return open_store(url, create_bucket=True)


class Unsized(io.RawIOBase):
    """A stream that cannot tell its length (like a request body) and reads in small bits."""

    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._data.read(min(size, 65536) if size and size > 0 else 65536)


def read_all(store: Store, key: str, offset: int = 0, length: int | None = None) -> bytes:
    with store.get(key, offset, length) as stream:
        return b"".join(stream)


def test_open_store_by_url(tmp_path, s3_url):
    assert isinstance(open_store(f"file://{tmp_path}"), LocalStore)
    assert isinstance(open_store(s3_url, create_bucket=True), S3Store)
    with pytest.raises(ValueError):
        open_store("ftp://example/files")


def test_put_known_length_then_get_and_stat(store):
    data = os.urandom(100_000)
    info = store.put("clean/abc", io.BytesIO(data), len(data), "application/pdf")
    assert info.size == len(data)
    assert read_all(store, "clean/abc") == data
    stat = store.stat("clean/abc")
    assert stat.size == len(data)
    assert abs(stat.modified - datetime.now(UTC)) < timedelta(minutes=5)
    assert store.exists("clean/abc")


def test_put_unknown_length(store):
    data = os.urandom(300_000)
    store.put("quarantine/x1", Unsized(data))
    assert read_all(store, "quarantine/x1") == data


def test_put_replaces_whole_object(store):
    store.put("clean/k", io.BytesIO(b"first version"), 13)
    store.put("clean/k", io.BytesIO(b"second"), 6)
    assert read_all(store, "clean/k") == b"second"


def test_get_byte_range(store):
    data = bytes(range(256)) * 40
    store.put("clean/r", io.BytesIO(data), len(data))
    assert read_all(store, "clean/r", 100, 50) == data[100:150]
    assert read_all(store, "clean/r", 10_000) == data[10_000:]
    with store.get("clean/r", 5, 3) as stream:
        assert stream.length == 3
        assert stream.read() == data[5:8]


def test_missing_object(store):
    with pytest.raises(ObjectNotFound):
        store.stat("clean/missing")
    with pytest.raises(ObjectNotFound):
        store.get("clean/missing")
    assert not store.exists("clean/missing")
    assert store.touch("clean/missing") is False
    store.delete("clean/missing")  # no error


def test_delete(store):
    store.put("clean/d", io.BytesIO(b"x"), 1)
    store.delete("clean/d")
    assert not store.exists("clean/d")


def test_list_by_prefix_in_key_order(store):
    for key in ("clean/b", "clean/a", "quarantine/c", "other/d"):
        store.put(key, io.BytesIO(key.encode()), len(key))
    assert [i.key for i in store.list("clean/")] == ["clean/a", "clean/b"]
    assert [i.key for i in store.list("quarantine/")] == ["quarantine/c"]
    assert {i.key for i in store.list()} == {"clean/a", "clean/b", "quarantine/c", "other/d"}
    assert [i.size for i in store.list("clean/")] == [7, 7]


def test_copy_move_touch(store):
    store.put("quarantine/m", io.BytesIO(b"content"), 7, "text/plain")
    store.copy("quarantine/m", "clean/copy")
    store.move("quarantine/m", "clean/m")
    assert not store.exists("quarantine/m")
    assert read_all(store, "clean/m") == b"content"
    assert read_all(store, "clean/copy") == b"content"
    assert store.touch("clean/m") is True
    assert read_all(store, "clean/m") == b"content"


def test_keys_cannot_escape(store):
    for key in ("../etc/passwd", "/abs", "clean/../../x", "clean//x", "", "clean/ä", "a\0b"):
        with pytest.raises(InvalidKey):
            store.put(key, io.BytesIO(b"x"), 1)


def test_multipart_upload_of_unknown_length_beyond_part_size(store):
    size = 2 * PART_SIZE + 12_345
    block = os.urandom(1024 * 1024)
    data = (block * (size // len(block) + 1))[:size]
    store.put("clean/big", Unsized(data))
    assert store.stat("clean/big").size == size
    digest = hashlib.sha256()
    with store.get("clean/big") as stream:
        for chunk in stream:
            digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()


def test_short_stream_leaves_no_object(store):
    with pytest.raises(Exception):  # noqa: B017 - the backends raise their own I/O errors
        store.put("clean/short", io.BytesIO(b"only ten b"), 100)
    assert not store.exists("clean/short")


def test_ping(store):
    store.ping()


def test_presign(store):
    store.put("clean/p", io.BytesIO(b"x"), 1)
    url = store.presign("clean/p", 60, filename="Åtgärd.pdf", content_type="application/pdf")
    if isinstance(store, LocalStore):
        assert url is None
    else:
        assert url.startswith("http://") and "X-Amz-Signature" in url


def test_local_store_refuses_symlink_escape(tmp_path):
    store = LocalStore(tmp_path / "root")
    (tmp_path / "secret").write_text("secret")
    os.symlink(tmp_path / "secret", tmp_path / "root" / "link")
    with pytest.raises(ObjectNotFound):
        store.get("link")


def test_local_store_writes_atomically(tmp_path):
    store = LocalStore(tmp_path / "root")
    store.put("clean/a", io.BytesIO(b"x" * 10), 10)
    assert list((tmp_path / "root" / ".tmp").iterdir()) == []
    assert [i.key for i in store.list()] == ["clean/a"]


def test_s3_server_down_is_store_unavailable(s3_server, s3_url):
    store = open_store(s3_url, create_bucket=True)
    store.put("clean/a", io.BytesIO(b"x"), 1)
    s3_server.stop()
    try:
        with pytest.raises(StoreUnavailable):
            store.put("clean/b", io.BytesIO(b"y"), 1)
        with pytest.raises(StoreUnavailable):
            store.ping()
    finally:
        s3_server.start()
    assert read_all(store, "clean/a") == b"x"


def test_s3_missing_bucket_is_reported_not_created(s3_server):
    store = open_store(s3_server.url_for("no-such-bucket-here"))
    with pytest.raises(StoreUnavailable, match="does not exist"):
        store.ping()
