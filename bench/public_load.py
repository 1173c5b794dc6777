"""Load test of the public site at 100 000 publications.

Seeds a fresh database (PostgreSQL by default, on the local server; ``--sqlite``
for the embedded setup) with committees, service areas, providers, agreements,
information requests and N published answers, deviation reports and action
plans with Swedish text; starts the app under gunicorn and nginx serving a
saved copy of one search page as a static file, both on 127.0.0.1; and runs
``wrk`` against each for a fixed time, rotating through many different URLs per
scenario:

- search: ``/sok?q=...`` with one or two words, a third of them with a filter
- browse: ``/sok`` with facet filters and pages, provider pages, publication pages
- api:    ``/api/v1/publications`` with filters and pages, and single publications

It prints (and writes to ``bench/out/public_load.json``) requests per second and
p50/p95/p99 latency per scenario, and the ratio of each scenario's throughput
to nginx's static throughput. Everything listens on loopback only; every run is
bounded by ``--duration``; the database is dropped afterwards unless ``--keep``.

    .venv/bin/python bench/public_load.py                       # 100 000, PostgreSQL
    .venv/bin/python bench/public_load.py --publications 20000 --duration 5
    .venv/bin/python bench/public_load.py --database-url postgresql+psycopg://…/db --reuse

Needs ``wrk`` and ``nginx`` (``apt-get install -y wrk nginx``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
OUT = ROOT / "bench" / "out"

# Words of the domain (what people search for), and a long tail of rarer ones.
_WORD_TEXT = """
hemtjänst särskilt boende äldreboende daglig verksamhet lss snöröjning städning simhall
brukare brukarna personal undersköterska sjuksköterska enhetschef kontaktman kontinuitet
bemanning nattpersonal läkemedel läkemedelshantering delegering avvikelse avvikelser
klagomål synpunkter fall fallprevention trycksår nutrition måltider matsedel kost
delaktighet inflytande genomförandeplan genomförandeplaner brukarråd anhöriga trygghet
bemötande kvalitet kvalitetsarbete ledningssystem egenkontroll rutin rutiner utbildning
kompetens kompetensutveckling handledning introduktion språkkunskap svenska tolk hygien
basala hygienrutiner smitta vaccination influensa covid skyddsutrustning dokumentation
journal sekretess tystnadsplikt lex sarah lex maria anmälan utredning åtgärd åtgärder
åtgärdsplan handlingsplan uppföljning avtal avtalsuppföljning tillsyn insyn nöjdhet
brukarundersökning enkät resultat mål målet måluppfyllelse budget arbetsmiljö
sjukfrånvaro personalomsättning rekrytering vikarier timanställda schema larm
trygghetslarm nyckelhantering nycklar insats insatser beslut biståndshandläggare
väntetid restid planering ruttplanering bilar miljö miljöarbete avfall källsortering
sandning halka plogning gångbana cykelbana vägar parkering belysning vinterväghållning
badvakter vattenkvalitet klor öppettider simskola livräddning säkerhet olyckor lokaler
ventilation brandskydd utrymning tillgänglighet rullstol hiss trappor aktiviteter
utevistelse promenader social samvaro ensamhet kultur musik träning demens demensvård
palliativ vård livets slutskede smärtskattning munhälsa tandvård inkontinens hjälpmedel
rehabilitering fysioterapeut arbetsterapeut dietist läkare
"""
WORDS = _WORD_TEXT.split()


def pseudo_words(rng: random.Random, count: int) -> list[str]:
    """Rare invented words (places, names, jargon) so that the index has a long tail."""
    syllables = [
        "ka",
        "ber",
        "lin",
        "sto",
        "vä",
        "ström",
        "dal",
        "gård",
        "by",
        "holm",
        "lund",
        "vik",
        "berg",
        "sjö",
        "ås",
        "torp",
        "ham",
        "näs",
        "fors",
        "mo",
        "rud",
        "sta",
    ]
    found: set[str] = set()
    while len(found) < count:
        found.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(found)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


# --- database --------------------------------------------------------------------------


def create_database(base: str):
    import sqlalchemy as sa

    url = sa.make_url(base)
    name = f"insyn_bench_{uuid.uuid4().hex[:8]}"
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


def seed(app, count: int, rng: random.Random) -> dict:
    """Bulk-insert the registry and ``count`` publications; returns ids for the URL lists."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from portal.extensions import db

    with app.app_context():
        upgrade()
        t = db.metadata.tables
        engine = db.engine
        vocabulary = WORDS + pseudo_words(rng, 3000)
        # Zipf-like weights: a few words are everywhere, most are rare.
        cumulative = list(
            itertools.accumulate(1.0 / (rank + 1) ** 0.9 for rank in range(len(vocabulary)))
        )
        rng.shuffle(vocabulary)
        committees = [
            (1, "Vård- och omsorgsnämnden", "VON"),
            (2, "Socialnämnden", "SN"),
            (3, "Tekniska nämnden", "TN"),
            (4, "Kultur- och fritidsnämnden", "KFN"),
        ]
        area_names = [
            ("Hemtjänst", 1),
            ("Särskilt boende", 1),
            ("Korttidsboende", 1),
            ("Dagverksamhet", 1),
            ("Daglig verksamhet LSS", 2),
            ("Gruppbostad LSS", 2),
            ("Personlig assistans", 2),
            ("Snöröjning", 3),
            ("Städning", 3),
            ("Parkskötsel", 3),
            ("Simhall", 4),
            ("Fritidsgårdar", 4),
        ]
        areas = [(i + 1, name, committee) for i, (name, committee) in enumerate(area_names)]
        providers, agreements = [], []
        ownerships = ["private"] * 6 + ["in_house"] * 2 + ["municipal_company", "non_profit"]
        for pid in range(1, 401):
            ownership = rng.choice(ownerships)
            providers.append(
                {
                    "id": pid,
                    "name": f"{rng.choice(vocabulary).capitalize()} "
                    f"{rng.choice(['Omsorg', 'Service', 'Drift', 'Vård'])} "
                    f"{'AB' if ownership == 'private' else ''}".strip()
                    + f" {pid}",
                    "org_number": org_number(pid),
                    "ownership": ownership,
                    "description": "",
                }
            )
        by_area: dict[int, list[int]] = {a[0]: [] for a in areas}
        for pid in range(1, 401):
            for area in rng.sample(areas, rng.choice([1, 1, 2])):
                by_area[area[0]].append(pid)
                agreements.append(
                    {
                        "id": len(agreements) + 1,
                        "reference": f"AVT-{len(agreements) + 1}",
                        "provider_id": pid,
                        "committee_id": area[2],
                        "service_area_id": area[0],
                        "route": rng.choice(
                            ["customer_choice", "procurement", "in_house_assignment"]
                        ),
                        "starts_on": date(2022, 1, 1),
                        "ends_on": None,
                        "yearly_value_sek": 1_000_000,
                        "impact": "low",
                        "responsible_officer": "",
                        "quality_requirements": "",
                    }
                )
        counters: dict[tuple[int, int], int] = {}

        def registration(committee: int, year: int) -> str:
            counters[(committee, year)] = counters.get((committee, year), 0) + 1
            return f"{committees[committee - 1][2]} {year}/{counters[(committee, year)]}"

        requests, fields = [], []
        field_id = itertools.count(1)
        for area in areas:
            for year in range(2022, 2027):
                for round_ in range(2):
                    rid = len(requests) + 1
                    requests.append(
                        {
                            "id": rid,
                            "committee_id": area[2],
                            "registration_number": registration(area[2], year),
                            "title": f"Kvalitetsredovisning {area[1].lower()} {year}"
                            + (" (höst)" if round_ else ""),
                            "instructions": "",
                            "kind": "transparency_info",
                            "deadline": date(year, 10 if round_ else 4, 30),
                            "service_area_id": area[0],
                            "recurs_yearly": False,
                            "created_at": datetime(year, 3 if not round_ else 9, 1, tzinfo=UTC),
                        }
                    )
                    for position, (label, kind, unit) in enumerate(
                        [
                            ("Antal brukare", "number", "personer"),
                            ("Andel med relevant utbildning", "percentage", "%"),
                            ("Ledningssystem finns", "yes_no", ""),
                            ("Senaste egenkontroll", "date", ""),
                            ("Beskriv arbetet med delaktighet", "text", ""),
                        ],
                        1,
                    ):
                        fields.append(
                            {
                                "id": next(field_id),
                                "request_id": rid,
                                "position": position,
                                "label": label,
                                "type": kind,
                                "unit": unit,
                                "help_text": "",
                                "required": True,
                                "for_publication": True,
                            }
                        )
        fields_of = {r["id"]: [f for f in fields if f["request_id"] == r["id"]] for r in requests}
        requests_of = {a[0]: [r for r in requests if r["service_area_id"] == a[0]] for a in areas}

        def text(n: int) -> str:
            return " ".join(rng.choices(vocabulary, cum_weights=cumulative, k=n))

        start = datetime(2022, 1, 1, tzinfo=UTC)
        span = (datetime(2026, 11, 1, tzinfo=UTC) - start).total_seconds()
        submissions, versions, publications = [], [], []
        for sid in range(1, count + 1):
            area = rng.choice(areas)
            provider = rng.choice(by_area[area[0]] or [1])
            roll = rng.random()
            kind = (
                "transparency_info"
                if roll < 0.7
                else "deviation_report"
                if roll < 0.9
                else "action_plan"
            )
            published_at = start + timedelta(seconds=rng.random() * span)
            request = rng.choice(requests_of[area[0]]) if kind == "transparency_info" else None
            if kind == "transparency_info":
                keys = [f"f{f['id']}" for f in fields_of[request["id"]]]
                answers = dict(
                    zip(
                        keys,
                        [
                            str(rng.randint(5, 900)),
                            str(rng.randint(20, 100)),
                            rng.choice(["yes", "no"]),
                            published_at.date().isoformat(),
                            text(25),
                        ],
                        strict=True,
                    )
                )
                title = f"{request['title']}: {providers[provider - 1]['name']}"
            elif kind == "deviation_report":
                answers = {
                    "category": rng.choice(["complaint", "error", "deficiency", "deviation"]),
                    "severity": rng.choice(["low", "medium", "high"]),
                    "description": text(30),
                    "immediate_measures": text(12),
                }
                keys = ["category", "severity", "description", "immediate_measures"]
                title = f"Avvikelse: {text(3)}"
            else:
                answers = {
                    "measures": [
                        {
                            "description": text(8),
                            "owner": "Enhetschef",
                            "due": published_at.date().isoformat(),
                            "status": "planned",
                        }
                    ]
                }
                keys = ["measures"]
                title = f"Åtgärdsplan: {text(3)}"
            number = registration(area[2], published_at.year)
            submissions.append(
                {
                    "id": sid,
                    "kind": kind,
                    "state": "approved",
                    "committee_id": area[2],
                    "provider_id": provider,
                    "request_id": request and request["id"],
                    "service_area_id": area[0],
                    "registration_number": number,
                    "title": title,
                    "created_at": published_at - timedelta(days=20),
                    "submitted_at": published_at - timedelta(days=10),
                    "decided_at": published_at - timedelta(days=2),
                    "lock_version": 3,
                }
            )
            versions.append(
                {
                    "id": sid,
                    "submission_id": sid,
                    "number": 1,
                    "answers": answers,
                    "note": "",
                    "created_at": published_at - timedelta(days=20),
                    "submitted_at": published_at - timedelta(days=10),
                }
            )
            withdrawn = rng.random() < 0.02
            summary = text(18).capitalize() + "."
            body = [
                providers[provider - 1]["name"],
                area[1],
                committees[area[2] - 1][1],
                number,
                " ".join(str(v) for v in answers.values() if isinstance(v, str)),
                text(60),
            ]
            publications.append(
                {
                    "id": sid,
                    "submission_id": sid,
                    "version_id": sid,
                    "state": "withdrawn" if withdrawn else "published",
                    "title": title[:300],
                    "summary": summary,
                    "answer_keys": keys,
                    "redacted_answers": {},
                    "search_text": "\n".join(body),
                    "published_at": published_at,
                    "updated_at": published_at,
                    "withdrawn_at": published_at + timedelta(days=3) if withdrawn else None,
                    "withdrawn_reason": "Publicerades av misstag." if withdrawn else None,
                }
            )

        started = time.monotonic()
        with engine.begin() as conn:
            for name, rows in (
                ("committee", [{"id": i, "name": n, "code": c} for i, n, c in committees]),
                ("service_area", [{"id": i, "name": n, "committee_id": c} for i, n, c in areas]),
                ("provider", providers),
                ("agreement", agreements),
                ("information_request", requests),
                ("request_field", fields),
            ):
                conn.execute(t[name].insert(), rows)
            for name, rows in (
                ("submission", submissions),
                ("submission_version", versions),
                ("publication", publications),
            ):
                for chunk in range(0, len(rows), 5000):
                    conn.execute(t[name].insert(), rows[chunk : chunk + 5000])
            if conn.dialect.name == "postgresql":
                for name in (
                    "committee",
                    "service_area",
                    "provider",
                    "agreement",
                    "information_request",
                    "request_field",
                    "submission",
                    "submission_version",
                    "publication",
                ):
                    conn.execute(
                        sa.text(
                            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                            f'(SELECT max(id) FROM "{name}"))'
                        )
                    )
        # As after a night's autovacuum: statistics, and the visibility map that lets
        # counts use index-only scans.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            postgresql = conn.dialect.name == "postgresql"
            for statement in ("VACUUM ANALYZE",) if postgresql else ("VACUUM", "ANALYZE"):
                conn.execute(sa.text(statement))
        seconds = time.monotonic() - started
        engine.dispose()
    live = [p["id"] for p in publications if p["state"] == "published"]
    return {
        "seconds": round(seconds, 1),
        "publications": len(publications),
        "published": len(live),
        "live_ids": live,
        "areas": [a[0] for a in areas],
        "committees": [c[0] for c in committees],
        "providers": list(range(1, 401)),
        "words": WORDS,
        "rare": vocabulary[-500:],
    }


