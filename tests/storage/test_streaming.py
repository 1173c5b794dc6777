"""Uploads sent to S3 while the request is read (issue 13's request time): each file part
of an upload request goes, part by part, to ``quarantine/<upload id>`` while the rest
arrives; the row keeps that key, the scan job releases it to ``clean/<sha256>``. A file
refused, or a request that fails, leaves no object and no unfinished multipart upload.

Real request class, real clamd, S3 on moto; S3 itself is watched with boto3."""

from __future__ import annotations

import hashlib
import io
import re
import time
from collections.abc import Callable
from datetime import timedelta

import boto3
import pytest
from flask import request

from portal.attachments import finish_releases, reconcile, rescan
from portal.extensions import csrf, db
from portal.models import Attachment, ScanStatus
from portal.models.base import utcnow
from storage import current_store, takes_files
from storage.store import PART_SIZE
from tests.fixtures_services import S3Service
from tests.storage.conftest import attachment_count, spool_files, stored_keys, upload_view
from tests.storage.files import EICAR

BOUNDARY = "insyn-stream-boundary"
OWN_KEY = re.compile(r"quarantine/[0-9a-f]{32}")


@pytest.fixture
def backend() -> str:
    return "s3"


@pytest.fixture
def s3(s3_server):
    """boto3 on the same S3 server: what is stored, seen from outside the app."""
    return boto3.client(
        "s3",
        endpoint_url=f"http://{s3_server.endpoint}",
        aws_access_key_id=S3Service.ACCESS_KEY,
        aws_secret_access_key=S3Service.SECRET_KEY,
        region_name="us-east-1",
    )


class Body(io.BytesIO):
    """A request body that runs ``hook`` once the server has read ``at`` bytes of it."""

    def __init__(self, data: bytes, at: int, hook: Callable[[], None]):
        super().__init__(data)
        self.at, self.hook = at, hook

    def _after_read(self) -> None:
        if self.hook is not None and self.tell() >= self.at:
            hook, self.hook = self.hook, None
            hook()

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self._after_read()
        return data

    def readinto(self, buffer) -> int:
        count = super().readinto(buffer)
        self._after_read()
        return count


