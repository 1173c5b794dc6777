"""The production-like stack (docker-compose.yml, Dockerfile, .dockerignore, deploy/),
checked by reading: there is no Docker engine where the suite runs, so these tests
parse the files and hold them to DESIGN.md and to the storage issue's pitfalls.
"""

from __future__ import annotations

import os
import re
import runpy
import shlex
from pathlib import Path

import pytest
import yaml
from flask import request
from flask_migrate import upgrade
from gunicorn.config import Config as GunicornConfig
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.extensions import db
from portal.models import Municipality

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DEPLOY = ROOT / "deploy"

# ${NAME}, ${NAME:?message}, ${NAME:-default} ... as Compose interpolates them ($$ is a literal $).
REFERENCE = re.compile(
    r"(?<!\$)\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[?\-+])?(?P<arg>[^}]*)\}"
)
REQUIRED_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:\?[^}]*\}")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|ACCESS_KEY|ROOT_USER|REDISCLI_AUTH")
CREDENTIALS_IN_URL = re.compile(r"^[a-z0-9+]+://(?P<userinfo>[^/]*)@")

LONG_RUNNING = {"app", "worker", "db", "minio", "clamav", "mailpit", "redis"}
ONE_SHOT = {"minio-init"}


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


COMPOSE = _load(COMPOSE_FILE)
SERVICES: dict[str, dict] = COMPOSE["services"]


def _strings(node):
    """Every string in a parsed YAML tree (keys excluded)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


APP_ENV = _environment(SERVICES["app"])


def _volume_mounts(service: dict) -> list[tuple[str, str, str]]:
    """(source, target, mode) of each short-syntax volume entry."""
    mounts = []
    for entry in service.get("volumes", []):
        parts = entry.split(":")
        mounts.append((parts[0], parts[1], parts[2] if len(parts) > 2 else "rw"))
    return mounts


def _mib(value: str) -> int:
    """clamd's sizes: a number with an optional K or M suffix (1024-based)."""
    match = re.fullmatch(r"(\d+)([KkMm]?)", value)
    assert match, f"not a clamd size: {value!r}"
    number, unit = int(match[1]), match[2].upper()
    return number * {"": 1, "K": 1024, "M": 1024 * 1024}[unit]


def _clamd_options(path: Path) -> dict[str, str]:
    options = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition(" ")
            assert name not in options, f"{path.name}: {name} set twice"
            options[name] = value.strip()
    return options


def _upload_limit_bytes() -> int:
    """PORTAL_MAX_UPLOAD_MB as the app computes it: the compose value, else the app's default."""
    config = (ROOT / "portal" / "config.py").read_text(encoding="utf-8")
    default = re.search(r'"PORTAL_MAX_UPLOAD_MB",\s*"(\d+)"', config)
    assert default, "portal/config.py no longer reads PORTAL_MAX_UPLOAD_MB with a default"
    return int(APP_ENV.get("PORTAL_MAX_UPLOAD_MB", default[1])) * 1024 * 1024