# --- URL lists -------------------------------------------------------------------------


def search_paths(rng: random.Random, data: dict, n: int) -> list[str]:
    paths = []
    for _ in range(n):
        words = rng.sample(data["words"], rng.choice([1, 1, 2]))
        if rng.random() < 0.15:
            words = [rng.choice(data["rare"])]
        args = {"q": " ".join(words)}
        if rng.random() < 0.33:
            name, value = rng.choice(
                [
                    ("service_area", rng.choice(data["areas"])),
                    ("kind", rng.choice(["transparency_info", "deviation_report"])),
                    ("year", rng.choice([2023, 2024, 2025, 2026])),
                ]
            )
            args[name] = value
        if rng.random() < 0.2:
            args["page"] = rng.randint(2, 4)
        paths.append("/sok?" + urlencode(args))
    return paths


def browse_paths(rng: random.Random, data: dict, n: int) -> list[str]:
    paths = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.5:
            args = {}
            for name, values in (
                ("service_area", data["areas"]),
                ("committee", data["committees"]),
                ("ownership", ["private", "in_house", "non_profit"]),
                ("kind", ["transparency_info", "deviation_report", "action_plan"]),
                ("year", [2022, 2023, 2024, 2025, 2026]),
            ):
                if rng.random() < 0.25:
                    args[name] = rng.choice(values)
            if rng.random() < 0.4:
                args["page"] = rng.randint(2, 20)
            paths.append("/sok" + ("?" + urlencode(args) if args else ""))
        elif roll < 0.75:
            paths.append(f"/utforare/{rng.choice(data['providers'])}")
        else:
            paths.append(f"/publicerat/{rng.choice(data['live_ids'])}")
    return paths