def text(size: int, line: bytes = b"Kvalitetsarbete i hemtjansten.\n") -> bytes:
    return (line * (size // len(line) + 1))[:size]


def multipart(data: bytes, name: str, *, before: dict | None = None, after: dict | None = None):
    """A multipart/form-data body: fields ``before``, the file part, fields ``after``."""

    def fields(values: dict | None) -> bytes:
        return b"".join(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
            for k, v in (values or {}).items()
        )

    head = (
        fields(before)
        + (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
    )
    return head + data + b"\r\n" + fields(after) + f"--{BOUNDARY}--\r\n".encode(), len(head)


def in_progress(s3, bucket: str) -> list[tuple[str, str, int]]:
    """The multipart uploads S3 holds: (key, upload id, parts stored)."""
    found = []
    for upload in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        parts = s3.list_parts(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        found.append((upload["Key"], upload["UploadId"], len(parts.get("Parts", []))))
    return found


def wait_for_a_part(s3, bucket: str) -> tuple[str, str, int]:
    """The upload in progress once S3 holds one of its parts (the body still being read)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if (found := in_progress(s3, bucket)) and found[0][2] > 0:
            return found[0]
        time.sleep(0.02)
    pytest.fail("no part reached S3 while the request was read")


def post(client, body: Body, url: str = "/_test/upload", **kwargs):
    return client.post(
        url,
        input_stream=body,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        content_length=len(body.getvalue()),
        headers={"Accept": "application/json"},
        **kwargs,
    )


def nothing_left(app) -> None:
    assert stored_keys() == []
    assert current_store().incomplete_uploads() == []
    assert attachment_count() == 0
    assert spool_files(app) == []


def test_parts_reach_s3_while_the_request_is_read_and_the_scan_releases_them(app, client, s3):
    data = text(4 * PART_SIZE + 12345)
    bucket = current_store().bucket
    seen = []
    body, head = multipart(data, "kvalitet.txt")
    response = post(
        client, Body(body, head + 3 * PART_SIZE, lambda: seen.append(wait_for_a_part(s3, bucket)))
    )
    assert response.status_code == 201, response.json
    ((key, _upload_id, parts),) = seen
    assert OWN_KEY.fullmatch(key) and parts >= 1
    row = db.session.get(Attachment, response.json["id"])
    assert row.quarantine_key == key  # the row says where its bytes waited
    assert row.sha256 == hashlib.sha256(data).hexdigest() and row.size == len(data)
    # The scan ran at the commit and released it: one clean copy, the quarantined one gone.
    assert row.scan_status is ScanStatus.CLEAN
    assert stored_keys() == [f"clean/{row.sha256}"]
    assert current_store().incomplete_uploads() == []
    with current_store().get(f"clean/{row.sha256}") as stream:
        assert hashlib.sha256(b"".join(stream)).hexdigest() == row.sha256
    assert client.get(f"/_test/files/{row.id}").data == data


def test_two_pending_uploads_of_one_content_are_released_to_one_clean_copy(
    app, client, clamd_service
):
    data = text(2 * PART_SIZE + 1)
    clamd_service.stop()
    try:
        answers = [post(client, Body(*multipart(data, f"plan-{n}.txt"), None)) for n in (1, 2)]
    finally:
        clamd_service.start()
    assert [a.status_code for a in answers] == [201, 201]
    keys = [a.json["key"] for a in answers]
    assert all(OWN_KEY.fullmatch(k) for k in keys) and keys[0] != keys[1]
    assert stored_keys() == sorted(keys)
    rows = [db.session.get(Attachment, a.json["id"]) for a in answers]
    assert [r.quarantine_key for r in rows] == keys

    report = rescan()
    assert report.released == 1 and report.attachments_released == 2
    assert stored_keys() == [f"clean/{rows[0].sha256}"]
    db.session.expire_all()
    assert all(r.scan_status is ScanStatus.CLEAN for r in rows)


def add_routes(app) -> None:
    """Three more upload routes: one that checks CSRF (the storage routes do not), one that
    finds a form error in a field after the file part, and one that fails."""

    def checked_form():
        if request.form.get("slot") != "bilaga":
            return {"error": "slot"}, 400  # the file is never taken
        return upload_view()

    def csrf_checked():  # upload_view itself is exempt (by name) in the storage tests
        return upload_view()

    def failing():
        request.files["file"]  # noqa: B018 - the body is read, the file spooled
        raise RuntimeError("the view failed")

    app.add_url_rule(
        "/_test/upload-csrf", "test_upload_csrf", takes_files(csrf_checked), methods=["POST"]
    )
    app.add_url_rule(
        "/_test/upload-form",
        "test_upload_form",
        takes_files(csrf.exempt(checked_form)),
        methods=["POST"],
    )
    app.add_url_rule(
        "/_test/upload-fails",
        "test_upload_fails",
        takes_files(csrf.exempt(failing)),
        methods=["POST"],
    )


@pytest.mark.parametrize(
    "case", ["refused type", "too large", "csrf failure", "form error after the file", "exception"]
)
def test_a_file_not_taken_leaves_no_object_and_no_unfinished_upload(case, configure, s3):
    app = configure(**({"MAX_UPLOAD_BYTES": 3 * PART_SIZE} if case == "too large" else {}))
    add_routes(app)
    client = app.test_client()
    data = (b"MZ" + bytes(5 * PART_SIZE)) if case == "refused type" else text(4 * PART_SIZE)
    url = {
        "csrf failure": "/_test/upload-csrf",
        "form error after the file": "/_test/upload-form",
        "exception": "/_test/upload-fails",
    }.get(case, "/_test/upload")
    fields = {"before": {"csrf_token": "forged"}} if case == "csrf failure" else {}
    if case == "form error after the file":
        fields = {"after": {"slot": "fel"}}
    body, head = multipart(data, "faktura.pdf" if case == "refused type" else "a.txt", **fields)
    bucket = current_store().bucket
    seen = []
    hook = lambda: seen.append(wait_for_a_part(s3, bucket))  # noqa: E731
    stream = Body(body, head + 2 * PART_SIZE + 1, hook)
    if case == "exception":
        with pytest.raises(RuntimeError, match="the view failed"):
            post(client, stream, url)
    else:
        response = post(client, stream, url)
        expected = {"refused type": 415, "too large": 413, "csrf failure": 400}
        assert response.status_code == expected.get(case, 400), response.get_data(True)[:300]
    assert seen and seen[0][2] >= 1  # the upload was under way when the file was refused
    nothing_left(app)


def test_s3_failing_in_the_middle_of_the_stream_is_503_and_nothing_is_kept(app, client, s3):
    bucket = current_store().bucket

    def abort_it_from_outside():  # S3 loses the upload: the next part is refused
        key, upload_id, _parts = wait_for_a_part(s3, bucket)
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)

    body, head = multipart(text(5 * PART_SIZE), "plan.txt")
    response = post(client, Body(body, head + 2 * PART_SIZE + 1, abort_it_from_outside))
    assert response.status_code == 503
    assert response.json["code"] == "store_unavailable"
    assert "Inget har sparats" in response.json["error"]
    nothing_left(app)


def test_an_infected_file_with_a_key_of_its_own_is_removed(app, client, clamd_service):
    data = EICAR + b"\n" + text(2 * PART_SIZE)
    clamd_service.stop()
    try:
        answer = post(client, Body(*multipart(data, "eicar.txt"), None))
    finally:
        clamd_service.start()
    assert answer.status_code == 201 and OWN_KEY.fullmatch(answer.json["key"])
    assert stored_keys() == [answer.json["key"]]
    assert [i["attachments"] for i in rescan().infected] == [[answer.json["id"]]]
    row = db.session.get(Attachment, answer.json["id"])
    db.session.refresh(row)
    assert row.scan_status is ScanStatus.INFECTED and row.quarantine_key == answer.json["key"]
    assert stored_keys() == []


def test_a_legacy_row_and_a_streamed_upload_of_the_same_content(app, client, clamd_service):
    """A row from before per-upload keys (NULL, bytes under ``quarantine/<sha256>``) is still
    scanned and released, together with a pending upload of the same content."""
    data = text(PART_SIZE + 5)
    sha256 = hashlib.sha256(data).hexdigest()
    store = current_store()
    store.put(f"quarantine/{sha256}", io.BytesIO(data), len(data))
    legacy = Attachment(
        sha256=sha256,
        size=len(data),
        content_type="text/plain",
        display_name="gammal.txt",
        scan_status=ScanStatus.PENDING_SCAN,
        scan_next_at=utcnow(),
    )
    db.session.add(legacy)
    db.session.commit()
    # Content already waiting under quarantine/<sha256>: the new upload shares that copy.
    clamd_service.stop()
    try:
        shared = post(client, Body(*multipart(data, "samma.txt"), None)).json
    finally:
        clamd_service.start()
    assert shared["key"] == f"quarantine/{sha256}"
    assert db.session.get(Attachment, shared["id"]).quarantine_key is None
    assert store.incomplete_uploads() == []

    report = rescan()
    assert report.released == 1 and report.attachments_released == 2
    assert stored_keys() == [f"clean/{sha256}"]
    db.session.refresh(legacy)
    assert legacy.scan_status is ScanStatus.CLEAN


def test_the_sweep_finishes_a_release_of_a_key_of_its_own(app, client, clamd_service):
    """A clean row whose object is still under its own quarantined key (a scan run killed
    between its commit and the copy): served from there, moved by the sweep."""
    data = text(PART_SIZE + 7)
    clamd_service.stop()
    try:
        answer = post(client, Body(*multipart(data, "plan.txt"), None)).json
    finally:
        clamd_service.start()
    row = db.session.get(Attachment, answer["id"])
    row.scan_status, row.scanned_at = ScanStatus.CLEAN, utcnow()
    db.session.commit()
    assert client.get(f"/_test/files/{row.id}").data == data
    assert finish_releases() == 1
    assert stored_keys() == [f"clean/{row.sha256}"]
    assert client.get(f"/_test/files/{row.id}").data == data


def test_reconcile_knows_keys_of_their_own_and_aborts_what_a_killed_worker_left(app, s3):
    store = current_store()
    # A worker killed in the middle of a request: parts sent, never completed nor aborted.
    killed = store.begin_upload("quarantine/" + "a" * 32)
    killed.add_part(text(PART_SIZE))
    # A worker killed after completing, before its row was committed: an orphan.
    store.put("quarantine/" + "b" * 32, io.BytesIO(b"orphan"), 6)

    report = reconcile()
    assert report.orphan_objects == ["quarantine/" + "b" * 32]
    assert [key for key, _begun in report.incomplete_uploads] == ["quarantine/" + "a" * 32]
    # moto dates every multipart upload in 2010: old enough to abort; the orphan is too young.
    first = reconcile(delete=True)
    assert first.aborted_uploads == ["quarantine/" + "a" * 32] and first.deleted == []
    assert store.incomplete_uploads() == []
    assert reconcile(delete=True, min_age=timedelta(0)).deleted == ["quarantine/" + "b" * 32]
    assert stored_keys() == []
