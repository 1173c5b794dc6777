"""Upload and download of one large file: through the app (with its job worker) vs. directly.

    .venv/bin/python bench/upload.py [--size-mib 1024] [--s3-url s3://KEY:SECRET@host:port/bucket?secure=false]
        [--jobs-url redis://127.0.0.1:6379/15 | --jobs-url sqlite] [--job-workers 2]

Starts clamd (the test configuration, limits raised to fit the file), an S3 server
(``moto_server`` in its own process, unless ``--s3-url`` names one, e.g. MinIO from
docker-compose), a migrated scratch SQLite database, gunicorn with
``bench/upload_app.py`` (the real app and pipeline; see that file) and beside it the job
worker (``flask --app portal jobs worker``), both configured by the same ``PORTAL_*``
environment. The broker is Redis at 127.0.0.1:6379 db 15 under a queue name of the
bench's own (emptied afterwards), or an SQLite file with ``--jobs-url sqlite``. Then, in
one run:

* request: the file as multipart/form-data to the app (spool + sha256, each 8 MiB part
  sent on to ``quarantine/<upload id>`` while the rest arrives, type check, the
  multipart upload completed, row commit, scan job enqueued; a file over
  ``PORTAL_SCAN_INLINE_MAX_MB`` does not wait for its verdict) vs. ``put_object`` of the
  same file with the same part size;
* verdict: from the response until the row is ``clean`` (the database polled every
  100 ms) and until the object is under ``clean/`` (released), against clamd scanning
  the same file alone (INSTREAM from the local file after a clamd restart, which empties
  its cache of clean results); for reference also the worker's path without the job
  engine (the object streamed from S3 to clamd by this process, after another restart);
* download: the object through the app (``send_attachment``) vs. ``get_object``;
* peak RSS (``VmHWM`` in ``/proc/PID/status``, reset before the upload) of the gunicorn
  worker and of the job worker.

Prints the times and the ratios (direct / app for the transfers, so 1.0 = as fast as
direct; verdict / clamd alone for the scan). The file is a PNG header followed by random
bytes (incompressible; typed as PNG by the sniffer).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from huey.storage import PriorityRedisStorage  # noqa: E402
from minio import Minio  # noqa: E402 - the benchmark's own direct client
from minio.error import S3Error  # noqa: E402

from storage.scan import Scanner  # noqa: E402
from storage.store import PART_SIZE, open_store  # noqa: E402
from tests.fixtures_services import ClamdService, S3Service, free_port  # noqa: E402

MIB = 1024 * 1024
BOUNDARY = "insyn-bench-boundary"
PNG_HEAD = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de")
REDIS_URL = "redis://127.0.0.1:6379/15"
POLL = 0.1


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


def portal_env(workdir: Path, settings: dict[str, str]) -> dict[str, str]:
    """The environment of gunicorn, the job worker and the migration: one configuration."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PORTAL_")}
    env.pop("INSYN_BENCH_CONFIG", None)
    env.update(
        PORTAL_INSTANCE_PATH=str(workdir / "instance"),
        PORTAL_JOBS_HEARTBEAT=str(workdir / "worker.heartbeat"),
        PORTAL_SMTP_URL="",
        **settings,
    )
    return env


