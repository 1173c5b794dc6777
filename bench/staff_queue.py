"""Latency of the staff pages with 10 000 open submissions, on PostgreSQL under gunicorn.

Seeds a fresh PostgreSQL database with 3 committees, 9 service areas, 300 providers
with agreements, information requests and N open submissions (default 10 000:
submitted, drafts waiting for the provider, clarification requested, approved
deviation reports with open action plans and approved action plans) spread over
the committees, each answered one with a submitted version, plus N/2 decided
ones as history. The rows are bulk-inserted (the workflow module would take
minutes for this many; the shapes are the same). Then it starts the app under
gunicorn on 127.0.0.1, logs in as a reviewer of all three committees, and
requests each page sequentially over one keep-alive connection (the latency one
officer sees) and from several clients at once, reporting p50/p95/max per page.

    .venv/bin/python bench/staff_queue.py
    .venv/bin/python bench/staff_queue.py --submissions 20000 --requests 300 --workers 2

Target: p95 < 100 ms for the queue (filtered and unfiltered) and the dashboard.
The database is dropped afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PASSWORD = "Bänk-mätning-med-lång-fras"
REVIEWER = "bench-reviewer@exempelby.example"
OUT = ROOT / "bench" / "out"
TITLES = [
    "Kvalitetsredovisning hemtjänst",
    "Bemanning nattetid",
    "Brukarundersökning",
    "Läkemedelshantering",
    "Avtalsuppföljning",
    "Kontinuitet i hemtjänsten",
    "Vinterväghållning",
    "Måltider och nutrition",
    "Fallprevention",
    "Delaktighet",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def create_database(base: str):
    import sqlalchemy as sa

    url = sa.make_url(base)
    name = f"insyn_bench_staff_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def org_number(n: int) -> str:
    from stdnum import luhn

    base = f"55{n:07d}"
    digits = base + luhn.calc_check_digit(base)
    return f"{digits[:6]}-{digits[6:]}"


def seed(app, open_count: int, rng: random.Random) -> dict:
    """Bulk-insert the registry and the submissions; returns ids for the URLs."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from portal.auth.passwords import hash_password
    from portal.extensions import db

    with app.app_context():
        upgrade()
        t = db.metadata.tables
        now = datetime.now(UTC)
        today = now.date()
        committees = [
            (1, "Vård- och omsorgsnämnden", "VON"),
            (2, "Socialnämnden", "SN"),
            (3, "Tekniska nämnden", "TN"),
        ]
        areas = [
            (i + 1, name, c)
            for i, (name, c) in enumerate(
                [
                    ("Hemtjänst", 1),
                    ("Särskilt boende", 1),
                    ("Korttidsboende", 1),
                    ("Daglig verksamhet LSS", 2),
                    ("Gruppbostad LSS", 2),
                    ("Personlig assistans", 2),
                    ("Snöröjning", 3),
                    ("Städning", 3),
                    ("Parkskötsel", 3),
                ]
            )
        ]
        providers, agreements = [], []
        for pid in range(1, 301):
            providers.append(
                {
                    "id": pid,
                    "name": f"Utförare {pid:03d} AB",
                    "org_number": org_number(pid),
                    "ownership": "private",
                    "description": "",
                }
            )
            area = areas[pid % len(areas)]
            agreements.append(
                {
                    "id": pid,
                    "reference": f"AVT-{pid:04d}",
                    "provider_id": pid,
                    "committee_id": area[2],
                    "service_area_id": area[0],
                    "route": "customer_choice",
                    "starts_on": date(today.year - 2, 1, 1),
                    "ends_on": None,
                    "yearly_value_sek": rng.choice([500_000, 2_500_000, 12_000_000]),
                    "impact": rng.choice(["low", "medium", "high"]),
                    "responsible_officer": "",
                    "quality_requirements": "Kontaktperson för varje brukare.",
                }
            )
        with db.engine.begin() as conn:
            conn.execute(
                t["committee"].insert(), [{"id": i, "name": n, "code": c} for i, n, c in committees]
            )
            conn.execute(
                t["service_area"].insert(),
                [{"id": i, "name": n, "committee_id": c} for i, n, c in areas],
            )
            conn.execute(t["provider"].insert(), providers)
            conn.execute(t["agreement"].insert(), agreements)
            conn.execute(
                t["user"].insert(),
                [
                    {
                        "id": 1,
                        "email": REVIEWER,
                        "name": "Bänk Granskare",
                        "role": "reviewer",
                        "password_hash": hash_password(PASSWORD),
                        "active": True,
                        "session_version": 1,
                        "created_at": now,
                    }
                ],
            )
            conn.execute(
                t["user"].insert(),
                [
                    {
                        "id": 2,
                        "email": "bench-provider@utforare.example",
                        "name": "",
                        "role": "provider_user",
                        "provider_id": 1,
                        "active": True,
                        "session_version": 1,
                        "created_at": now,
                    }
                ],
            )
            conn.execute(
                t["user_committee"].insert(),
                [{"user_id": 1, "committee_id": c} for c, _n, _c in committees],
            )
            requests, fields = [], []
            for rid in range(1, 61):
                committee = committees[rid % 3][0]
                requests.append(
                    {
                        "id": rid,
                        "committee_id": committee,
                        "registration_number": f"{committees[rid % 3][2]} {today.year}/R{rid}",
                        "title": f"{rng.choice(TITLES)} {today.year}",
                        "instructions": "",
                        "kind": "transparency_info",
                        "deadline": today + timedelta(days=rid % 40 - 10),
                        "recurs_yearly": False,
                        "created_by_id": 1,
                        "created_at": now,
                    }
                )
                for position in range(1, 6):
                    fields.append(
                        {
                            "id": (rid - 1) * 5 + position,
                            "request_id": rid,
                            "position": position,
                            "label": f"Fråga {position}",
                            "help_text": "",
                            "type": "text",
                            "unit": "",
                            "required": True,
                            "for_publication": True,
                        }
                    )
            conn.execute(t["information_request"].insert(), requests)
            conn.execute(t["request_field"].insert(), fields)

            total = open_count + open_count // 2
            # Open: waiting for review, for the provider, or (deviation reports and action
            # plans) approved while the measures are carried out.
            open_states = (
                ["submitted"] * 45
                + ["draft"] * 30
                + ["clarification_requested"] * 15
                + ["approved"] * 10
            )
            decided_states = ["approved"] * 6 + ["rejected"] * 2 + ["closed"] * 2
            submissions, versions, counters, deviations = [], [], {}, {}
            for sid in range(1, total + 1):
                is_open = sid <= open_count
                state = rng.choice(open_states if is_open else decided_states)
                kind = rng.choices(
                    ["transparency_info", "deviation_report", "action_plan"], [70, 20, 10]
                )[0]
                if state == "approved" and is_open and kind == "transparency_info":
                    kind = rng.choice(["action_plan", "deviation_report"])
                if state == "closed":
                    kind = "action_plan"
                request_id = rng.randint(1, 60) if kind == "transparency_info" else None
                committee = (
                    requests[request_id - 1]["committee_id"] if request_id else rng.randint(1, 3)
                )
                provider = rng.choice(
                    [p for p in range(1, 301) if agreements[p - 1]["committee_id"] == committee]
                )
                deviation_id = None
                if kind == "action_plan" and deviations.get(committee) and rng.random() < 0.5:
                    deviation_id = rng.choice(deviations[committee])
                if kind == "deviation_report":
                    deviations.setdefault(committee, []).append(sid)
                created = now - timedelta(days=rng.randint(1, 200), minutes=rng.randint(0, 1440))
                answered = state != "draft"
                counters[committee] = counters.get(committee, 0) + (1 if answered else 0)
                code = committees[committee - 1][2]
                deadline = (
                    today + timedelta(days=rng.randint(-30, 40))
                    if state in ("draft", "clarification_requested")
                    else None
                )
                submissions.append(
                    {
                        "id": sid,
                        "kind": kind,
                        "state": state,
                        "committee_id": committee,
                        "provider_id": provider,
                        "request_id": request_id,
                        "agreement_id": None,
                        "deviation_id": deviation_id,
                        "service_area_id": agreements[provider - 1]["service_area_id"],
                        "registration_number": f"{code} {today.year}/{counters[committee]}"
                        if answered
                        else None,
                        "title": requests[request_id - 1]["title"]
                        if request_id
                        else ("Avvikelse" if kind == "deviation_report" else "Åtgärdsplan"),
                        "issued_on": created.date(),
                        "deadline": deadline,
                        "created_by_id": 1,
                        "created_at": created,
                        "submitted_at": created + timedelta(days=rng.randint(0, 20))
                        if answered
                        else None,
                        "decided_at": created + timedelta(days=25)
                        if state in ("approved", "rejected", "closed")
                        else None,
                        "lock_version": 1,
                    }
                )
                if answered:
                    if kind == "deviation_report":
                        answers = {
                            "category": "deviation",
                            "severity": rng.choice(["low", "medium", "high"]),
                            "description": "Händelse",
                        }
                    elif kind == "action_plan":
                        answers = {
                            "measures": [
                                {
                                    "description": "Ny rutin",
                                    "owner": "Chef",
                                    "due": (
                                        today + timedelta(days=rng.randint(-20, 40))
                                    ).isoformat(),
                                    "status": rng.choice(["planned", "in_progress", "done"]),
                                }
                            ]
                        }
                    else:
                        answers = {f"f{(request_id - 1) * 5 + p}": f"Svar {p}" for p in range(1, 6)}
                    versions.append(
                        {
                            "submission_id": sid,
                            "number": 1,
                            "answers": answers,
                            "note": "",
                            "created_by_id": 2,
                            "created_at": created,
                            "submitted_by_id": 2,
                            "submitted_at": submissions[-1]["submitted_at"],
                        }
                    )
            for start in range(0, len(submissions), 2000):
                conn.execute(t["submission"].insert(), submissions[start : start + 2000])
            for start in range(0, len(versions), 2000):
                conn.execute(t["submission_version"].insert(), versions[start : start + 2000])
            for table in (
                "committee",
                "service_area",
                "provider",
                "agreement",
                "user",
                "information_request",
                "request_field",
                "submission",
                "submission_version",
            ):
                conn.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                        f'(SELECT max(id) FROM "{table}"))'
                    )
                )
            conn.execute(sa.text("ANALYZE"))
        open_rows = sum(1 for s in submissions[:open_count])
        return {"open": open_rows, "total": total, "providers": 300}


