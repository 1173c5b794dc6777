"""Mixed load at twice a large municipality's peak, against gunicorn with the production
config (deploy/gunicorn.conf.py), PostgreSQL, S3 (moto_server) and clamd, on loopback.

Assumption: a large Swedish municipality's peak on Insyn is about 10 requests/s (a few
hundred providers answering near a deadline, officers working the queue, citizens
searching after a news item). Twice that is the default --rate 20 (requests/s in all):
60 % public search and pages, 23 % public downloads, 12 % the staff queue, 5 % provider
uploads of 1-20 MB (one per second; ~10 MB/s of uploads, each scanned by clamd and
stored in S3 through the answer page, action "Skicka in").

Arrivals are open-loop (fixed schedule, not paced by replies) over --seconds (60) and a
pool of --clients threads; nothing is sent after the schedule ends, and the run stops
itself --drain seconds later at the latest. Every accepted upload is then checked: a
row with the client's sha256, and the object in the store hashing to it.

    .venv/bin/python bench/load.py                       # 60 s at 20 req/s
    .venv/bin/python bench/load.py --seconds 10 --rate 5 # a smoke run

Needs a local PostgreSQL (BENCH_POSTGRES_URL, default postgres@127.0.0.1:5432), clamd
(installed by tests/data/clamav/ensure-clamd.sh) and moto_server from the venv.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import os
import queue
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from tests.fixtures_services import ClamdService, S3Service, free_port  # noqa: E402

MIB = 1024 * 1024
WORDS = ["trygghet", "delaktighet", "kvalitet", "bemötande", "kontinuitet", "nöjdhet"]
MIX = [("search", 0.60), ("download", 0.23), ("staff_queue", 0.12), ("upload", 0.05)]


def wait_http(port: int, path: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args[0]} exited:\n{log.read_text()[-3000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", path)
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing answered on port {port}:\n{log.read_text()[-3000:]}")


class Session:
    """One browser: a keep-alive connection and its cookies, behind the TLS proxy."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.connection: http.client.HTTPConnection | None = None

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, dict, bytes]:
        headers = {
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": "10.0.0.1",
            "Host": "insyn.kommun.example",
            **(headers or {}),
        }
        if method == "POST":  # Flask-WTF checks the referrer on HTTPS
            headers["Referer"] = "https://insyn.kommun.example" + path
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.connection.close()
                self.connection = None
                if attempt == 2 or method != "GET":
                    raise
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        return response.status, dict(response.getheaders()), data

    def login(self, email: str, password: str) -> None:
        _, _, page = self.request("GET", "/logga-in")
        token = csrf(page)
        status, headers, _ = self.request(
            "POST",
            "/logga-in",
            urlencode({"csrf_token": token, "email": email, "password": password}).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        if status != 302:
            raise RuntimeError(f"login of {email} failed: {status}")


def csrf(page: bytes) -> str:
    return re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page).group(1).decode()


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n".encode()
        )
    for name, (filename, data) in files.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: text/plain\r\n\r\n'.encode()
            + data
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def seed(url: str, storage_url: str, clamd_url: str, uploads: int) -> dict:
    """Providers, published answers with files, and one open request per planned upload."""
    from flask_migrate import upgrade

    from portal import create_app
    from portal.extensions import db
    from portal.models import FieldType, RequestField
    from tests import factories
    from tests.storage.files import pdf_bytes

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "STORAGE_URL": storage_url,
            "CLAMD_URL": clamd_url,
            "SMTP_URL": "",
            "TESTING": True,
        }
    )
    with app.app_context():
        upgrade()
        w = factories.world()
        documents = []
        for i in range(40):
            provider = w.org_a if i % 2 else w.org_b
            publication = factories.publication(
                w,
                provider,
                answers={1: f"Arbetet med {WORDS[i % len(WORDS)]} nummer {i}."},
                fields=[
                    RequestField(position=1, label="Beskrivning", type=FieldType.TEXT),
                    RequestField(position=2, label="Rapport", type=FieldType.FILE),
                ],
                files=[(2, f"rapport-{i}.pdf", pdf_bytes())],
            )
            documents += [(publication.id, d.id) for d in publication.documents]
        open_ = []
        for _ in range(uploads):
            (submission,) = factories.info_request(
                w.committee_x,
                [w.org_a],
                w.reviewer_x,
                title="Kvalitetsredovisning",
                fields=[
                    RequestField(position=1, label="Beskrivning", type=FieldType.TEXT),
                    RequestField(position=2, label="Rapport", type=FieldType.FILE),
                ],
            )
            keys = {f.position: f.key for f in submission.request.fields}
            open_.append((submission.id, keys[1], keys[2]))
        db.session.commit()
        seeded = {
            "provider": w.user_a.email,
            "reviewer": w.reviewer_x.email,
            "documents": documents,
            "open": open_,
            "password": factories.PASSWORD,
        }
        db.engine.dispose()
    return seeded


