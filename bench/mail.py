"""Mail throughput through the job engine: 1,000 outbox rows delivered by one worker.

    .venv/bin/python bench/mail.py [--mails 1000] [--brokers sqlite,redis] [--workers 4]
        [--sweep cli|periodic] [--reuse-smtp]
    TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/mail.py

For each database (a migrated scratch SQLite file; also a scratch PostgreSQL database
on ``TEST_DATABASE_URL``'s server when it is set, dropped afterwards) and each broker (an
SQLite file; Redis at 127.0.0.1:6379 db 15 under a queue name of the bench's own,
emptied afterwards), with aiosmtpd on a free port counting what it receives by
Message-ID and one worker process (``flask --app portal jobs worker --workers 4``):

1. enqueued: ``portal.mail.queue`` writes the rows in one transaction, whose commit
   enqueues one ``deliver_mail`` job per row; measured from the start of the commit to
   the last ``sent_at`` and to the last message received;
2. swept: the same number of rows written the same way but with their jobs dropped
   before the commit (as after a Redis loss: the rows say enqueued, the broker is
   empty); ``flask --app portal jobs sweep`` is run right after the commit (the worker
   runs without its scheduler so that its own sweep does not race the command), or with
   ``--sweep periodic`` nothing is run and the worker's own sweep (each minute) finds
   them. Measured from the commit as above.

Each run asserts one message per row (no row unsent, every Message-ID once, the row's
own id in it). Reports the times, mails/s and the worker's peak RSS (``VmHWM``, reset
before each run).

``--reuse-smtp`` is a prototype, not the portal's code: the worker process is this
script, which replaces ``portal.mail._send`` by one that keeps an SMTP connection open
per worker thread (``RSET`` before reuse, reconnect on failure) and then runs the same
worker as ``flask --app portal jobs worker``.
"""

from __future__ import annotations

import argparse
import collections
import email.parser
import email.policy
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MIB = 1024 * 1024
REDIS_URL = "redis://127.0.0.1:6379/15"
POLL = 0.1


class Inbox:
    """An aiosmtpd handler that counts messages by Message-ID and notes when each came."""

    def __init__(self):
        self.counts: collections.Counter[str] = collections.Counter()
        self.arrivals: list[float] = []  # time.time() of each message
        self.peers: set[tuple] = set()  # client (address, port): one per SMTP connection
        self._lock = threading.Lock()
        self._parser = email.parser.BytesHeaderParser(policy=email.policy.default)

    async def handle_DATA(self, server, session, envelope):
        message_id = str(self._parser.parsebytes(envelope.content)["Message-ID"])
        with self._lock:
            self.counts[message_id] += 1
            self.arrivals.append(time.time())
            self.peers.add(tuple(session.peer))
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        with self._lock:
            self.counts.clear()
            self.arrivals.clear()
            self.peers.clear()


# --- the worker process (a prototype with one SMTP connection per thread) ---------------


def run_reusing_worker(workers: int, periodic: bool) -> None:
    """The worker of ``flask --app portal jobs worker``, with ``_send`` replaced."""
    import smtplib
    from email.message import EmailMessage
    from urllib.parse import urlsplit

    from flask import current_app

    from portal import create_app
    from portal import mail as portal_mail
    from portal.jobs.worker import run_worker

    local = threading.local()

    def connection(parts) -> smtplib.SMTP:
        smtp = getattr(local, "smtp", None)
        if smtp is not None:
            try:
                if smtp.rset()[0] == 250:
                    return smtp
            except (OSError, smtplib.SMTPException):
                pass
            local.smtp = None
        smtp = smtplib.SMTP(parts.hostname, parts.port or 25, timeout=portal_mail.SMTP_TIMEOUT)
        if parts.username:
            smtp.starttls()
            smtp.login(parts.username, parts.password or "")
        local.smtp = smtp
        return smtp

    def send(mail) -> None:
        parts = urlsplit(current_app.config["SMTP_URL"])
        message = EmailMessage()
        message["From"] = current_app.config["MAIL_FROM"]
        message["To"] = mail.recipient
        message["Subject"] = mail.subject
        message["Message-ID"] = f"<outbox-{mail.id}@insyn>"
        message.set_content(mail.body)
        smtp = connection(parts)
        try:
            smtp.send_message(message)
        except (OSError, smtplib.SMTPServerDisconnected):
            local.smtp = None
            raise

    portal_mail._send = send
    run_worker(create_app(), workers=workers, periodic=periodic)


# --- the bench ----------------------------------------------------------------------------


def memory(pid: int) -> dict[str, float]:
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return found


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # Linux: VmHWM restarts from VmRSS


class Database:
    """A scratch database: an SQLite file in ``workdir``, or a new PostgreSQL database on
    the server of ``base`` (dropped by ``drop``)."""

    def __init__(self, kind: str, workdir: Path, base: str | None = None):
        import sqlalchemy as sa

        self.kind = kind
        self._admin = None
        if kind == "sqlite":
            self.url = f"sqlite:///{workdir / 'bench.sqlite'}"
            return
        url = sa.make_url(base)
        self.name = f"insyn_bench_mail_{uuid.uuid4().hex[:8]}"
        self._admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with self._admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{self.name}"'))
        self.url = url.set(database=self.name).render_as_string(hide_password=False)

    def drop(self) -> None:
        import sqlalchemy as sa

        if self._admin is not None:
            with self._admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            self._admin.dispose()