def start_gunicorn(database_url: str, port: int, workers: int, instance: Path):
    env = {
        **os.environ,
        "PORTAL_DATABASE_URL": database_url,
        "PORTAL_INSTANCE_PATH": str(instance),
        "PORTAL_STORAGE_URL": f"file://{instance}/f",
        "PORTAL_SECRET_KEY": "bench-only",
        "PORTAL_ENV": "development",
    }
    return subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "portal:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def stop(process) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


class Browser:
    """One logged-in officer: a keep-alive connection and the session cookie."""

    def __init__(self, port: int):
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, bytes]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status, data

    def login(self) -> None:
        status, page = self.request("GET", "/logga-in")
        token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)[1].decode()
        status, _ = self.request(
            "POST",
            "/logga-in",
            urlencode({"csrf_token": token, "email": REVIEWER, "password": PASSWORD}),
        )
        if status != 302:
            raise RuntimeError(f"login failed: {status}")


def wait_http(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("the app did not start")


PAGES = {
    "queue: to review (default)": "/handlaggare/arenden",
    "queue: unfiltered, all states": "/handlaggare/arenden?status=alla",
    "queue: unfiltered, page 100": "/handlaggare/arenden?status=alla&page=100",
    "queue: filtered (committee, kind, overdue)": "/handlaggare/arenden?status=alla&namnd=2&typ=transparency_info&forsenade=ja",  # noqa: E501
    "queue: filtered (provider, state)": "/handlaggare/arenden?status=submitted&utforare=17",
    "queue: search (text)": "/handlaggare/arenden?status=alla&q=bemanning+natt",
    "dashboard": "/handlaggare/",
    "dashboard: one committee": "/handlaggare/?namnd=1",
}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def measure(port: int, path: str, count: int, clients: int) -> dict:
    """``count`` requests per client; every response must be 200."""
    timings: list[float] = []
    lock = threading.Lock()
    browsers = [Browser(port) for _ in range(clients)]
    for b in browsers:
        b.login()
        for _ in range(5):  # warm up the worker and the connection
            b.request("GET", path)

    def run(b: Browser) -> None:
        mine = []
        for _ in range(count):
            started = time.perf_counter()
            status, _body = b.request("GET", path)
            mine.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise RuntimeError(f"{path}: {status}")
        with lock:
            timings.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=run, args=(b,)) for b in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {
        "p50": round(statistics.median(timings), 1),
        "p95": round(percentile(timings, 0.95), 1),
        "max": round(max(timings), 1),
        "rps": round(len(timings) / elapsed, 1),
        "n": len(timings),
    }