def verify(url: str, storage_url: str, accepted: list[tuple[int, str]]) -> tuple[int, int]:
    """(found, lost): each accepted upload has its row and a stored object with its sha256."""
    from portal import create_app
    from portal.extensions import db
    from portal.models import Submission
    from storage import current_store

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "STORAGE_URL": storage_url,
            "SMTP_URL": "",
            "TESTING": True,
        }
    )
    found = lost = 0
    with app.app_context():
        store = current_store()
        for submission_id, sha256 in accepted:
            submission = db.session.get(Submission, submission_id)
            rows = [a for v in submission.versions for a in v.attachments if a.sha256 == sha256]
            digest = hashlib.sha256()
            try:
                with store.get(f"clean/{sha256}") as stream:
                    for chunk in stream:
                        digest.update(chunk)
            except Exception:  # noqa: BLE001 - a missing object is a lost upload
                pass
            if rows and digest.hexdigest() == sha256:
                found += 1
            else:
                lost += 1
        db.engine.dispose()
    return found, lost


def upload_data(size: int, n: int) -> bytes:
    return (f"Kvalitetsarbete, rad {n}.\n".encode() * (size // 20 + 1))[:size]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=20, help="requests per second in all")
    parser.add_argument("--clients", type=int, default=48)
    parser.add_argument("--drain", type=float, default=120)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    total = int(args.seconds * args.rate)
    kinds = rng.choices([k for k, _ in MIX], weights=[p for _, p in MIX], k=total)
    uploads = kinds.count("upload")
    workdir = Path(tempfile.mkdtemp(prefix="insyn-load-"))
    base = os.environ.get(
        "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    name = f"insyn_load_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(sa.make_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    db_url = sa.make_url(base).set(database=name).render_as_string(hide_password=False)
    processes: list[subprocess.Popen] = []
    clamd = ClamdService(max_bytes=64 * MIB, workdir=str(workdir / "clamd"))
    try:
        clamd.start()
        moto_port = free_port()
        moto_log = workdir / "moto.log"
        moto = subprocess.Popen(
            [
                shutil.which("moto_server", path=str(Path(sys.executable).parent)) or "moto_server",
                "-H",
                "127.0.0.1",
                "-p",
                str(moto_port),
            ],
            stdout=open(moto_log, "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        processes.append(moto)
        wait_http(moto_port, "/", moto, moto_log)
        storage_url = (
            f"s3://{S3Service.ACCESS_KEY}:{S3Service.SECRET_KEY}@127.0.0.1:"
            f"{moto_port}/load-{uuid.uuid4().hex[:8]}?secure=false"
        )
        from storage.store import open_store

        open_store(storage_url, create_bucket=True)
        print(f"seeding ({uploads} open requests for the uploads) ...", flush=True)
        seeded = seed(db_url, storage_url, clamd.url, uploads)

        port = free_port()
        env = {
            **os.environ,
            "PORTAL_ENV": "production",
            "PORTAL_DATABASE_URL": db_url,
            "PORTAL_STORAGE_URL": storage_url,
            "PORTAL_CLAMD_URL": clamd.url,
            "PORTAL_SECRET_KEY": uuid.uuid4().hex * 2,
            "PORTAL_SMTP_URL": "",
            "PORTAL_INSTANCE_PATH": str(workdir / "instance"),
            "PORTAL_UPLOAD_TMP": str(workdir / "spool"),
        }
        gunicorn_log = workdir / "gunicorn.log"
        gunicorn = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                "deploy/gunicorn.conf.py",
                "--bind",
                f"127.0.0.1:{port}",
            ],
            cwd=ROOT,
            env=env,
            stdout=open(gunicorn_log, "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        processes.append(gunicorn)
        wait_http(port, "/healthz", gunicorn, gunicorn_log)

        lock = threading.Lock()
        results: list[tuple[str, float, int, str]] = []
        accepted: list[tuple[int, str]] = []
        open_requests = list(seeded["open"])
        sizes = [rng.randint(1, 20) * MIB for _ in range(uploads)]

        # Signed-in browsers are made before the run (a login is not part of the mix):
        # each job borrows one of its role and gives it back.
        pools: dict[str, queue.Queue] = {}
        for role, count in (("public", args.clients), ("reviewer", 8), ("provider", 8)):
            pools[role] = queue.Queue()
            for _ in range(count):
                s = Session(port)
                if role != "public":
                    s.login(seeded[role], seeded["password"])
                pools[role].put(s)

        @contextlib.contextmanager
        def session(role: str):
            s = pools[role].get()
            try:
                yield s
            finally:
                pools[role].put(s)

        def job(kind: str, due: float, n: int) -> None:
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            error = ""
            started = time.monotonic()
            try:
                if kind == "search":
                    with session("public") as s:
                        started = time.monotonic()
                        status, _, _ = s.request(
                            "GET", "/sok?" + urlencode({"q": WORDS[n % len(WORDS)]})
                        )
                    ok = status == 200
                elif kind == "download":
                    pub, doc = seeded["documents"][n % len(seeded["documents"])]
                    with session("public") as s:
                        started = time.monotonic()
                        status, _, body = s.request("GET", f"/publicerat/{pub}/dokument/{doc}")
                    ok = status == 200 and body.startswith(b"%PDF")
                elif kind == "staff_queue":
                    with session("reviewer") as s:
                        started = time.monotonic()
                        status, _, _ = s.request("GET", "/handlaggare/arenden")
                    ok = status == 200
                else:
                    with lock:
                        submission_id, text_key, file_key = open_requests.pop()
                        size = sizes.pop()
                    with session("provider") as s:
                        status, headers = upload(s, submission_id, text_key, file_key, size, n)
                    ok = status == 303 and "/kvitto/" in headers.get("Location", "")
                    if ok:
                        with lock:
                            accepted.append(
                                (submission_id, hashlib.sha256(upload_data(size, n)).hexdigest())
                            )
                if not ok:
                    error = f"HTTP {status}"
            except Exception as exc:  # noqa: BLE001 - counted and reported
                error = f"{type(exc).__name__}: {exc}"
            with lock:
                results.append((kind, time.monotonic() - started, 0 if error else 1, error))

        def upload(s, submission_id, text_key, file_key, size, n):
            """The answer page, then the answer with one file (timed together)."""
            path = f"/utforare/arenden/{submission_id}/svar"
            _, _, page = s.request("GET", path)
            lock_version = re.search(rb'name="lock_version" value="([^"]*)"', page)
            body, content_type = multipart(
                {
                    "csrf_token": csrf(page),
                    "action": "submit",
                    text_key: "Svar.",
                    "lock_version": lock_version.group(1).decode() if lock_version else "",
                },
                {file_key: (f"rapport-{n}.txt", upload_data(size, n))},
            )
            status, headers, _ = s.request("POST", path, body, {"Content-Type": content_type})
            return status, headers

        print(
            f"{total} requests over {args.seconds:.0f} s at {args.rate:g}/s "
            f"with {args.clients} client threads ...",
            flush=True,
        )
        start = time.monotonic() + 1
        with ThreadPoolExecutor(args.clients) as pool:
            futures = [
                pool.submit(job, kind, start + i / args.rate, i) for i, kind in enumerate(kinds)
            ]
            deadline = start + args.seconds + args.drain
            for future in futures:
                future.result(timeout=max(1, deadline - time.monotonic()))
        elapsed = time.monotonic() - start
        found, lost = verify(db_url, storage_url, accepted)

        print(f"\n{len(results)} requests in {elapsed:.1f} s: {len(results) / elapsed:.1f} req/s")
        print(f"{'kind':<12} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>6}")
        for kind, _ in MIX:
            times = sorted(t * 1000 for k, t, _, _ in results if k == kind)
            errors = sum(1 for k, _, ok, _ in results if k == kind and not ok)
            if not times:
                continue
            q = (
                statistics.quantiles(times, n=100, method="inclusive")
                if len(times) > 1
                else [times[0]] * 99
            )
            print(
                f"{kind:<12} {len(times):>5} {q[49]:>8.0f} {q[94]:>8.0f} {q[98]:>8.0f} {errors:>6}"
            )
        errors = [e for _, _, ok, e in results if not ok]
        upload_mb = sum(s for s in (sizes or [])) / MIB  # what was not sent (normally 0)
        print(f"errors: {len(errors)}" + (f" (first: {errors[:3]})" if errors else ""))
        print(
            f"uploads accepted: {len(accepted)}, in the store with matching sha256: {found}, "
            f"lost: {lost}" + (f"; {upload_mb:.0f} MB not sent" if upload_mb else "")
        )
        log = gunicorn_log.read_text(errors="replace")
        if "Traceback" in log:
            print("gunicorn log has a traceback:\n" + log[-3000:])
        sys.exit(1 if errors or lost or "Traceback" in log else 0)
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        clamd.close()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
