"""Upload and download of one large file: through the app vs. directly with the minio SDK.

    .venv/bin/python bench/upload.py [--size-mib 1024] [--s3-url s3://KEY:SECRET@host:port/bucket?secure=false]

Starts clamd (the test configuration, limits raised to fit the file), an S3
server (``moto_server`` in its own process, unless ``--s3-url`` names one, e.g.
MinIO from docker-compose) and gunicorn with ``bench/upload_app.py`` (the real
app and pipeline; see that file). Then, in one run:

* upload: the file as multipart/form-data to the app (spool + sha256, clamd
  INSTREAM, type check, S3Store put, row commit) vs. ``put_object`` of the same
  file with the same part size;
* download: the object through the app (``send_attachment``) vs. ``get_object``;
* for reference, the same file through clamd INSTREAM alone (after a clamd
  restart, which empties its cache of clean results).

Prints both times, the ratios (direct time / app time, so 1.0 = as fast as
direct) and the app worker's peak RSS during each request. The file is a PNG
header followed by random bytes (incompressible; typed as PNG by the sniffer).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from minio import Minio  # noqa: E402 - the benchmark's own direct client

from storage.scan import Scanner  # noqa: E402
from storage.store import PART_SIZE, open_store  # noqa: E402
from tests.fixtures_services import ClamdService, S3Service, free_port  # noqa: E402

MIB = 1024 * 1024
BOUNDARY = "insyn-bench-boundary"
PNG_HEAD = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de")


def make_file(path: Path, size: int) -> None:
    with open(path, "wb") as handle:
        handle.write(PNG_HEAD)
        remaining = size - len(PNG_HEAD)
        while remaining:
            block = os.urandom(min(8 * MIB, remaining))
            handle.write(block)
            remaining -= len(block)


def start_moto(workdir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = open(workdir / "moto.log", "wb")  # noqa: SIM115 - lives as long as the process
    moto = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or "moto_server"
    process = subprocess.Popen(
        [moto, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    wait_http(port, "/", process, workdir / "moto.log")
    url = (
        f"s3://{S3Service.ACCESS_KEY}:{S3Service.SECRET_KEY}@127.0.0.1:{port}/"
        f"bench-{uuid.uuid4().hex[:8]}?secure=false"
    )
    return process, url


def start_gunicorn(workdir: Path, config: dict) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {
        **os.environ,
        "INSYN_BENCH_CONFIG": json.dumps(config),
        "PORTAL_INSTANCE_PATH": str(workdir / "instance"),
    }
    log = open(workdir / "gunicorn.log", "wb")  # noqa: SIM115 - lives as long as the process
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
            "900",
            "bench.upload_app:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    wait_http(port, "/healthz", process, workdir / "gunicorn.log")
    return process, port


def wait_http(port: int, path: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{process.args[0]} exited:\n{log.read_text()[-3000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", path)
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"{process.args[0]} did not answer on port {port}")


def app_rss(port: int, *, reset: bool = False) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("POST" if reset else "GET", "/_bench/rss/reset" if reset else "/_bench/rss")
    return json.loads(connection.getresponse().read())["max_rss_kib"] / 1024


def upload_through_app(port: int, path: Path) -> tuple[float, dict]:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
        'filename="bench.png"\r\nContent-Type: image/png\r\n\r\n'
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    length = len(head) + path.stat().st_size + len(tail)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
    started = time.perf_counter()
    connection.putrequest("POST", "/_bench/upload")
    connection.putheader("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")
    connection.putheader("Content-Length", str(length))
    connection.endheaders()
    connection.send(head)
    with open(path, "rb") as handle:
        while chunk := handle.read(MIB):
            connection.send(chunk)
    connection.send(tail)
    response = connection.getresponse()
    result = json.loads(response.read())
    elapsed = time.perf_counter() - started
    if response.status != 201:
        sys.exit(f"upload through the app failed: {response.status} {result}")
    return elapsed, result


def download_through_app(port: int, attachment_id: int) -> tuple[float, int]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
    started = time.perf_counter()
    connection.request("GET", f"/_bench/files/{attachment_id}")
    response = connection.getresponse()
    received = 0
    while chunk := response.read(MIB):
        received += len(chunk)
    return time.perf_counter() - started, received


def direct_client(url: str) -> tuple[Minio, str]:
    store = open_store(url)  # parses the URL the same way the app does
    return store.client, store.bucket


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--s3-url", help="an existing S3 bucket URL (default: start moto)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    size = args.size_mib * MIB
    (ROOT / "bench" / "out").mkdir(exist_ok=True)  # on disk (not a tmpfs), ignored by git
    workdir = Path(tempfile.mkdtemp(prefix="upload-", dir=ROOT / "bench" / "out"))
    processes = []
    clamd = ClamdService(max_bytes=size + 64 * MIB, workdir=str(workdir / "clamd"))
    try:
        print(f"preparing a {args.size_mib} MiB file, clamd and S3 ...", flush=True)
        data = workdir / "bench.png"
        make_file(data, size)
        clamd.start()
        if args.s3_url:
            s3_url = args.s3_url
        else:
            moto, s3_url = start_moto(workdir)
            processes.append(moto)
        open_store(s3_url, create_bucket=True)
        gunicorn, port = start_gunicorn(
            workdir,
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.sqlite'}",
                "STORAGE_URL": s3_url,
                "CLAMD_URL": clamd.url,
                "CLAMD_TIMEOUT": 600,
                "UPLOAD_TMP": str(workdir / "spool"),
                "MAX_UPLOAD_BYTES": size + MIB,
                "SMTP_URL": "",
            },
        )
        processes.append(gunicorn)
        client, bucket = direct_client(s3_url)

        startup_rss = app_rss(port)
        idle_rss = app_rss(port, reset=True)
        app_up, result = upload_through_app(port, data)
        up_rss = app_rss(port)
        if result["status"] != "clean":
            sys.exit(f"expected a clean scan, got {result}")

        with open(data, "rb") as handle:
            started = time.perf_counter()
            client.put_object(bucket, "direct/bench", handle, size, part_size=PART_SIZE)
            direct_up = time.perf_counter() - started

        app_rss(port, reset=True)
        app_down, received = download_through_app(port, result["id"])
        down_rss = app_rss(port)
        if received != size:
            sys.exit(f"download through the app returned {received} of {size} bytes")

        clamd.restart()  # empties clamd's cache of clean results, so this is a real scan
        scanner = Scanner(clamd.url, timeout=600)
        started = time.perf_counter()
        verdict = scanner.scan_file(data)
        scan_alone = time.perf_counter() - started
        if not verdict.clean:
            sys.exit(f"clamd alone: {verdict}")

        started = time.perf_counter()
        response = client.get_object(bucket, "direct/bench")
        try:
            while response.read(MIB):
                pass
        finally:
            response.close()
            response.release_conn()
        direct_down = time.perf_counter() - started

        mib = args.size_mib
        print(
            f"\n{'':10} {'app (s)':>8} {'direct (s)':>11} {'ratio':>6} {'app MiB/s':>10} "
            f"{'app peak RSS':>13}"
        )
        print(
            f"{'upload':10} {app_up:8.1f} {direct_up:11.1f} {direct_up / app_up:6.2f} "
            f"{mib / app_up:10.0f} {up_rss:10.0f} MiB"
        )
        print(
            f"{'download':10} {app_down:8.1f} {direct_down:11.1f} {direct_down / app_down:6.2f} "
            f"{mib / app_down:10.0f} {down_rss:10.0f} MiB"
        )
        print(
            f"\nclamd INSTREAM of the file alone: {scan_alone:.1f} s (the floor of the app's "
            "upload is receiving + max(scan, put) + the move to clean/)"
        )
        print(
            f"worker RSS: {idle_rss:.0f} MiB before the upload, start-up peak "
            f"{startup_rss:.0f} MiB; S3: "
            f"{'given' if args.s3_url else 'moto_server'}; scan included in the upload"
        )
        print("targets: upload ratio >= 0.6, download ratio >= 0.8, peak RSS < 150 MiB")
    finally:
        for process in processes:
            process.terminate()
            process.wait(30)
        clamd.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
