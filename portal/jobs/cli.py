"""``flask --app portal jobs …``: the worker, and what operators need to look at the queue."""

from __future__ import annotations

import json

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from portal import municipalities
from portal.dates import local
from portal.tenancy_cli import each_scope

jobs_cli = AppGroup("jobs", help="Background jobs: the worker and the queue.")


@jobs_cli.command("worker")
@click.option("--workers", type=int, default=None, help="Threads (default PORTAL_JOBS_WORKERS).")
@click.option("--no-periodic", is_flag=True, help="Do not run the scheduler in this worker.")
def worker(workers, no_periodic):
    """Run jobs until stopped (TERM: finish running jobs first; Ctrl-C: stop at once)."""
    from portal.jobs.worker import run_worker

    app = current_app._get_current_object()
    run_worker(app, workers=workers or app.config["JOBS_WORKERS"], periodic=not no_periodic)


@jobs_cli.command("status")
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of text.")
def status(as_json):
    """The queue, the periodic jobs and what failed. Exit 0 ok, 1 degraded, 2 down."""
    from portal.jobs.status import queue_status

    report = queue_status()
    if as_json:
        click.echo(json.dumps(report.as_dict(), default=str, indent=2))
    else:
        _print_status(report)
        _print_failed()
    raise SystemExit(report.exit_code)


def _print_status(report) -> None:
    broker = f"{report.broker} ({report.broker_url})"
    click.echo(f"state:        {report.state}")
    for problem in report.problems:
        click.echo(f"  - {problem}")
    click.echo(f"broker:       {broker}{': ' + report.broker_error if report.broker_error else ''}")
    click.echo(
        f"waiting:      {_value(report.waiting)} (scheduled retries: {_value(report.scheduled)})"
    )
    click.echo(f"oldest due:   {_seconds(report.oldest_waiting_seconds)}")
    click.echo(f"failed:       {report.failed_jobs} jobs, {report.failed_mails} mails")
    click.echo(f"last sweep:   {_seconds(report.last_sweep_seconds, none='never')}")
    for run in report.periodic:
        finished = _moment(run.finished_at) or "running"
        click.echo(f"  {run.name:<26} {run.last_period:<18} {run.outcome or '-':<6} {finished}")


@jobs_cli.command("sweep")
def sweep():
    """Enqueue now what is due and lost (the worker does this every minute)."""
    from portal.jobs.sweep import sweep as run_sweep

    for key, value in run_sweep().items():
        click.echo(f"{key}: {value}")


@jobs_cli.command("failed")
def failed():
    """The failed jobs and the mails given up, with the ids for ``run-again``."""
    if not _print_failed():
        click.echo("nothing failed")


def _print_failed() -> int:
    from portal.jobs.status import failed_jobs, given_up_mails, masked_address

    count = 0
    several = len(municipalities.active()) > 1
    for info in each_scope():
        here = info.id if info else None  # the national ones (seen everywhere) once
        where = f" [{info.slug}]" if info and several else ""
        for f in failed_jobs():
            if f.municipality_id == here:
                count += 1
                click.echo(
                    f"job {f.id}{where}: {f.task} {f.arguments} at {_moment(f.failed_at)}: "
                    f"{f.error}"
                )
        for m in given_up_mails():
            count += 1
            recipient = masked_address(m.recipient)
            click.echo(
                f"mail {m.id}{where}: to {recipient}, given up {_moment(m.failed_at)}: "
                f"{m.last_error}"
            )
    return count


@jobs_cli.command("run-again")
@click.argument("failure_id", type=int)
@click.option("--mail", "is_mail", is_flag=True, help="FAILURE_ID is a given-up mail's id.")
def run_again(failure_id, is_mail):
    """Run a failed job again (or, with --mail, send a given-up mail again); audited."""
    from portal.extensions import db
    from portal.jobs import operations
    from portal.models import JobFailure, OutboundMail

    for _info in each_scope():  # the row's own scope: where it is seen
        row = db.session.get(OutboundMail if is_mail else JobFailure, failure_id)
        if row is None:
            continue
        try:
            if is_mail:
                operations.rerun_mail(row, None, via="cli")
            else:
                operations.run_again(row, None, via="cli")
        except operations.Refused as refusal:
            db.session.rollback()
            raise click.ClickException(str(refusal.message)) from None
        db.session.commit()
        click.echo(f"{'mail' if is_mail else 'job'} {failure_id} enqueued again")
        return
    raise click.ClickException(f"no {'mail' if is_mail else 'failed job'} {failure_id}")


def _value(number) -> str:
    return "?" if number is None else str(number)


def _seconds(seconds, none: str = "-") -> str:
    return none if seconds is None else f"{seconds} s"


def _moment(moment) -> str:
    return local(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def init_app(app: Flask) -> None:
    if "jobs" not in app.cli.commands:
        app.cli.add_command(jobs_cli)
