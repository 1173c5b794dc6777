"""Only a signed-in user's CSRF-valid post to a page that takes files may send a large body
(issue 10, item 8): everything else is held to the small form limit before anything is
read, so nobody can make the server spool a gigabyte before login and CSRF are checked."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest

from tests.security.conftest import client_for

MIB = 1024 * 1024
BODY = 5 * MIB  # over the 1 MiB form limit, under the 200 MB upload limit
BOUNDARY = "insyn-gate-boundary"


class CountingStream(io.RawIOBase):
    """A request body that counts how much of it the server read."""

    def __init__(self, path: Path):
        self._file = open(path, "rb")  # noqa: SIM115 - closed with the stream
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._file.tell()

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def readinto(self, buffer) -> int:
        n = self._file.readinto(buffer)
        self.read_bytes += n
        return n

    def close(self) -> None:
        self._file.close()
        super().close()


def _body(tmp_path: Path, fields: dict[str, str], file_field: str = "file") -> Path:
    """A multipart body with ``fields`` first, then one file part of zero bytes (sparse)."""
    path = tmp_path / "body"
    head = (
        b"".join(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
            for k, v in fields.items()
        )
        + (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{file_field}"; '
            f'filename="stor.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
        ).encode()
    )
    with open(path, "wb") as handle:
        handle.write(head)
        handle.truncate(len(head) + BODY)
        handle.seek(0, os.SEEK_END)
        handle.write(f"\r\n--{BOUNDARY}--\r\n".encode())
    return path


def _post(client, url: str, body: Path, *, chunked: bool):
    stream = CountingStream(body)
    kwargs = {
        "input_stream": stream,
        "content_type": f"multipart/form-data; boundary={BOUNDARY}",
    }
    if chunked:
        kwargs["headers"] = {"Transfer-Encoding": "chunked"}
        kwargs["environ_overrides"] = {"wsgi.input_terminated": True}
    else:
        kwargs["content_length"] = body.stat().st_size
    response = client.open(url, method="POST", **kwargs)
    stream.close()
    return response, stream.read_bytes


def _spool(app) -> list[str]:
    folder = Path(app.config["UPLOAD_TMP"])
    return os.listdir(folder) if folder.exists() else []


def _upload_urls(world) -> list[str]:
    own = world.own
    return [
        f"/utforare/arenden/{own['draft_id']}/svar",
        "/utforare/avvikelser/ny",
        "/utforare/atgardsplaner/ny",
        f"/handlaggare/publicering/{own['approved_id']}/bilagor/"
        f"{_original(own['approved_id'])}/maskad",
    ]


def _original(submission_id: int) -> int:
    from portal.extensions import db
    from portal.models import Submission

    return db.session.get(Submission, submission_id).submitted_versions[0].attachments[0].id


def _refused(app, response, read: int) -> None:
    assert response.status_code == 413, response.get_data(as_text=True)[:300]
    assert read <= 2 * MIB, f"{read} bytes read before refusing"
    assert _spool(app) == []


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_anonymous_posts_to_upload_pages_are_refused_before_reading(app, world, tmp_path, chunked):
    client = app.test_client()
    token = client.csrf_token()
    body = _body(tmp_path, {"csrf_token": token})
    for url in _upload_urls(world):
        for address in (url, f"{url}?upload_token={token}"):
            response, read = _post(client, address, body, chunked=chunked)
            _refused(app, response, read)


@pytest.mark.parametrize(
    "token_of",
    ["none", "empty", "garbage", "other session", "form body only"],
)
def test_signed_in_posts_without_the_pages_upload_token_are_refused(app, world, tmp_path, token_of):
    provider = client_for(app, world, "user_a")
    token = provider.csrf_token()
    other = client_for(app, world, "admin_a").csrf_token()
    query = {
        "none": "",
        "empty": "?upload_token=",
        "garbage": "?upload_token=ImFiYyI.Zm9v.YmFy",
        "other session": f"?upload_token={other}",
        "form body only": "?csrf_token=" + token,
    }[token_of]
    body = _body(tmp_path, {"csrf_token": token, "action": "save"})
    url = f"/utforare/arenden/{world.own['draft_id']}/svar{query}"
    response, read = _post(provider, url, body, chunked=False)
    _refused(app, response, read)
    assert "inte inloggad längre" in response.get_data(as_text=True)


def test_an_expired_session_may_not_upload(app, world, tmp_path):
    provider = client_for(app, world, "user_a")
    token = provider.csrf_token()
    with provider.session_transaction() as session:
        session["seen_at"] = int(time.time()) - 24 * 3600
    body = _body(tmp_path, {"csrf_token": token})
    url = f"/utforare/arenden/{world.own['draft_id']}/svar?upload_token={token}"
    response, read = _post(provider, url, body, chunked=False)
    _refused(app, response, read)


@pytest.mark.parametrize("path", ["/logga-in", "/utforare/organisation/bjud-in", "/sprak/en"])
def test_pages_that_take_no_files_keep_the_small_limit(app, world, tmp_path, path):
    provider = client_for(app, world, "admin_a")
    token = provider.csrf_token()
    body = _body(tmp_path, {"csrf_token": token})
    response, read = _post(provider, f"{path}?upload_token={token}", body, chunked=False)
    _refused(app, response, read)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_the_signed_in_provider_with_the_pages_token_may_upload(app, world, tmp_path, chunked):
    provider = client_for(app, world, "user_a")
    page = provider.get(f"/utforare/arenden/{world.own['draft_id']}/svar")
    html = page.get_data(as_text=True)
    assert "upload_token=" in html  # the form's address carries it
    token = provider.csrf_token()
    from portal.extensions import db
    from portal.models import Submission

    submission = db.session.get(Submission, world.own["draft_id"])
    file_key = next(f.key for f in submission.request.fields if f.type.value == "file")
    body = _body(
        tmp_path,
        {"csrf_token": token, "action": "save", "lock_version": str(submission.lock_version)},
        file_field=file_key,
    )
    url = f"/utforare/arenden/{world.own['draft_id']}/svar?upload_token={token}"
    response, read = _post(provider, url, body, chunked=chunked)
    assert response.status_code != 413
    assert read > BODY  # the whole body was read, and judged on its content
    # Five MiB of zero bytes is no PDF: refused by type, with the form shown again.
    assert "PDF" in response.get_data(as_text=True) or response.status_code in (200, 303, 422)
