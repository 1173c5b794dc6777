"""a committee's contact details, for the letterhead of its documents

Revision ID: 0012_committee_contact
Revises: 0011_publication_version
Create Date: 2026-12-07 09:00:00

Every generated document (request letter, receipt, follow-up plan, yearly report) has a
letterhead with the committee's postal address, telephone and e-mail. The three columns
are optional: a committee without them gets a letterhead with its name only.

Plain ADD/DROP COLUMN (SQLite has DROP COLUMN since 3.35): no table rebuild, so the
tables that refer to the committee are left alone.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_committee_contact"
down_revision = "0011_publication_version"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("committee", sa.Column("postal_address", sa.String(length=300), nullable=True))
    op.add_column("committee", sa.Column("phone", sa.String(length=40), nullable=True))
    op.add_column("committee", sa.Column("email", sa.String(length=254), nullable=True))


def downgrade():
    op.drop_column("committee", "email")
    op.drop_column("committee", "phone")
    op.drop_column("committee", "postal_address")
