"""a publication pins the version it published

Revision ID: 0011_publication_version
Revises: 0010_invitations
Create Date: 2026-12-06 09:00:00

The public read a publication's answers from the newest submitted version of its
submission. An action plan stays open for progress reports after approval, each a new
submitted version that no publisher checked for personal data, so a report made after
publication became what the page, the API, the search index and the compare pages showed.
``publication.version_id`` now names the version the publisher checked and published.

Existing rows get the newest version submitted at or before the publication's
``published_at``: what the newest submitted version was when the publisher published.
A row with no such version (clocks that disagreed) gets the earliest submitted version,
the nearest after the publication, and is named in the log. Then the column is NOT NULL.

SQLite rebuilds the publication table for NOT NULL and the foreign key (batch mode). The
rebuild drops the table, so the triggers that read or write it (search index, facets)
are taken out first and put back after, and foreign keys are off meanwhile: dropping the
table would otherwise delete its facet rows (ON DELETE CASCADE) and refuse for its
published documents. ``PRAGMA foreign_key_check`` confirms every reference afterwards.
Turning foreign keys off and on needs a moment outside a transaction, so on SQLite the
work before this revision is committed first.

The search text is left as it is: it follows the version it was built from, and
``flask public reindex`` rebuilds it from the pinned version.
"""

import logging
import re
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = "0011_publication_version"
down_revision = "0010_invitations"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

publication = sa.table(
    "publication",
    sa.column("id", sa.Integer),
    sa.column("submission_id", sa.Integer),
    sa.column("published_at"),
    sa.column("version_id", sa.Integer),
)
version = sa.table(
    "submission_version",
    sa.column("id", sa.Integer),
    sa.column("submission_id", sa.Integer),
    sa.column("number", sa.Integer),
    sa.column("submitted_at"),
)


def _version_of_publication(*conditions, newest: bool = True):
    """A submitted version of the row's submission (correlated with ``publication``)."""
    order = version.c.number.desc() if newest else version.c.number
    return (
        sa.select(version.c.id)
        .where(
            version.c.submission_id == publication.c.submission_id,
            version.c.submitted_at.is_not(None),
            *conditions,
        )
        .order_by(order)
        .limit(1)
        .scalar_subquery()
    )


def pin(connection) -> int:
    """Fill ``version_id`` where it is empty; returns how many rows were filled."""
    at_publication = _version_of_publication(version.c.submitted_at <= publication.c.published_at)
    nearest_after = _version_of_publication(newest=False)
    empty = publication.c.version_id.is_(None)
    late = connection.scalars(
        sa.select(publication.c.id).where(empty, at_publication.is_(None)).order_by("id")
    ).all()
    filled = connection.execute(
        publication.update()
        .where(empty)
        .values(version_id=sa.func.coalesce(at_publication, nearest_after))
    ).rowcount
    unpinned = connection.scalars(sa.select(publication.c.id).where(empty).order_by("id")).all()
    if unpinned:
        raise RuntimeError(
            f"publications {unpinned} belong to submissions without a submitted version; "
            "withdraw or remove them, then run the migration again"
        )
    if late:
        log.warning(
            "no version was submitted at or before publications %s were published; "
            "each pinned to its submission's earliest submitted version",
            late,
        )
    return filled


# A trigger that names the publication table, in its target or its body.
_NAMES_PUBLICATION = re.compile(r"\bpublication\b", re.IGNORECASE)


@contextmanager
def _publication_rebuilt():
    """Around a batch operation that rebuilds the publication table on SQLite."""
    if op.get_bind().dialect.name != "sqlite":
        yield
        return
    triggers = [
        (name, sql)
        for name, sql in op.get_bind().exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
        )
        if _NAMES_PUBLICATION.search(sql)
    ]
    context = op.get_context()
    with context.autocommit_block():
        op.execute("PRAGMA foreign_keys=OFF")
    try:
        if op.get_bind().exec_driver_sql("PRAGMA foreign_keys").scalar():
            raise RuntimeError("SQLite foreign keys could not be turned off for the rebuild")
        for name, _sql in triggers:
            op.execute(f'DROP TRIGGER "{name}"')
        yield
        for _name, sql in triggers:
            op.execute(sql)
        broken = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            raise RuntimeError(f"references broken by rebuilding publication: {broken[:10]}")
    except BaseException:
        # Rolled back by the caller; never back to the pool with foreign keys off.
        op.get_bind().invalidate()
        raise
    with context.autocommit_block():
        op.execute("PRAGMA foreign_keys=ON")


def upgrade():
    with op.batch_alter_table("publication", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version_id", sa.Integer(), nullable=True))
    pin(op.get_bind())
    with _publication_rebuilt(), op.batch_alter_table("publication", schema=None) as batch_op:
        batch_op.alter_column("version_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_publication_version_id_submission_version"),
            "submission_version",
            ["version_id"],
            ["id"],
        )
        batch_op.create_index(batch_op.f("ix_publication_version_id"), ["version_id"], unique=False)


def downgrade():
    # The public then reads the newest submitted version again (the leak this revision
    # closed); the pins are lost.
    with _publication_rebuilt(), op.batch_alter_table("publication", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_publication_version_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_publication_version_id_submission_version"), type_="foreignkey"
        )
        batch_op.drop_column("version_id")