def cpu_per_request(app, path: str, count: int = 30) -> dict:
    """In-process: the app's own CPU time and the time spent waiting for SQL, per request.

    Less sensitive than wall-clock latency to other load on the machine: what a request
    costs, rather than how long it waited for a core.
    """
    import sqlalchemy as sa

    from portal.extensions import db

    waits: list[float] = []
    with app.app_context():
        engine = db.engine

    def before(conn, cursor, statement, params, context, executemany):
        context._bench_started = time.perf_counter()

    def after(conn, cursor, statement, params, context, executemany):
        waits.append(time.perf_counter() - context._bench_started)

    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    try:
        client = app.test_client()
        page = client.get("/logga-in").get_data()
        token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)[1].decode()
        client.post(
            "/logga-in", data={"csrf_token": token, "email": REVIEWER, "password": PASSWORD}
        )
        cpu, sql = [], []
        for i in range(count + 5):
            waits.clear()
            started = time.process_time()
            if client.get(path).status_code != 200:
                raise RuntimeError(path)
            if i >= 5:
                cpu.append((time.process_time() - started) * 1000)
                sql.append(sum(waits) * 1000)
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
        sa.event.remove(engine, "after_cursor_execute", after)
    return {
        "app_cpu_ms": round(statistics.median(cpu), 1),
        "sql_wait_ms": round(statistics.median(sql), 1),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=10_000, help="open submissions")
    parser.add_argument("--requests", type=int, default=200, help="requests per page")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--database", default=os.environ.get("BENCH_POSTGRES_URL", LOCAL_POSTGRES))
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args(argv)

    from portal import create_app

    database_url, drop = create_database(args.database)
    gunicorn = None
    try:
        with tempfile.TemporaryDirectory(prefix="insyn-bench-") as workdir:
            instance = Path(workdir) / "instance"
            app = create_app(
                {
                    "SQLALCHEMY_DATABASE_URI": database_url,
                    "STORAGE_URL": f"file://{instance}/f",
                    "SECRET_KEY": "bench-only",
                    "UPLOAD_TMP": str(instance / "tmp"),
                }
            )
            started = time.perf_counter()
            data = seed(app, args.submissions, random.Random(5))
            seeded = time.perf_counter() - started
            port = free_port()
            gunicorn = start_gunicorn(database_url, port, args.workers, instance)
            wait_http(port)
            report = {
                "submissions_open": data["open"],
                "submissions_total": data["total"],
                "seed_seconds": round(seeded, 1),
                "workers": args.workers,
                "clients": args.clients,
                "load": os.getloadavg()[0],
                "pages": {},
            }
            for name, path in PAGES.items():
                sequential = measure(port, path, args.requests, 1)
                concurrent = measure(
                    port, path, max(args.requests // args.clients, 20), args.clients
                )
                cost = cpu_per_request(app, path)
                report["pages"][name] = {
                    "path": path,
                    "sequential": sequential,
                    "concurrent": concurrent,
                    "cost": cost,
                }
                print(
                    f"{name:45} seq p50 {sequential['p50']:6.1f} p95 {sequential['p95']:6.1f}"
                    f" | {args.clients} clients p50 {concurrent['p50']:6.1f} "
                    f"p95 {concurrent['p95']:6.1f} ({concurrent['rps']} req/s)"
                    f" | app cpu {cost['app_cpu_ms']} sql {cost['sql_wait_ms']} ms",
                    flush=True,
                )
            report["load_after"] = os.getloadavg()[0]
            OUT.mkdir(exist_ok=True)
            (OUT / "staff_queue.json").write_text(json.dumps(report, indent=2))
            return report
    finally:
        if gunicorn is not None:
            stop(gunicorn)
        if args.keep:
            print(f"kept {database_url}")
        else:
            drop()


if __name__ == "__main__":
    main()
