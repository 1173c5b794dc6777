"""``flask --app portal ...`` commands. Each is safe to run again (and from cron)."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup

from portal import mail, municipalities
from portal.extensions import db
from portal.models import Committee, OutboundMail, Provider, Role, User
from portal.tenancy_cli import each_scope, for_each_municipality, in_one_municipality

users_cli = AppGroup("users", help="Manage accounts.")
demo_cli = AppGroup("demo", help="Demo municipalities.")
mail_cli = AppGroup("mail", help="The outgoing mail queue.")
storage_cli = AppGroup(
    "storage", help="Stored files: rescan quarantine, reconcile with the database."
)


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", default="")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--provider", "org_number", help="Organisation number, for provider roles.")
@click.option("--committee", "committee_codes", multiple=True, help="Committee code, for staff.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@in_one_municipality
def create_user(email, name, role, org_number, committee_codes, password_stdin):
    """Create an account."""
    from portal.auth.passwords import hash_password, password_problem

    role = Role(role)
    email = email.strip().lower()
    if db.session.scalar(db.select(User).filter_by(email=email)):
        raise click.ClickException(f"{email} already has an account")
    provider = None
    if role.is_provider:
        if not org_number:
            raise click.ClickException("--provider ORGNR is required for provider roles")
        provider = _provider_by_org_number(org_number)
    elif org_number:
        raise click.ClickException("--provider is only for provider roles")
    committees = [_committee_by_code(code) for code in committee_codes]
    password_hash = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
        problem = password_problem(password, email)
        if problem:
            raise click.ClickException(problem)
        password_hash = hash_password(password)
    user = User(
        email=email,
        name=name,
        role=role,
        provider=provider,
        committees=committees,
        password_hash=password_hash,
    )
    db.session.add(user)
    db.session.commit()
    click.echo(f"created {role.value} {email}")


def _provider_by_org_number(org_number: str) -> Provider:
    from stdnum.se import orgnr

    try:
        formatted = orgnr.format(orgnr.validate(org_number))
    except Exception as exc:
        raise click.ClickException(f"invalid organisation number: {org_number}") from exc
    providers = db.session.scalars(db.select(Provider).filter_by(org_number=formatted)).all()
    if len(providers) != 1:
        raise click.ClickException(
            f"{len(providers)} providers have organisation number {formatted}; expected one"
        )
    return providers[0]


def _committee_by_code(code: str) -> Committee:
    committee = db.session.scalar(db.select(Committee).filter_by(code=code.upper()))
    if committee is None:
        raise click.ClickException(f"no committee with code {code}")
    return committee


@demo_cli.command("load")
def demo_load():
    """Load (or bring up to date) the demo municipalities and print the demo logins."""
    from portal import demo

    logins = demo.load()
    click.echo(f"Demo logins (password for all: {demo.PASSWORD}):")
    for slug, role, email in logins:
        site = municipalities.base_url(municipalities.by_slug(slug))
        click.echo(f"  {role:<15} {email:<34} {site}/logga-in")


@mail_cli.command("retry")
@click.option("--failed", "include_failed", is_flag=True, help="Also the mails given up on.")
def mail_retry(include_failed):
    """Send now the mails that could not be sent before (the worker would, later): the
    national ones and every municipality's."""
    sent = failed = 0
    for _scope in each_scope():
        mail.retry(include_failed=include_failed)
        sent_here, failed_here = mail.deliver()
        sent, failed = sent + sent_here, failed + failed_here
    click.echo(f"sent {sent}, still failing {failed}")
    if failed:
        sys.exit(1)


@storage_cli.command("rescan")
@click.option(
    "--include-not-scanned", is_flag=True, help="Also scan files uploaded with scanning off."
)
@for_each_municipality()
def storage_rescan(include_not_scanned):
    """Scan quarantined files again; release the clean ones, remove the infected ones."""
    from portal.attachments import rescan

    try:
        report = rescan(include_not_scanned=include_not_scanned)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"released {report.released} file(s) ({report.attachments_released} attachment(s)), "
        f"infected {len(report.infected)}, still pending {report.still_pending}"
    )
    for hit in report.infected:
        click.echo(f"  infected {hit['sha256']}: {hit['signature']}")
    if report.mails:
        sent, failed = mail.deliver(OutboundMail.id.in_(report.mails))
        click.echo(f"  told the uploaders: {sent} mail(s) sent, {failed} left for `mail retry`")
    for sha256 in report.missing:
        click.echo(f"  missing object for {sha256}")
    if report.still_pending:
        click.echo(f"  pending because: {report.reason}")
        sys.exit(1)


@storage_cli.command("reconcile")
@click.option(
    "--delete",
    is_flag=True,
    help="Delete unreferenced objects and abort unfinished uploads older than a day.",
)
def storage_reconcile(delete):
    """List objects with no row, rows with no object and unfinished uploads."""
    from portal.attachments import reconcile

    report = reconcile(delete=delete)
    click.echo(
        f"objects without a row: {len(report.orphan_objects)}; "
        f"rows without an object: {len(report.missing_objects)}; "
        f"unfinished uploads: {len(report.incomplete_uploads)}"
    )
    for key, begun in report.incomplete_uploads:
        click.echo(
            f"  unfinished upload of {key} begun {begun:%Y-%m-%d %H:%M} UTC"
            + (" (aborted)" if key in report.aborted_uploads else "")
        )
    for key in report.orphan_objects:
        click.echo(f"  orphan {key}" + (" (deleted)" if key in report.deleted else ""))
    for attachment_id, key in report.missing_objects:
        click.echo(f"  attachment {attachment_id}: missing {key}")
    if report.missing_objects:
        sys.exit(1)


requests_cli = AppGroup("requests", help="Information requests.")


@requests_cli.command("schedule")
@click.option(
    "--today",
    "on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Act as if today were this date (YYYY-MM-DD).",
)
@click.option("--dry-run", is_flag=True, help="Only show what would be issued.")
@for_each_municipality()
def requests_schedule(on, dry_run):
    """Issue the next occurrence of recurring requests that are due (safe from cron)."""
    from portal.schedule import schedule_recurring

    result = schedule_recurring(on.date() if on else None, dry_run=dry_run)
    verb = "would issue" if dry_run else "issued"
    for r in result.issued:
        number = r.registration_number or "(no number yet)"
        click.echo(f"{verb} {number}: {r.title}, deadline {r.deadline.isoformat()}")
    for r, when in result.not_yet:
        click.echo(f"not yet due: {r.registration_number} next issued on {when.isoformat()}")
    for r in result.ended:
        click.echo(f"not recurring any more (agreement ended): {r.registration_number}")
    for r, why in result.skipped:
        click.echo(f"skipped {r.registration_number}: {why}")
    click.echo(f"{len(result.issued)} {verb}, {len(result.not_yet)} not yet due")


def init_app(app: Flask) -> None:
    from portal.notifications import notifications_cli
    from portal.operator_cli import tenants_cli

    groups = (users_cli, demo_cli, mail_cli, storage_cli, requests_cli, notifications_cli)
    for group in (*groups, tenants_cli):
        app.cli.add_command(group)
