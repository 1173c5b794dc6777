"""The job engine for real: each broker (an SQLite file, the machine's Redis), a worker in
the test process or in its own process. Loaded as a pytest plugin.

Redis is the one at 127.0.0.1:6379 (``TEST_REDIS_URL``), database 15, under a queue name
of its own per test, so parallel test processes and the rate limiter never meet. A Redis
that does not answer is a failure, never a skip. A test that empties or restarts Redis
uses a private ``redis-server`` of its own (``private_redis``), never that one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from huey.consumer import Scheduler

from portal.extensions import db
from portal.jobs import huey
from portal.jobs.worker import build_consumer
from portal.models import JobSchedule
from tests.fixtures_services import free_port

ROOT = Path(__file__).resolve().parent.parent
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05, message: str = ""):
    """Poll ``predicate`` until it is true; fail with ``message`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"not within {timeout} s: {message or predicate}")


@pytest.fixture(params=["sqlite", "redis"])
def jobs_url(request, tmp_path) -> str:
    """The broker, once per kind: an SQLite file, and Redis."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    try:
        redis.Redis.from_url(TEST_REDIS_URL).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {TEST_REDIS_URL} does not answer ({exc}); start redis-server")
    return TEST_REDIS_URL


@pytest.fixture
def jobs_config(app_config, jobs_url, tmp_path) -> dict:
    """``app_config`` with a real broker and short leases."""
    app_config.update(
        JOBS_URL=jobs_url,
        JOBS_NAME=f"insyn-test-{uuid.uuid4().hex[:12]}",
        JOBS_HEARTBEAT=str(tmp_path / "worker.heartbeat"),
        JOBS_SHUTDOWN_SECONDS=5,
    )
    return app_config


@pytest.fixture
def jobs_app(jobs_config, app):
    """The app on a real broker; the queue is emptied afterwards."""
    yield app
    huey.flush()


def rewind_period(name: str) -> None:
    """Forget that the periodic job ``name`` ran in its current period, so the next check
    of a scheduler runs it again (a test need not wait for the next minute)."""
    db.session.execute(
        sa.update(JobSchedule).where(JobSchedule.name == name).values(last_period="")
    )
    db.session.commit()


class FastScheduler(Scheduler):
    """Huey's scheduler checking the periodic jobs every second instead of every minute,
    so that what two schedulers do is seen in seconds."""

    periodic_task_seconds = 1


class RedisService:
    """A ``redis-server`` of the test's own on a free port, without persistence: it can be
    emptied, stopped and started again (empty) without touching the shared one."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> RedisService:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        wait_until(lambda: self._answers(client), timeout=10, message="redis-server started")
        return self

    @staticmethod
    def _answers(client) -> bool:
        try:
            return client.ping()
        except redis.ConnectionError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def flushall(self) -> None:
        redis.Redis.from_url(self.url).flushall()


@pytest.fixture
def private_redis(tmp_path):
    service = RedisService(tmp_path / "redis").start()
    yield service
    service.stop()


class InProcessWorker:
    """Huey's consumer in the test process, in threads; it leaves signals to pytest."""

    def __init__(self, app, workers: int = 2, periodic: bool = False):
        self.consumer = build_consumer(app, workers=workers, periodic=periodic)
        self.consumer._set_signal_handlers = lambda: None

    def __enter__(self):
        self.consumer.start()
        return self

    def __exit__(self, *exc):
        self.consumer.stop(graceful=True)


@pytest.fixture
def jobs_worker(jobs_app):
    with InProcessWorker(jobs_app) as worker:
        yield worker


class WorkerProcess:
    """``tests/jobs/worker_main.py`` in a process group of its own, so that a test can kill
    it with SIGKILL in the middle of a job and start another."""

    def __init__(self, config: dict, log: Path, *, tasks=(), periodic=False, fast=False, workers=2):
        self.env = {
            **os.environ,
            "INSYN_TEST_CONFIG": json.dumps(config),
            "INSYN_TEST_TASKS": ",".join(tasks),
            "INSYN_TEST_PERIODIC": "1" if periodic else "0",
            "INSYN_TEST_FAST_SCHEDULER": "1" if fast else "0",
            "INSYN_TEST_WORKERS": str(workers),
        }
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.jobs.worker_main"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(
            lambda: "worker ready" in self.output() or self.process.poll() is not None,
            timeout=30,
            message="the worker process started",
        )
        assert self.process.poll() is None, self.output()[-3000:]
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def sigkill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> int | None:
        """TERM (running jobs finish), then KILL after 10 s; the exit status."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            return self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.sigkill()
            return self.process.returncode


@pytest.fixture
def worker_process(jobs_config, tmp_path):
    """Start workers in processes of their own: ``worker_process(tasks=[...], periodic=...,
    fast=...)`` (``fast``: the scheduler checks every second, ``FastScheduler``). Every one
    still running is stopped afterwards."""
    started: list[WorkerProcess] = []

    def start(**options) -> WorkerProcess:
        log = tmp_path / f"worker-{len(started) + 1}.log"
        worker = WorkerProcess(jobs_config, log, **options).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