def _final_stage(dockerfile: str) -> list[str]:
    """Instructions of the last build stage, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", dockerfile)
    lines = [" ".join(line.split()) for line in joined.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    starts = [i for i, line in enumerate(lines) if line.upper().startswith("FROM ")]
    return lines[starts[-1] :]


# --- services ---------------------------------------------------------------------------


def test_the_stack_has_its_services():
    assert set(SERVICES) == LONG_RUNNING | ONE_SHOT


def test_every_long_running_service_has_a_healthcheck_and_restarts():
    for name in LONG_RUNNING:
        service = SERVICES[name]
        check = service.get("healthcheck")
        assert check and not check.get("disable"), f"{name} has no healthcheck"
        assert check["test"][0] in ("CMD", "CMD-SHELL") and len(check["test"]) > 1, name
        assert service.get("restart") == "unless-stopped", name


def test_one_shot_services_run_once():
    for name in ONE_SHOT:
        assert SERVICES[name].get("restart") == "no", name
        assert "healthcheck" not in SERVICES[name], name


def test_the_app_starts_only_when_everything_it_needs_is_ready():
    depends = SERVICES["app"]["depends_on"]
    assert set(depends) == (LONG_RUNNING | ONE_SHOT) - {"app", "worker"}
    for name in LONG_RUNNING - {"app", "worker"}:
        assert depends[name]["condition"] == "service_healthy", name
    assert depends["minio-init"]["condition"] == "service_completed_successfully"
    assert SERVICES["minio-init"]["depends_on"]["minio"]["condition"] == "service_healthy"


def test_the_app_healthcheck_asks_healthz_on_the_gunicorn_port():
    test = " ".join(SERVICES["app"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/healthz" in test


def test_only_the_app_publishes_a_port_and_only_on_loopback():
    for name, service in SERVICES.items():
        assert service.get("network_mode") != "host", name
        if name != "app":
            assert "ports" not in service, f"{name} publishes a port"
    assert SERVICES["app"]["ports"] == ["127.0.0.1:8000:8000"]


def test_the_backend_network_has_no_route_off_the_host():
    assert COMPOSE["networks"]["backend"]["internal"] is True
    for name, service in SERVICES.items():
        assert "backend" in service["networks"], name
    # The app needs a non-internal network for its published port, ClamAV for freshclam.
    assert {n for n, s in SERVICES.items() if "egress" in s["networks"]} == {"app", "clamav"}


def test_mailpit_ui_overlay_publishes_on_loopback_only():
    overlay = _load(DEPLOY / "compose.mailpit-ui.yml")
    assert set(overlay["services"]) == {"mailpit"}
    for port in overlay["services"]["mailpit"]["ports"]:
        assert port.startswith("127.0.0.1:"), port


# --- volumes ----------------------------------------------------------------------------


def test_named_volumes_are_declared_and_used():
    declared = set(COMPOSE["volumes"])
    used = set()
    for name, service in SERVICES.items():
        for source, _target, _mode in _volume_mounts(service):
            if source.startswith((".", "/")):
                assert (ROOT / source).resolve().exists(), f"{name}: {source} is not in the repo"
                assert not source.startswith("/"), f"{name}: absolute host path {source}"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"
                used.add(source)
        assert "tmpfs" not in service, f"{name} uses a tmpfs"
    assert used == declared


@pytest.mark.parametrize(
    ("service", "target"),
    [
        ("db", "/var/lib/postgresql/data"),
        ("minio", "/data"),
        ("clamav", "/var/lib/clamav"),
        ("mailpit", "/data"),
        ("app", "/var/lib/insyn/upload-tmp"),
        ("redis", "/data"),
    ],
)
def test_state_lives_on_a_named_volume(service, target):
    named = {t for s, t, _ in _volume_mounts(SERVICES[service]) if not s.startswith((".", "/"))}
    assert target in named


def test_state_paths_match_what_the_services_use():
    assert SERVICES["minio"]["command"][-1] == "/data"
    assert _environment(SERVICES["mailpit"])["MP_DATABASE"].startswith("/data/")
    # Uploads are spooled on the volume (disk), not in memory.
    assert APP_ENV["PORTAL_UPLOAD_TMP"] == "/var/lib/insyn/upload-tmp"


# --- secrets ----------------------------------------------------------------------------


def test_no_secret_is_written_in_the_compose_file():
    for name, service in SERVICES.items():
        for key, value in _environment(service).items():
            if SECRET_NAME.search(key) or key == "PORTAL_SECRET_KEY":
                assert REQUIRED_REFERENCE.fullmatch(value), f"{name}.{key} is not a ${{VAR:?}}"
            url = CREDENTIALS_IN_URL.match(value)
            if url:
                # user:password, where the password (and a user that is a secret) is a reference.
                userinfo = REQUIRED_REFERENCE.sub("<ref>", url["userinfo"])
                user, _, password = userinfo.partition(":")
                assert password == "<ref>", f"{name}.{key}: the password is not a ${{VAR:?}}"
                assert re.fullmatch(r"<ref>|[a-z][a-z0-9_-]*|", user), f"{name}.{key}: {user}"
    command = SERVICES["redis"]["command"]
    assert REQUIRED_REFERENCE.fullmatch(command[command.index("--requirepass") + 1])


def test_every_secret_reference_is_required_not_defaulted():
    for text in _strings(COMPOSE):
        for ref in REFERENCE.finditer(text):
            if SECRET_NAME.search(ref["name"]) or ref["name"] == "PORTAL_SECRET_KEY":
                assert ref["op"] == ":?", f"${{{ref['name']}}} must be ${{{ref['name']}:?...}}"


def test_env_example_documents_every_variable_with_placeholders_only():
    example = {}
    for line in (DEPLOY / "env.example").read_text(encoding="utf-8").splitlines():
        line = line.strip().removeprefix("# ")
        if re.match(r"^[A-Z_]+=", line):
            key, _, value = line.partition("=")
            example[key] = value
    referenced = {ref["name"] for text in _strings(COMPOSE) for ref in REFERENCE.finditer(text)}
    assert referenced <= set(example), referenced - set(example)
    for key, value in example.items():
        if SECRET_NAME.search(key) and "ACCESS_KEY" not in key and "ROOT_USER" not in key:
            assert value == "CHANGE-ME", f"deploy/env.example {key} must be a placeholder"
        if key == "PORTAL_SECRET_KEY":
            assert value == "CHANGE-ME"


def test_placeholders_are_refused_at_start():
    entrypoint = (DEPLOY / "entrypoint.sh").read_text(encoding="utf-8")
    assert "CHANGE-ME" in entrypoint
    assert "CHANGE-ME" in (DEPLOY / "minio-init.sh").read_text(encoding="utf-8")


# --- the app's settings -------------------------------------------------------------------


def test_every_portal_variable_set_is_one_the_app_reads():
    config = (ROOT / "portal" / "config.py").read_text(encoding="utf-8")
    read = set(re.findall(r"PORTAL_[A-Z_]+", config))
    dockerfile_env = set(re.findall(r"\bPORTAL_[A-Z_]+(?==)", (ROOT / "Dockerfile").read_text()))
    for name, service in SERVICES.items():
        portal = {key for key in _environment(service) if key.startswith("PORTAL_")}
        assert portal <= read, f"{name} sets {portal - read}, which portal/config.py never reads"
    assert dockerfile_env <= read


def test_the_app_is_configured_for_this_stack():
    assert APP_ENV["PORTAL_ENV"] == "production"
    # The app connects as a role that cannot bypass row-level security; the owner migrates.
    assert re.fullmatch(
        r"postgresql\+psycopg://insyn_app:\$\{POSTGRES_APP_PASSWORD:\?[^}]*\}@db:5432/insyn",
        APP_ENV["PORTAL_DATABASE_URL"],
    )
    assert re.fullmatch(
        r"postgresql\+psycopg://insyn:\$\{POSTGRES_PASSWORD:\?[^}]*\}@db:5432/insyn",
        APP_ENV["PORTAL_MIGRATION_DATABASE_URL"],
    )
    db_env = _environment(SERVICES["db"])
    assert db_env["POSTGRES_USER"] == "insyn" and db_env["POSTGRES_DB"] == "insyn"
    init = (ROOT / "deploy" / "postgres-init" / "10-app-role.sh").read_text()
    assert "CREATE ROLE insyn_app LOGIN NOSUPERUSER NOBYPASSRLS" in init
    assert "ALTER DEFAULT PRIVILEGES IN SCHEMA public" in init

    bucket = _environment(SERVICES["minio-init"])["INSYN_BUCKET"]
    storage = APP_ENV["PORTAL_STORAGE_URL"]
    assert storage.startswith("s3://${MINIO_APP_ACCESS_KEY:?")
    assert storage.endswith(f"@minio:9000/{bucket}?secure=false")

    assert APP_ENV["PORTAL_CLAMD_URL"] == "tcp://clamav:3310"
    assert APP_ENV["PORTAL_SMTP_URL"] == "smtp://mailpit:1025"
    assert re.fullmatch(
        r"redis://:\$\{REDIS_PASSWORD:\?[^}]*\}@redis:6379/0", APP_ENV["PORTAL_RATELIMIT_URL"]
    )
    assert REQUIRED_REFERENCE.fullmatch(APP_ENV["PORTAL_BASE_URL"])


def test_minio_init_creates_the_bucket_and_a_limited_account():
    script = (DEPLOY / "minio-init.sh").read_text(encoding="utf-8")
    assert script.splitlines()[0] == "#!/bin/sh" and "set -eu" in script
    assert 'mc mb --ignore-existing "store/$INSYN_BUCKET"' in script
    assert "arn:aws:s3:::$INSYN_BUCKET/*" in script
    mounts = {t: s for s, t, _ in _volume_mounts(SERVICES["minio-init"])}
    assert mounts["/minio-init.sh"] == "./deploy/minio-init.sh"
    assert SERVICES["minio-init"]["entrypoint"] == ["/bin/sh", "/minio-init.sh"]


# --- clamd ------------------------------------------------------------------------------


CLAMD = _clamd_options(DEPLOY / "clamd.conf")
TEST_CLAMD = _clamd_options(ROOT / "tests" / "data" / "clamav" / "clamd.conf.in")


def test_clamd_config_is_mounted_over_the_image_config():
    mounts = {t: (s, m) for s, t, m in _volume_mounts(SERVICES["clamav"])}
    assert mounts["/etc/clamav/clamd.conf"] == ("./deploy/clamd.conf", "ro")


@pytest.mark.parametrize(
    "option",
    [
        "AlertExceedsMax",
        "AlertEncrypted",
        "AlertOLE2Macros",
        "AlertBrokenExecutables",
    ],
)
def test_clamd_reports_what_it_cannot_fully_scan(option):
    assert CLAMD[option] == "yes"


def test_clamd_policy_is_the_one_the_tests_prove():
    policy = {k: v for k, v in TEST_CLAMD.items() if k.startswith(("Alert", "Scan"))}
    assert policy, "the test configuration has no Alert*/Scan* options any more"
    for option, value in policy.items():
        assert CLAMD.get(option) == value, f"{option}: {CLAMD.get(option)} here, {value} in tests"
    assert CLAMD["MaxRecursion"] == TEST_CLAMD["MaxRecursion"]
    assert CLAMD["MaxFiles"] == TEST_CLAMD["MaxFiles"]


def test_clamd_limits_fit_the_upload_limit():
    limit = _upload_limit_bytes()
    stream = _mib(CLAMD["StreamMaxLength"])
    assert stream >= limit
    assert _mib(CLAMD["MaxFileSize"]) >= stream
    # Extracted container content counts too: 4 x the limit, as tests/fixtures_services.py
    # computes it (clamd caps its limits at 4000M).
    assert _mib(CLAMD["MaxScanSize"]) >= min(4 * limit, 4000 * 1024 * 1024)


def test_clamd_answers_before_the_app_gives_up():
    assert int(CLAMD["MaxScanTime"]) / 1000 < float(APP_ENV["PORTAL_CLAMD_TIMEOUT"])


def test_clamd_listens_where_the_app_and_the_image_expect():
    port = APP_ENV["PORTAL_CLAMD_URL"].rsplit(":", 1)[1]
    assert CLAMD["TCPSocket"] == port
    assert "TCPAddr" not in CLAMD  # the image's clamdcheck.sh pings localhost:3310
    # The image's /init waits for this socket before it reports clamd started.
    assert CLAMD["LocalSocket"] == "/tmp/clamd.sock"
    assert "LogFile" not in CLAMD  # stdout, i.e. docker logs
    assert CLAMD["DatabaseDirectory"] == "/var/lib/clamav"


# --- image ------------------------------------------------------------------------------


DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
FINAL = _final_stage(DOCKERFILE)
ENTRYPOINT = (DEPLOY / "entrypoint.sh").read_text(encoding="utf-8")


def test_the_image_is_python_311_slim_and_installs_the_project():
    assert FINAL[0].split()[1] == "python:3.11-slim"
    assert re.search(r"^FROM python:3\.11-slim AS build$", DOCKERFILE, re.M)
    assert re.search(r"pip install --no-deps \.", DOCKERFILE)
    assert "tomllib" in DOCKERFILE  # dependencies from pyproject.toml
    assert "pybabel compile" in DOCKERFILE and "[ -d translations ]" in DOCKERFILE
    assert "ENV PATH=/opt/venv/bin:$PATH PYTHONPATH=/app" in " ".join(FINAL)


def test_the_image_runs_as_an_unprivileged_user():
    users = [line.split()[1] for line in FINAL if line.upper().startswith("USER ")]
    assert users, "the final stage never sets USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    # Set after every RUN, so nothing later runs as root again by accident.
    assert all(
        not line.upper().startswith("RUN ") for line in FINAL[FINAL.index(f"USER {users[-1]}") :]
    )


def test_the_image_starts_through_the_entrypoint():
    entry = [line for line in FINAL if line.startswith("ENTRYPOINT")]
    assert entry == ['ENTRYPOINT ["/app/deploy/entrypoint.sh"]']
    assert 'CMD ["serve"]' in FINAL


def test_the_entrypoint_migrates_before_gunicorn():
    lines = [line.strip() for line in ENTRYPOINT.splitlines()]
    assert lines[0] == "#!/bin/sh"
    assert "set -eu" in lines  # a failed migration stops the start
    code = [line for line in lines if line and not line.startswith("#")]
    upgrade = code.index("flask --app portal db upgrade")
    # The first line that starts gunicorn in any way comes after the migration.
    gunicorn = next(i for i, line in enumerate(code) if re.search(r"\bgunicorn\b", line))
    assert upgrade < gunicorn
    assert shlex.split(code[gunicorn]) == [
        "exec",
        "gunicorn",
        "--config",
        "/app/deploy/gunicorn.conf.py",
    ]
    assert (DEPLOY / "entrypoint.sh").stat().st_mode & 0o111, "entrypoint.sh is not executable"


def test_dockerignore_lets_in_only_what_the_image_runs():
    rules = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*"
    included = {rule[1:] for rule in rules if rule.startswith("!")}
    needed = {
        "pyproject.toml",
        "portal",
        "admin",
        "storage",
        "templates",
        "migrations",
        "deploy/entrypoint.sh",
        "deploy/gunicorn.conf.py",
        "deploy/wsgi.py",
    }
    assert needed <= included
    for path in included:
        assert not re.search(r"(^|/)(\.env|instance|\.git|\.venv|tests)(/|$)", path), path


# --- gunicorn and the WSGI entry point --------------------------------------------------------


def _gunicorn_settings(monkeypatch, **environ) -> GunicornConfig:
    for name in (
        "WEB_CONCURRENCY",
        "GUNICORN_THREADS",
        "GUNICORN_TIMEOUT",
        "GUNICORN_GRACEFUL_TIMEOUT",
        "GUNICORN_KEEPALIVE",
        "FORWARDED_ALLOW_IPS",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    namespace = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    config = GunicornConfig()
    for name, value in namespace.items():
        if name.startswith("_") or callable(value) or type(value).__name__ == "module":
            continue
        assert name in config.settings, f"deploy/gunicorn.conf.py: {name} is not a gunicorn setting"
        config.set(name, value)
    return config


def test_gunicorn_settings(monkeypatch):
    config = _gunicorn_settings(monkeypatch)
    assert config.bind == ["0.0.0.0:8000"]
    assert config.wsgi_app == "deploy.wsgi:application"
    assert config.worker_tmp_dir == "/dev/shm"
    assert config.accesslog == "-"
    assert config.forwarded_allow_ips == ["*"]
    assert config.forwarder_headers == []
    assert config.worker_class_str == "gthread"
    assert config.timeout >= 120 and config.graceful_timeout >= 120
    # The container gets longer to stop than gunicorn gives an upload in flight.
    grace = SERVICES["app"]["stop_grace_period"]
    assert int(grace.removesuffix("s")) > config.graceful_timeout


def test_gunicorn_is_sized_from_the_environment(monkeypatch):
    config = _gunicorn_settings(
        monkeypatch, WEB_CONCURRENCY="5", GUNICORN_THREADS="8", FORWARDED_ALLOW_IPS="10.0.0.5"
    )
    assert (config.workers, config.threads) == (5, 8)
    assert config.forwarded_allow_ips == ["10.0.0.5"]
    assert APP_ENV["WEB_CONCURRENCY"] == "${WEB_CONCURRENCY:-2}"


def test_wsgi_entry_point_takes_the_client_address_from_the_proxy(monkeypatch, tmp_path):
    # The embedded default (development, SQLite, a folder), whatever the shell has set.
    for name in [name for name in os.environ if name.startswith("PORTAL_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("PORTAL_PROXY_HOPS", APP_ENV["PORTAL_PROXY_HOPS"].split(":-")[1].rstrip("}"))
    application = runpy.run_path(str(DEPLOY / "wsgi.py"))["application"]
    with application.app_context():
        upgrade()  # as the entrypoint does before serving
        db.session.add(Municipality(slug="exempelby", name="Exempelby kommun"))
        db.session.commit()
    seen = {}

    @application.get("/_compose_test_remote_addr")
    def remote_addr():
        seen["addr"], seen["scheme"] = request.remote_addr, request.scheme
        return "ok"

    response = application.test_client().get(
        "/_compose_test_remote_addr",
        headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.9", "X-Forwarded-Proto": "https"},
        environ_base={"REMOTE_ADDR": "172.18.0.1"},
    )
    assert response.status_code == 200
    # The last hop is the one the proxy appended; anything before it the client could write.
    assert seen == {"addr": "203.0.113.9", "scheme": "https"}
    assert isinstance(application.wsgi_app, ProxyFix) and application.wsgi_app.x_host == 0


# --- the job worker -------------------------------------------------------------------------


def test_the_worker_runs_the_app_image_with_the_apps_settings():
    worker = SERVICES["worker"]
    assert worker["image"] == SERVICES["app"]["image"] and "build" not in worker
    assert worker["command"] == ["flask", "--app", "portal", "jobs", "worker"]
    worker_env = _environment(worker)
    portal = {key: value for key, value in APP_ENV.items() if key.startswith("PORTAL_")}
    assert portal.items() <= worker_env.items()  # one anchor, one set of settings
    assert re.fullmatch(
        r"redis://:\$\{REDIS_PASSWORD:\?[^}]*\}@redis:6379/1", worker_env["PORTAL_JOBS_URL"]
    )
    assert worker_env["PORTAL_JOBS_URL"] == APP_ENV["PORTAL_JOBS_URL"]


def test_the_worker_starts_after_the_app_has_migrated_and_stops_gracefully():
    worker = SERVICES["worker"]
    assert worker["depends_on"]["app"]["condition"] == "service_healthy"
    assert worker["healthcheck"]["test"] == ["CMD", "python", "-m", "portal.jobs.healthcheck"]
    assert worker["init"] is True and worker["restart"] == "unless-stopped"
    assert worker["cap_drop"] == ["ALL"] and worker["networks"] == ["backend"]
    grace = int(worker["stop_grace_period"].rstrip("s"))
    assert grace > 170  # PORTAL_JOBS_SHUTDOWN_SECONDS' default: running jobs may finish


def test_redis_keeps_the_queue_on_a_volume_and_never_evicts_it():
    command = SERVICES["redis"]["command"]
    options = dict(zip(command[1::2], command[2::2], strict=False))
    assert options["--appendonly"] == "yes"
    assert options["--maxmemory-policy"] == "volatile-ttl"  # queue keys have no expiry


def test_the_worker_healthcheck_reads_the_heartbeat(tmp_path):
    import os
    import subprocess
    import sys
    import time

    beat = tmp_path / "beat"
    env = {**os.environ, "PORTAL_JOBS_HEARTBEAT": str(beat)}

    def check() -> int:
        command = [sys.executable, "-m", "portal.jobs.healthcheck"]
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=True).returncode

    assert check() == 1  # no heartbeat yet
    beat.touch()
    assert check() == 0
    old = time.time() - 120
    os.utime(beat, (old, old))
    assert check() == 1