def api_paths(rng: random.Random, data: dict, n: int) -> list[str]:
    paths = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.5:
            args = {}
            if rng.random() < 0.5:
                args["service_area"] = rng.choice(data["areas"])
            if rng.random() < 0.3:
                args["kind"] = rng.choice(["transparency_info", "deviation_report"])
            if rng.random() < 0.5:
                args["page"] = rng.randint(1, 50)
            paths.append("/api/v1/publications" + ("?" + urlencode(args) if args else ""))
        elif roll < 0.8:
            paths.append(f"/api/v1/publications/{rng.choice(data['live_ids'])}")
        else:
            paths.append("/api/v1/publications?" + urlencode({"q": rng.choice(data["words"])}))
    return paths


# --- servers and load ----------------------------------------------------------------------


WRK_SCRIPT = r"""
local paths = {}
for line in io.lines(os.getenv("INSYN_PATHS")) do paths[#paths + 1] = line end
local counter = 0
init = function(args)
  math.randomseed(tonumber(os.getenv("INSYN_SEED") or "1") + (wrk.thread and 0 or 0))
  counter = math.random(#paths)
end
request = function()
  counter = counter % #paths + 1
  return wrk.format("GET", paths[counter])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "socket_errors": %d, "non_2xx_3xx": %d, '
    .. '"p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "mean_ms": %.2f}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.mean / 1000))
end
"""