def migrate(env: dict[str, str], workdir: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "portal", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=open(workdir / "migrate.log", "wb"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )


def start_gunicorn(workdir: Path, env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    port = free_port()
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


def start_worker(workdir: Path, env: dict[str, str], threads: int) -> subprocess.Popen:
    """``flask --app portal jobs worker`` with the web's configuration."""
    log_path = workdir / "worker.log"
    log = open(log_path, "wb")  # noqa: SIM115 - lives as long as the process
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "portal", "jobs", "worker"]
        + ["--workers", str(threads)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while "worker ready" not in log_path.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"the job worker did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.1)
    return process


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


def web_worker_pid(port: int) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/_bench/rss")
    return json.loads(connection.getresponse().read())["pid"]


def memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (the peak since start or the last reset) of ``pid``, in MiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return found


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # Linux: VmHWM restarts from VmRSS


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


def wait_for_verdict(
    database: Path, attachment_id: int, client: Minio, bucket: str, sha256: str, limit: float
) -> tuple[float, float, float, str]:
    """From now: seconds until the row is clean, until ``clean/<sha256>`` exists, and until
    the quarantined copy (the row's ``quarantine_key``, else ``quarantine/<sha256>``) is
    gone (each polled every 100 ms); and that key."""
    started = time.perf_counter()
    verdict = released = None
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as connection:
        while verdict is None:
            status, quarantined = connection.execute(
                "SELECT scan_status, quarantine_key FROM attachment WHERE id = ?",
                (attachment_id,),
            ).fetchone()
            if status.lower() == "clean":
                verdict = time.perf_counter() - started
            elif status.lower() != "pending_scan":
                sys.exit(f"expected a clean verdict, got {status}")
            elif time.perf_counter() - started > limit:
                sys.exit(f"no verdict within {limit:.0f} s")
            else:
                time.sleep(POLL)
    quarantined = quarantined or f"quarantine/{sha256}"
    while True:
        now = time.perf_counter() - started
        if released is None and exists(client, bucket, f"clean/{sha256}"):
            released = now
        if released is not None and not exists(client, bucket, quarantined):
            return verdict, released, now, quarantined
        if now > limit:
            sys.exit(f"not released within {limit:.0f} s")
        time.sleep(POLL)


def exists(client: Minio, bucket: str, key: str) -> bool:
    try:
        client.stat_object(bucket, key)
    except S3Error as exc:
        if exc.code in ("NoSuchKey", "NoSuchObject", "ResourceNotFound"):
            return False
        raise
    return True


def download_through_app(port: int, attachment_id: int) -> tuple[float, int]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
    started = time.perf_counter()
    connection.request("GET", f"/_bench/files/{attachment_id}")
    response = connection.getresponse()
    received = 0
    while chunk := response.read(MIB):
        received += len(chunk)
    return time.perf_counter() - started, received


def direct_put(client: Minio, bucket: str, path: Path, name: str, parallel: int) -> float:
    """Seconds to ``put_object`` the file with the app's part size, ``parallel`` parts at once."""
    with open(path, "rb") as handle:
        started = time.perf_counter()
        client.put_object(
            bucket,
            f"direct/{name}",
            handle,
            path.stat().st_size,
            part_size=PART_SIZE,
            num_parallel_uploads=parallel,
        )
        return time.perf_counter() - started


def timings(log: Path) -> str:
    """The app's own account of the upload (storage's log line in gunicorn.log): how long
    the request waited for the store once the body was in."""
    lines = [
        line for line in log.read_text(errors="replace").splitlines() if "bytes) stored" in line
    ]
    return f"app log: {lines[-1]}" if lines else "app log: no timing line"


def jobs_url_of(option: str, workdir: Path) -> str:
    if option == "sqlite":
        return f"sqlite:///{workdir / 'jobs.sqlite'}"
    return option


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--s3-url", help="an existing S3 bucket URL (default: start moto)")
    parser.add_argument(
        "--jobs-url",
        default=REDIS_URL,
        help=f"the broker: redis://… (default {REDIS_URL}), sqlite:///path or 'sqlite' "
        "(a file in the run's folder)",
    )
    parser.add_argument("--job-workers", type=int, default=2, help="the worker's threads")
    parser.add_argument(
        "--store-options",
        default="",
        help="query options added to the app's S3 URL, e.g. 'parallel=3' (parts in flight)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    size = args.size_mib * MIB
    (ROOT / "bench" / "out").mkdir(exist_ok=True)  # on disk (not a tmpfs), ignored by git
    workdir = Path(tempfile.mkdtemp(prefix="upload-", dir=ROOT / "bench" / "out"))
    processes = []
    clamd = ClamdService(max_bytes=size + 64 * MIB, workdir=str(workdir / "clamd"))
    jobs_url = jobs_url_of(args.jobs_url, workdir)
    jobs_name = f"insyn-bench-upload-{uuid.uuid4().hex[:8]}"
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
        if args.store_options:
            s3_url += ("&" if "?" in s3_url else "?") + args.store_options
        database = workdir / "bench.sqlite"
        env = portal_env(
            workdir,
            {
                "PORTAL_DATABASE_URL": f"sqlite:///{database}",
                "PORTAL_STORAGE_URL": s3_url,
                "PORTAL_CLAMD_URL": clamd.url,
                "PORTAL_CLAMD_TIMEOUT": "600",
                "PORTAL_UPLOAD_TMP": str(workdir / "spool"),
                "PORTAL_MAX_UPLOAD_MB": str(args.size_mib + 1),
                "PORTAL_JOBS_URL": jobs_url,
                "PORTAL_JOBS_NAME": jobs_name,
            },
        )
        migrate(env, workdir)
        gunicorn, port = start_gunicorn(workdir, env)
        processes.append(gunicorn)
        worker = start_worker(workdir, env, args.job_workers)
        processes.insert(0, worker)
        store = open_store(s3_url)  # parses the URL the same way the app does
        client, bucket = store.client, store.bucket

        web_pid = web_worker_pid(port)
        startup = {"web": memory(web_pid), "jobs": memory(worker.pid)}
        time.sleep(2)  # the worker's first scheduler tick and heartbeat
        for pid in (web_pid, worker.pid):
            reset_peak(pid)
        idle = {"web": memory(web_pid)["VmRSS"], "jobs": memory(worker.pid)["VmRSS"]}

        # The direct put before the app's too: the order (moto's state, the page cache and
        # write-back of the files just written) moves the figures by seconds.
        direct_puts = {"before": direct_put(client, bucket, data, "before", store.parallel)}
        time.sleep(2)
        for pid in (web_pid, worker.pid):
            reset_peak(pid)
        app_up, result = upload_through_app(port, data)
        answered_with = result["status"]
        verdict, released, unquarantined, quarantined = wait_for_verdict(
            database, result["id"], client, bucket, result["sha256"], limit=1800
        )
        web_peak = memory(web_pid)["VmHWM"]
        jobs_peak = memory(worker.pid)["VmHWM"]

        direct_puts["after, 3"] = direct_put(client, bucket, data, "after-3", 3)
        direct_puts["after"] = direct_put(client, bucket, data, "after", store.parallel)
        direct_up = direct_puts["after"]

        reset_peak(web_pid)
        app_down, received = download_through_app(port, result["id"])
        down_peak = memory(web_pid)["VmHWM"]
        if received != size:
            sys.exit(f"download through the app returned {received} of {size} bytes")

        started = time.perf_counter()
        response = client.get_object(bucket, "direct/after")
        try:
            while response.read(MIB):
                pass
        finally:
            response.close()
            response.release_conn()
        direct_down = time.perf_counter() - started

        clamd.restart()  # empties clamd's cache of clean results, so this is a real scan
        scanner = Scanner(clamd.url, timeout=600)
        started = time.perf_counter()
        alone = scanner.scan_file(data)
        scan_alone = time.perf_counter() - started
        clamd.restart()
        started = time.perf_counter()
        with store.get(f"clean/{result['sha256']}") as stream:
            streamed = scanner.scan_stream(stream)
        scan_from_s3 = time.perf_counter() - started
        if not alone.clean or not streamed.clean:
            sys.exit(f"clamd alone: {alone}, streamed from S3: {streamed}")

        mib = args.size_mib
        print(
            f"\n{'':10} {'app (s)':>8} {'direct (s)':>11} {'ratio':>6} {'app MiB/s':>10} "
            f"{'web peak RSS':>13}"
        )
        print(
            f"{'request':10} {app_up:8.1f} {direct_up:11.1f} {direct_up / app_up:6.2f} "
            f"{mib / app_up:10.0f} {web_peak:10.0f} MiB   (answered {answered_with}; "
            f"waited under {quarantined})"
        )
        print(
            f"{'download':10} {app_down:8.1f} {direct_down:11.1f} {direct_down / app_down:6.2f} "
            f"{mib / app_down:10.0f} {down_peak:10.0f} MiB"
        )
        print(
            f"direct put with {store.parallel} part(s) in flight (the app's setting): before "
            f"the app's upload {direct_puts['before']:.1f} s (ratio "
            f"{direct_puts['before'] / app_up:.2f}), after it {direct_puts['after']:.1f} s; "
            f"with 3 in flight (minio's default), after: {direct_puts['after, 3']:.1f} s "
            f"(ratio {direct_puts['after, 3'] / app_up:.2f})"
        )
        print(timings(workdir / "gunicorn.log"))
        print(
            f"\nfrom the response: verdict clean {verdict:.1f} s, released (under clean/) "
            f"{released:.1f} s, quarantine copy gone {unquarantined:.1f} s"
        )
        print(
            f"clamd alone (local file, after a restart): {scan_alone:.1f} s; "
            f"streamed from S3 by this process: {scan_from_s3:.1f} s"
        )
        print(
            f"verdict / clamd alone: {verdict / scan_alone:.2f}; "
            f"released / clamd alone: {released / scan_alone:.2f}"
        )
        print(
            f"peak RSS during upload and scan: web worker {web_peak:.0f} MiB (idle "
            f"{idle['web']:.0f}, start-up peak {startup['web']['VmHWM']:.0f}), job worker "
            f"{jobs_peak:.0f} MiB (idle {idle['jobs']:.0f}, start-up peak "
            f"{startup['jobs']['VmHWM']:.0f})"
        )
        print(
            f"S3: {'given' if args.s3_url else 'moto_server'}; broker: {jobs_url} "
            f"({args.job_workers} worker threads)"
        )
        print(
            "targets: request ratio >= 0.6, verdict <= 1.2 x clamd alone, download ratio "
            ">= 0.8, peak RSS < 150 MiB each"
        )
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        clamd.close()
        if jobs_url.startswith("redis"):
            PriorityRedisStorage(jobs_name, url=jobs_url).flush_all()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
