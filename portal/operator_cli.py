"""``flask --app portal tenants …``: the operator's commands for municipalities."""

from __future__ import annotations

import getpass

import click
from flask import current_app
from flask.cli import AppGroup

from portal import municipalities, operator
from portal.tenancy_web import reserved_segments

tenants_cli = AppGroup("tenants", help="Municipalities served by this installation.")


def _via() -> str:
    return f"cli:{getpass.getuser()}"


def _municipality(slug: str) -> municipalities.MunicipalityInfo:
    info = municipalities.by_slug(slug)
    if info is None:
        raise click.ClickException(f"no active municipality {slug!r}")
    return info


@tenants_cli.command("list")
def list_command():
    """The active municipalities and their sites."""
    for info in municipalities.active():
        click.echo(f"{info.slug:<20} {info.name:<30} {municipalities.base_url(info)}/")


@tenants_cli.command("create")
@click.option("--slug", required=True, help="Short name in addresses, e.g. nacka.")
@click.option("--name", required=True, help="E.g. 'Nacka kommun'.")
@click.option("--email", help="Contact address shown on its pages.")
@click.option("--phone", help="Telephone number shown on its pages.")
@click.option("--website", help="The municipality's own website, linked from its pages.")
def create_command(slug, name, email, phone, website):
    """Add a municipality (audited)."""
    try:
        operator.create_municipality(
            slug=slug,
            name=name,
            via=_via(),
            reserved=reserved_segments(current_app.url_map),
            email=email,
            phone=phone,
            website=website,
        )
    except operator.Refused as refusal:
        raise click.ClickException(refusal.message) from None
    info = _municipality(slug.strip().lower())
    click.echo(f"created {info.name}: {municipalities.base_url(info)}/")


@tenants_cli.command("add-admin")
@click.option("--municipality", "slug", required=True, metavar="SLUG")
@click.option("--email", required=True)
@click.option("--name", default="")
def add_admin_command(slug, email, name):
    """Give a municipality an administrator, mailed a link to choose a password (audited)."""
    info = _municipality(slug)
    try:
        operator.add_admin(info.id, email=email, name=name, via=_via())
    except operator.Refused as refusal:
        raise click.ClickException(refusal.message) from None
    click.echo(f"{email} is an administrator of {info.name}; the welcome mail is queued")


@tenants_cli.command("deactivate")
@click.option("--municipality", "slug", required=True, metavar="SLUG")
def deactivate_command(slug):
    """Stop serving a municipality's sites (nothing is deleted; audited)."""
    info = _municipality(slug)
    operator.deactivate(info.id, via=_via())
    click.echo(f"{info.name} is no longer served")