def service_times(app, scenarios: dict[str, list[str]], count: int) -> dict:
    """Each scenario's requests one at a time through the WSGI app in this process: the
    time one request costs the app (database included), without HTTP or queueing; and
    what it is made of: this process's CPU time (the app's Python work) and the time spent
    waiting for SQL statements (the database's work, plus its queueing on a busy machine).
    """
    import sqlalchemy as sa

    from portal.extensions import db

    with app.app_context():
        engine = db.engine
    sql = {"seconds": 0.0, "statements": 0}

    def before(conn, *_args):
        conn.info["bench_started"] = time.perf_counter()

    def after(conn, *_args):
        sql["seconds"] += time.perf_counter() - conn.info.pop("bench_started")
        sql["statements"] += 1

    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)

    def percentile(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))], 1)

    results = {}
    client = app.test_client()
    try:
        for name, paths in scenarios.items():
            for path in paths[:20]:  # warm-up: templates compiled, connections open
                client.get(path).close()
            times, cpu, waits, statements = [], [], [], []
            for path in paths[-count:]:
                sql["seconds"], sql["statements"] = 0.0, 0
                started, cpu_started = time.perf_counter(), time.process_time()
                response = client.get(path)
                response.get_data()
                times.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - cpu_started) * 1000)
                waits.append(sql["seconds"] * 1000)
                statements.append(sql["statements"])
                if response.status_code != 200:
                    raise RuntimeError(f"{path}: {response.status_code}")
            results[name] = {
                "requests": len(times),
                "p50_ms": percentile(times, 0.5),
                "p95_ms": percentile(times, 0.95),
                "p99_ms": percentile(times, 0.99),
                "cpu_p50_ms": percentile(cpu, 0.5),
                "sql_p50_ms": percentile(waits, 0.5),
                "statements_mean": round(sum(statements) / len(statements), 1),
                "load_after": load_average(),
            }
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
        sa.event.remove(engine, "after_cursor_execute", after)
    return results


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def run_wrk(
    base: str, paths: list[str], *, duration: int, connections: int, workdir: Path, name: str
) -> dict:
    paths_file = workdir / f"{name}.paths"
    paths_file.write_text("\n".join(paths) + "\n")
    script = workdir / "rotate.lua"
    script.write_text(WRK_SCRIPT)
    env = {**os.environ, "INSYN_PATHS": str(paths_file), "INSYN_SEED": "7"}
    result = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{duration}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            base,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=duration + 60,
        check=True,
    )
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT "))
    figures = json.loads(line.removeprefix("RESULT "))
    figures["rps"] = round(figures["requests"] / (figures["duration_us"] / 1e6), 1)
    return figures


