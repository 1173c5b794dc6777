"""End-to-end setup: the app under gunicorn on 127.0.0.1 (PostgreSQL, the S3 server,
clamd and a real SMTP server), Debian's chromium driven by Playwright, axe-core on
every page. Objects are seeded with the factories in the test process and committed."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser import AXE_OPTIONS
from tests.fixtures_services import free_port
from tests.provider.conftest import start_smtp

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"


@pytest.fixture(scope="session")
def e2e_smtp():
    """A real SMTP server (aiosmtpd) for the gunicorn app."""
    controller, inbox = start_smtp(free_port())
    yield inbox
    controller.stop()


@pytest.fixture
def app_config(app_config, postgres_url, s3_url, clamd_url, e2e_smtp):
    """The test process sees the same database and store as the served app."""
    app_config.update(
        {
            "SQLALCHEMY_DATABASE_URI": postgres_url,
            "STORAGE_URL": s3_url,
            "CLAMD_URL": clamd_url,
            "SMTP_URL": f"smtp://127.0.0.1:{e2e_smtp.port}",
        }
    )
    return app_config


def start_gunicorn(
    env_extra: dict,
    tmp_path: Path,
    *,
    config: str | None = None,
    args: tuple = ("--workers", "2", "--threads", "4"),
) -> tuple:
    """gunicorn serving deploy.wsgi on a free loopback port; returns (process, base URL)."""
    port = free_port()
    env = {
        **os.environ,
        "PORTAL_ENV": "development",
        "PORTAL_PROXY_HOPS": "0",
        "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
        "PORTAL_UPLOAD_TMP": str(tmp_path / "spool"),
        **env_extra,
    }
    env["PORTAL_BASE_URL"] = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "gunicorn.log"
    log = open(log_path, "wb")  # noqa: SIM115 - owned by the process
    command = [sys.executable, "-m", "gunicorn"]
    if config:
        command += ["--config", config]
    command += [*args, "--bind", f"127.0.0.1:{port}", "deploy.wsgi:application"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("gunicorn did not start:\n" + log_path.read_text()[-3000:])
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                break
        except OSError:
            time.sleep(0.2)
    return process, f"http://127.0.0.1:{port}"


def stop_gunicorn(process) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


@pytest.fixture
def served(pg_app, app_config, tmp_path):
    """The app under gunicorn against the test's database, store, clamd and SMTP server."""
    env = {
        "PORTAL_DATABASE_URL": app_config["SQLALCHEMY_DATABASE_URI"],
        "PORTAL_STORAGE_URL": app_config["STORAGE_URL"],
        "PORTAL_CLAMD_URL": app_config["CLAMD_URL"],
        "PORTAL_SMTP_URL": app_config["SMTP_URL"],
        # The served app runs its jobs at commit, as the page tests do.
        "PORTAL_JOBS_URL": "immediate://",
        "PORTAL_SECRET_KEY": "e2e-secret-key-not-for-production-0123456789",
    }
    try:
        process, base = start_gunicorn(env, tmp_path)
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield base
    stop_gunicorn(process)
    if (tmp_path / "gunicorn.log").exists():
        log = (tmp_path / "gunicorn.log").read_text(errors="replace")
        assert "Traceback" not in log, log[-4000:]


class Visit:
    """Screenshots of each step and axe-core (WCAG 2.1 AA) on every page visited."""

    def __init__(self, name: str):
        self.dir = ARTIFACTS / name
        self.dir.mkdir(parents=True, exist_ok=True)
        for old in self.dir.glob("*.png"):
            old.unlink()
        self.step = 0
        self.axe = Axe()
        self.checked: list[str] = []
        self.violations: list[str] = []

    def __call__(self, page, label: str) -> None:
        """Record the page as it is now: a screenshot and an axe-core run."""
        page.wait_for_load_state("load")
        self.step += 1
        page.screenshot(path=str(self.dir / f"{self.step:02d}-{label}.png"), full_page=True)
        results = self.axe.run(page, options=AXE_OPTIONS)
        self.checked.append(page.url)
        for violation in results.response["violations"]:
            targets = [n["target"] for n in violation["nodes"]][:3]
            self.violations.append(f"{label} {page.url}: {violation['id']} {targets}")
