"""The municipality of a ``flask --app portal`` command: ``--municipality SLUG``, or each.

A command marked :func:`for_each_municipality` runs its body once per municipality (only the
one named with ``--municipality``), each in that municipality's scope and transactions;
``national=True`` adds a first run in the national scope (national mail, for instance).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import click

from portal import municipalities, tenancy
from portal.extensions import db


def chosen(slug: str | None) -> list[municipalities.MunicipalityInfo]:
    """The municipality named ``slug``, or (None) every active one."""
    if slug is None:
        return municipalities.active()
    info = municipalities.by_slug(slug)
    if info is None:
        raise click.ClickException(f"no active municipality {slug!r}")
    return [info]


def each_scope() -> Iterator[municipalities.MunicipalityInfo | None]:
    """The national scope, then each active municipality's, each entered in turn (for an
    operator's command that looks at everything)."""
    for info in [None, *municipalities.active()]:
        with tenancy.switch(info.id if info else None):
            yield info
            db.session.commit()


def for_each_municipality(national: bool = False):
    def wrap(command):
        @click.option(
            "--municipality",
            "slug",
            metavar="SLUG",
            help="Only this municipality (default: each in turn).",
        )
        @functools.wraps(command)
        def run(slug, **kwargs):
            targets = ([None] if national and slug is None else []) + chosen(slug)
            for info in targets:
                if len(targets) > 1:
                    click.echo(f"== {info.name if info else 'nationellt'}")
                with tenancy.switch(info.id if info else None):
                    command(**kwargs)
                    db.session.commit()

        return run

    return wrap


def in_one_municipality(command):
    """A command that works in one municipality: ``--municipality SLUG``, which may be left
    out when the installation has only one."""

    @click.option("--municipality", "slug", metavar="SLUG", help="The municipality.")
    @functools.wraps(command)
    def run(slug, **kwargs):
        served = chosen(slug)
        if len(served) != 1:
            raise click.ClickException("name the municipality: --municipality SLUG")
        with tenancy.switch(served[0].id):
            result = command(**kwargs)
            db.session.commit()
        return result

    return run
