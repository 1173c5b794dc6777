"""The worker process: Huey's consumer with threads, running the scheduler too (periods
are claimed in the database), and touching a heartbeat file that its health check reads."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from flask import Flask
from huey.consumer import Consumer

from portal.jobs import huey

HEARTBEAT_SECONDS = 10


class WorkerConsumer(Consumer):
    """A consumer that says it is alive: ``heartbeat`` is touched while the broker answers."""

    heartbeat: Path | None = None

    def loop(self, health_check_ts=None):
        result = super().loop(health_check_ts)
        if self.heartbeat and time.time() - self._last_beat >= HEARTBEAT_SECONDS:
            self._beat()
        return result

    def _beat(self) -> None:
        self._last_beat = time.time()
        try:
            huey.pending_count()
        except Exception as exc:  # the broker does not answer: no heartbeat
            logging.getLogger(__name__).warning("job broker does not answer: %s", exc)
            return
        self.heartbeat.touch()


def build_consumer(app: Flask, *, workers: int, periodic: bool = True) -> WorkerConsumer:
    consumer = WorkerConsumer(
        huey,
        workers=workers,
        worker_type="thread",
        periodic=periodic,
        check_worker_health=True,
        scheduler_interval=1,
        max_delay=1.0,  # an idle worker polls an SQLite queue at least once a second
        shutdown_timeout=app.config["JOBS_SHUTDOWN_SECONDS"],
        graceful_signal="TERM",
    )
    consumer.heartbeat = Path(app.config["JOBS_HEARTBEAT"])
    consumer._last_beat = 0.0
    return consumer


def run_worker(app: Flask, *, workers: int, periodic: bool = True) -> None:
    """Run until TERM (running jobs finish) or INT (at once)."""
    logging.getLogger("huey").setLevel(logging.WARNING)
    consumer = build_consumer(app, workers=workers, periodic=periodic)
    consumer._beat()
    print(f"worker ready: {workers} threads, broker {masked(app.config['JOBS_URL'])}", flush=True)
    consumer.run()


def masked(url: str) -> str:
    """The broker URL without its password, for logs and status pages."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url