def start_worker(workdir: Path, env: dict, args, *, periodic: bool) -> subprocess.Popen:
    log_path = workdir / "worker.log"
    log = open(log_path, "ab")  # noqa: SIM115 - lives as long as the process
    if args.reuse_smtp:
        command = [sys.executable, str(Path(__file__)), "--as-worker"]
        command += ["--workers", str(args.workers)] + ([] if periodic else ["--no-periodic"])
    else:
        command = [sys.executable, "-m", "flask", "--app", "portal", "jobs", "worker"]
        command += ["--workers", str(args.workers)] + ([] if periodic else ["--no-periodic"])
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while "worker ready" not in log_path.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"the job worker did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.1)
    return process


def write_mails(count: int, run: str, *, enqueue: bool) -> tuple[list[int], float, float]:
    """``count`` outbox rows through ``portal.mail.queue`` in one transaction; without
    ``enqueue`` their jobs are dropped before the commit. Returns the ids, the wall-clock
    time at the start of the commit and how long the commit (with its enqueues) took."""
    from portal import jobs, mail
    from portal.extensions import db

    rows = [
        mail.queue(
            f"bench-{run}-{i}@example.test",
            f"Bench {run} {i}",
            "password_reset",
            link=f"https://insyn.example/reset/{run}-{i}",
        )
        for i in range(count)
    ]
    if not enqueue:
        db.session.info.pop(jobs.PENDING, None)
    ids = [row.id for row in rows]
    started_wall, started = time.time(), time.perf_counter()
    db.session.commit()
    return ids, started_wall, time.perf_counter() - started


def wait_delivered(ids: list[int], inbox: Inbox, limit: float) -> None:
    import sqlalchemy as sa

    from portal.extensions import db
    from portal.models import OutboundMail

    expected = {f"<outbox-{i}@insyn>" for i in ids}
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        unsent = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboundMail)
            .where(OutboundMail.id.in_(ids), OutboundMail.sent_at.is_(None))
        )
        db.session.commit()
        if unsent == 0 and expected <= set(inbox.counts):
            return
        time.sleep(POLL)
    sys.exit(f"not delivered within {limit:.0f} s: {unsent} rows unsent")


def check_and_time(ids: list[int], inbox: Inbox, started: float) -> dict:
    """Assert one message per row; the seconds from ``started`` to the last ``sent_at``
    and to the last message received."""
    import sqlalchemy as sa

    from portal.extensions import db
    from portal.models import OutboundMail

    rows = db.session.execute(
        sa.select(OutboundMail.id, OutboundMail.sent_at, OutboundMail.attempts).where(
            OutboundMail.id.in_(ids)
        )
    ).all()
    db.session.commit()
    expected = {f"<outbox-{i}@insyn>" for i in ids}
    duplicates = {mid: n for mid, n in inbox.counts.items() if n > 1}
    unsent = [row.id for row in rows if row.sent_at is None]
    assert len(rows) == len(ids), f"{len(rows)} rows of {len(ids)}"
    assert not unsent, f"{len(unsent)} rows unsent"
    assert set(inbox.counts) == expected, (
        f"{len(set(inbox.counts) - expected)} unexpected, {len(expected - set(inbox.counts))} "
        "missing Message-IDs"
    )
    assert not duplicates, f"{len(duplicates)} Message-IDs received more than once"
    assert sum(inbox.counts.values()) == len(ids)
    last_sent = max(row.sent_at for row in rows).replace(tzinfo=UTC)
    first_sent = min(row.sent_at for row in rows).replace(tzinfo=UTC)
    start = datetime.fromtimestamp(started, UTC)
    return {
        "first_sent": (first_sent - start).total_seconds(),
        "last_sent": (last_sent - start).total_seconds(),
        "last_received": max(inbox.arrivals) - started,
        "distinct": len(inbox.counts),
        "connections": len(inbox.peers),
        "attempts": sum(row.attempts for row in rows),
    }


