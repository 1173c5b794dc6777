"""``flask --app portal jobs …``: the worker, and what operators need to look at the queue."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

jobs_cli = AppGroup("jobs", help="Background jobs: the worker and the queue.")


@jobs_cli.command("worker")
@click.option("--workers", type=int, default=None, help="Threads (default PORTAL_JOBS_WORKERS).")
@click.option("--no-periodic", is_flag=True, help="Do not run the scheduler in this worker.")
def worker(workers, no_periodic):
    """Run jobs until stopped (TERM: finish running jobs first; Ctrl-C: stop at once)."""
    from portal.jobs.worker import run_worker

    app = current_app._get_current_object()
    run_worker(app, workers=workers or app.config["JOBS_WORKERS"], periodic=not no_periodic)


def init_app(app: Flask) -> None:
    if "jobs" not in app.cli.commands:
        app.cli.add_command(jobs_cli)