def start_gunicorn(
    database_url: str, port: int, workers: int, threads: int, instance: Path
) -> subprocess.Popen:
    env = {
        **os.environ,
        "PORTAL_DATABASE_URL": database_url,
        "PORTAL_INSTANCE_PATH": str(instance),
        "PORTAL_STORAGE_URL": f"file://{instance}/f",
        "PORTAL_SECRET_KEY": "bench-only",
        "PORTAL_ENV": "development",
        # The bench measures the app from one address; the per-client limit is not measured.
        "PORTAL_PUBLIC_RATE_LIMIT": "1000000 per second",
    }
    return subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "--workers",
            str(workers),
            "--threads",
            str(threads),
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


NGINX_CONF = """
worker_processes {workers};
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {dir}/tmp; proxy_temp_path {dir}/tmp; fastcgi_temp_path {dir}/tmp;
  uwsgi_temp_path {dir}/tmp; scgi_temp_path {dir}/tmp;
  types {{ text/html html; }}
  sendfile on;
  server {{
    listen 127.0.0.1:{port};
    root {dir}/www;
    location / {{ try_files /page.html =404; default_type text/html; }}
  }}
}}
"""


def start_nginx(page: bytes, port: int, workers: int, workdir: Path) -> subprocess.Popen:
    workdir.chmod(0o755)  # nginx's workers run as www-data
    (workdir / "www").mkdir(exist_ok=True)
    (workdir / "tmp").mkdir(exist_ok=True)
    (workdir / "www" / "page.html").write_bytes(page)
    conf = workdir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(workers=workers, dir=workdir, port=port))
    return subprocess.Popen(
        ["nginx", "-p", str(workdir), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


# --- main --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--publications", type=int, default=100_000)
    parser.add_argument(
        "--database-url",
        help="an empty database to use (default: a new "
        "one on the local PostgreSQL server, dropped afterwards)",
    )
    parser.add_argument("--sqlite", action="store_true", help="seed a SQLite file instead")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="--database-url is already seeded by an earlier --keep run",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--duration", type=int, default=15, help="seconds per scenario")
    parser.add_argument(
        "--scenarios", default="search,browse,api", help="comma-separated: search, browse, api"
    )
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads per gunicorn worker (more than 1: gthread workers)",
    )
    parser.add_argument("--paths", type=int, default=3000, help="distinct URLs per scenario")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--service-requests",
        type=int,
        default=300,
        help="requests per scenario timed one at a time in-process",
    )
    args = parser.parse_args(argv)
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is not installed (apt-get install -y wrk nginx)")

    rng = random.Random(args.seed)
    report: dict = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "workers": args.workers,
        "threads": args.threads,
        "connections": args.connections,
        "duration_s": args.duration,
        "load_start": load_average(),
    }
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="insyn-bench-")))
        if args.sqlite:
            database_url = f"sqlite:///{workdir / 'bench.sqlite'}"
        elif args.database_url:
            database_url = args.database_url
        else:
            database_url, drop = create_database(LOCAL_POSTGRES)
            if not args.keep:
                stack.callback(drop)
            else:
                print(f"database kept: {database_url}")
        report["database"] = database_url.split(":", 1)[0]

        from portal import create_app

        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": database_url,
                "STORAGE_URL": f"file://{workdir / 'files'}",
                "UPLOAD_TMP": str(workdir / "upload-tmp"),
                # As for gunicorn below: one address, the per-client limit is not measured.
                "PUBLIC_RATE_LIMIT": "1000000 per second",
            }
        )
        if args.reuse:
            data = reuse(app)
        else:
            print(f"seeding {args.publications} publications ...", flush=True)
            data = seed(app, args.publications, rng)
            print(f"seeded in {data['seconds']} s", flush=True)
        report["publications"] = data["publications"]
        report["seed_seconds"] = data.get("seconds")

        app_port, static_port = free_port(), free_port()
        gunicorn = start_gunicorn(
            database_url, app_port, args.workers, args.threads, workdir / "instance"
        )
        stack.callback(stop, gunicorn)
        base = f"http://127.0.0.1:{app_port}"
        wait_http(base + "/om")

        makers = {"search": search_paths, "browse": browse_paths, "api": api_paths}
        scenarios = {
            name: makers[name](rng, data, args.paths) for name in args.scenarios.split(",")
        }
        # Warm each worker's connection pool and the database's caches, briefly.
        for name, paths in scenarios.items():
            run_wrk(
                base,
                paths[:200],
                duration=2,
                connections=args.connections,
                workdir=workdir,
                name=f"warm-{name}",
            )

        sample = "/sok?" + urlencode({"q": "hemtjänst"})
        with urllib.request.urlopen(base + sample, timeout=30) as response:
            page = response.read()
        report["static_page"] = {"path": sample, "bytes": len(page)}

        results = {}
        for name, paths in scenarios.items():
            results[name] = run_wrk(
                base,
                paths,
                duration=args.duration,
                connections=args.connections,
                workdir=workdir,
                name=name,
            )
            results[name]["load_after"] = load_average()
            print(name, results[name], flush=True)
        stop(gunicorn)

        nginx = start_nginx(page, static_port, args.workers, workdir)
        stack.callback(stop, nginx)
        wait_http(f"http://127.0.0.1:{static_port}/")
        results["static"] = run_wrk(
            f"http://127.0.0.1:{static_port}",
            [sample],
            duration=args.duration,
            connections=args.connections,
            workdir=workdir,
            name="static",
        )
        results["static"]["load_after"] = load_average()
        print("static", results["static"], flush=True)
        for name in scenarios:
            results[name]["ratio_to_static"] = round(
                results[name]["rps"] / results["static"]["rps"], 3
            )
        report["results"] = results
        print("timing requests one at a time in-process ...", flush=True)
        report["service"] = service_times(app, scenarios, args.service_requests)

    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "public_load.json").write_text(json.dumps(report, indent=2))
    print_table(report)
    return report