def bench_one(db_kind: str, broker: str, args, base_url: str | None) -> list[dict]:
    from aiosmtpd.controller import Controller
    from huey.storage import PriorityRedisStorage

    from portal import create_app
    from portal.extensions import db
    from tests.fixtures_services import free_port

    (ROOT / "bench" / "out").mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="mail-", dir=ROOT / "bench" / "out"))
    database = Database(db_kind, workdir, base_url)
    jobs_url = f"sqlite:///{workdir / 'jobs.sqlite'}" if broker == "sqlite" else REDIS_URL
    jobs_name = f"insyn-bench-mail-{uuid.uuid4().hex[:8]}"
    inbox = Inbox()
    smtp_port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    worker = None
    results = []
    settings = {
        "PORTAL_INSTANCE_PATH": str(workdir / "instance"),
        "PORTAL_DATABASE_URL": database.url,
        "PORTAL_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "PORTAL_JOBS_URL": jobs_url,
        "PORTAL_JOBS_NAME": jobs_name,
        "PORTAL_JOBS_HEARTBEAT": str(workdir / "worker.heartbeat"),
    }
    env = {key: value for key, value in os.environ.items() if not key.startswith("PORTAL_")}
    env.update(settings)
    saved = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)  # this process's app: the worker's configuration
    try:
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "portal", "db", "upgrade"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        app = create_app()
        controller.start()
        worker = start_worker(workdir, env, args, periodic=args.sweep == "periodic")
        startup_peak = memory(worker.pid)["VmHWM"]
        with app.app_context():
            for run in ("enqueued", "swept"):
                inbox.clear()
                time.sleep(1)
                reset_peak(worker.pid)
                idle = memory(worker.pid)["VmRSS"]
                ids, started, commit = write_mails(args.mails, run, enqueue=run == "enqueued")
                sweep_seconds = None
                if run == "swept" and args.sweep == "cli":
                    before = time.perf_counter()
                    report = subprocess.run(
                        [sys.executable, "-m", "flask", "--app", "portal", "jobs", "sweep"],
                        cwd=ROOT,
                        env=env,
                        capture_output=True,
                        text=True,
                        check=True,
                    ).stdout
                    sweep_seconds = time.perf_counter() - before
                    if f"mails_enqueued: {args.mails}" not in report:
                        sys.exit(f"the sweep did not enqueue the {args.mails} mails:\n{report}")
                wait_delivered(ids, inbox, limit=600)
                found = check_and_time(ids, inbox, started)
                found.update(
                    database=db_kind,
                    broker=broker,
                    run=run,
                    commit=commit,
                    sweep=sweep_seconds,
                    peak=memory(worker.pid)["VmHWM"],
                    idle=idle,
                    startup_peak=startup_peak,
                )
                results.append(found)
                report_one(found, args.mails)
            db.session.remove()
            db.engine.dispose()
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(10)
        controller.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if broker == "redis":
            PriorityRedisStorage(jobs_name, url=jobs_url).flush_all()
        database.drop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return results


def report_one(found: dict, mails: int) -> None:
    sweep = f", sweep command {found['sweep']:.1f} s" if found["sweep"] is not None else ""
    print(
        f"{found['database']:10} {found['broker']:6} {found['run']:8}: commit "
        f"{found['commit']:.2f} s{sweep}; first sent {found['first_sent']:.2f} s, last sent "
        f"{found['last_sent']:.2f} s, last received {found['last_received']:.2f} s "
        f"({mails / found['last_received']:.0f} mails/s); {found['distinct']} distinct "
        f"Message-IDs, {found['attempts']} attempts, {found['connections']} SMTP connections; "
        f"worker peak {found['peak']:.0f} MiB "
        f"(idle {found['idle']:.0f}, start-up peak {found['startup_peak']:.0f})",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--brokers", default="sqlite,redis", help="sqlite, redis or both")
    parser.add_argument(
        "--databases",
        help="sqlite,postgres (default: sqlite, and postgres when TEST_DATABASE_URL is set)",
    )
    parser.add_argument("--workers", type=int, default=4, help="the worker's threads")
    parser.add_argument("--sweep", choices=("cli", "periodic"), default="cli")
    parser.add_argument("--reuse-smtp", action="store_true", help="the prototype worker")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    parser.add_argument("--as-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-periodic", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.as_worker:
        run_reusing_worker(args.workers, periodic=not args.no_periodic)
        return
    base_url = os.environ.get("TEST_DATABASE_URL")
    databases = (args.databases or ("sqlite,postgres" if base_url else "sqlite")).split(",")
    if "postgres" in databases and not base_url:
        sys.exit("postgres needs TEST_DATABASE_URL (a server URL; a scratch database is made)")
    results = []
    for db_kind in databases:
        for broker in args.brokers.split(","):
            results += bench_one(db_kind, broker, args, base_url)
    print(
        f"\n{'database':10} {'broker':6} {'run':8} {'last sent':>9} {'last recv':>9} "
        f"{'mails/s':>7} {'first sent':>10} {'sending':>7} {'conns':>5} {'peak RSS':>8}"
    )
    for found in results:
        print(
            f"{found['database']:10} {found['broker']:6} {found['run']:8} "
            f"{found['last_sent']:8.2f}s {found['last_received']:8.2f}s "
            f"{args.mails / found['last_received']:7.0f} {found['first_sent']:9.2f}s "
            f"{(args.mails - 1) / (found['last_sent'] - found['first_sent']):7.0f} "
            f"{found['connections']:5} {found['peak']:5.0f} MiB"
        )
    print("sending: mails/s from the first sent_at to the last; conns: SMTP connections")
    print(
        f"worker: {args.workers} threads, "
        f"{'prototype reusing SMTP connections' if args.reuse_smtp else 'portal code'}; "
        f"swept run: {'flask --app portal jobs sweep' if args.sweep == 'cli' else 'periodic'}"
    )


if __name__ == "__main__":
    main()
