"""A 300 MB upload and its download through gunicorn keep the worker under 150 MB RSS,
and so does the job worker that scans it.

The web worker is the real app (S3Store on moto, clamd on) in its own process, and so is
the job worker (SQLite broker); the body streams from a sparse file, so the test data
costs no disk or time. The web worker's peak is measured from its size just before the
request (its start-up peak, from argon2 hashing at import, is reported but is not the
upload's doing).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fixtures_jobs import WorkerProcess, wait_until
from tests.fixtures_services import free_port
from tests.storage.files import multipart_body, png_bytes

MIB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]
RSS_LIMIT_MIB = 150


@pytest.fixture
def worker(tmp_path, s3_url, clamd_url):
    port = free_port()
    config = {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'worker.sqlite'}",
        "STORAGE_URL": s3_url,
        "CLAMD_URL": clamd_url,
        "CLAMD_TIMEOUT": 120,
        "UPLOAD_TMP": str(tmp_path / "spool"),
        "MAX_UPLOAD_BYTES": 350 * MIB,
        "SMTP_URL": "",
        "JOBS_URL": f"sqlite:///{tmp_path / 'jobs.sqlite'}",
    }
    env = {
        **os.environ,
        "INSYN_TEST_CONFIG": json.dumps(config),
        "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "300",
            "tests.storage.worker_app:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    "gunicorn did not start:\n" + (tmp_path / "gunicorn.log").read_text()[-3000:]
                )
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        jobs = WorkerProcess(config, tmp_path / "jobs.log").start()
        try:
            yield port, jobs
        finally:
            jobs.stop()
    finally:
        process.terminate()
        process.wait(30)
        log.close()


def _peak_rss_mib(port: int, *, reset: bool = False) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("POST" if reset else "GET", "/_test/rss/reset" if reset else "/_test/rss")
    return json.loads(connection.getresponse().read())["max_rss_kib"] / 1024


def _released(port: int, attachment_id: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", f"/_test/files/{attachment_id}", headers={"Range": "bytes=0-0"})
    response = connection.getresponse()
    response.read()
    assert response.status in (206, 409), response.status
    return response.status == 206


def _job_worker_peak_mib(jobs: WorkerProcess) -> float:
    status = Path(f"/proc/{jobs.process.pid}/status").read_text()
    return (
        int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1])
        / 1024
    )


def test_300_mb_upload_and_download_stay_under_150_mb_rss(worker, tmp_path):
    worker, jobs = worker
    size = 300 * MIB
    head = png_bytes()
    body, content_type = multipart_body(tmp_path / "body", size, filename="karta.png")
    with open(body, "r+b") as handle:  # the file part starts with a real PNG header
        start = handle.read(4096).index(b"\r\n\r\n") + 4
        handle.seek(start)
        handle.write(head)
    expected = hashlib.sha256(head)
    zeros = bytes(MIB)
    remaining = size - len(head)
    while remaining:
        expected.update(zeros[: min(MIB, remaining)])
        remaining -= min(MIB, remaining)

    startup = _peak_rss_mib(worker)
    before = _peak_rss_mib(worker, reset=True)
    connection = http.client.HTTPConnection("127.0.0.1", worker, timeout=600)
    with open(body, "rb") as stream:
        connection.request(
            "POST",
            "/_test/upload",
            body=stream,
            headers={"Content-Type": content_type, "Content-Length": str(body.stat().st_size)},
        )
        response = connection.getresponse()
        result = json.loads(response.read())
    assert response.status == 201, result
    # Too large to wait for inline: the answer comes before the verdict.
    assert result["status"] == "pending_scan" and result["size"] == size
    assert result["sha256"] == expected.hexdigest()
    after_upload = _peak_rss_mib(worker)
    wait_until(lambda: _released(worker, result["id"]), 300, 0.5, "the job worker's verdict")
    scan_peak = _job_worker_peak_mib(jobs)

    _peak_rss_mib(worker, reset=True)
    connection = http.client.HTTPConnection("127.0.0.1", worker, timeout=600)
    connection.request("GET", f"/_test/files/{result['id']}")
    response = connection.getresponse()
    assert response.status == 200
    received = hashlib.sha256()
    while chunk := response.read(MIB):
        received.update(chunk)
    assert received.hexdigest() == expected.hexdigest()
    after_download = _peak_rss_mib(worker)
    print(
        f"worker RSS: start-up peak {startup:.0f} MiB, before upload {before:.0f} MiB, "
        f"upload peak {after_upload:.0f} MiB, download peak {after_download:.0f} MiB; "
        f"job worker peak {scan_peak:.0f} MiB"
    )
    assert scan_peak < RSS_LIMIT_MIB, f"peak RSS of the job worker's scan {scan_peak:.0f} MiB"
    assert after_upload < RSS_LIMIT_MIB, f"peak RSS during the upload {after_upload:.0f} MiB"
    assert after_download < RSS_LIMIT_MIB, f"peak RSS during the download {after_download:.0f} MiB"