def reuse(app) -> dict:
    """The ids and words of a database seeded by an earlier run (--keep)."""
    import sqlalchemy as sa

    from portal.extensions import db
    from portal.models import Committee, Provider, Publication, PublicationState, ServiceArea

    with app.app_context():
        live = db.session.scalars(
            sa.select(Publication.id).where(Publication.state == PublicationState.PUBLISHED)
        ).all()
        data = {
            "publications": db.session.scalar(sa.select(sa.func.count(Publication.id))),
            "live_ids": list(live),
            "areas": db.session.scalars(sa.select(ServiceArea.id)).all(),
            "committees": db.session.scalars(sa.select(Committee.id)).all(),
            "providers": db.session.scalars(sa.select(Provider.id)).all(),
            "words": WORDS,
            "rare": pseudo_words(random.Random(1), 3000)[:500],
        }
        db.engine.dispose()
    return data


def print_table(report: dict) -> None:
    print(
        f"\n{report['publications']} publications, {report['database']}, "
        f"{report['workers']} gunicorn workers × {report['threads']} threads, "
        f"{report['connections']} connections, "
        f"{report['duration_s']} s per scenario, {report['cpus']} CPUs, "
        f"load average at the start {report.get('load_start', '?')}"
    )
    print("| scenario | requests/s | p50 | p95 | p99 | errors | ratio to static | load after |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for name, r in report["results"].items():
        print(
            f"| {name} | {r['rps']:.0f} | {r['p50_ms']:.1f} ms | {r['p95_ms']:.1f} ms | "
            f"{r['p99_ms']:.1f} ms | {r['socket_errors'] + r['non_2xx_3xx']} | "
            f"{r.get('ratio_to_static', 1.0):.3f} | {r['load_after']} |"
        )
    print("\nOne request at a time, in-process (no HTTP, no queueing):")
    print(
        "| scenario | requests | p50 | p95 | p99 | app CPU p50 | SQL wait p50 "
        "| statements | load after |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for name, r in report.get("service", {}).items():
        print(
            f"| {name} | {r['requests']} | {r['p50_ms']:.1f} ms | {r['p95_ms']:.1f} ms | "
            f"{r['p99_ms']:.1f} ms | {r['cpu_p50_ms']:.1f} ms | {r['sql_p50_ms']:.1f} ms | "
            f"{r['statements_mean']:.1f} | {r['load_after']} |"
        )


if __name__ == "__main__":
    main()
