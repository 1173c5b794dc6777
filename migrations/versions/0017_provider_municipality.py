"""the municipalities a national provider organisation is registered with

Revision ID: 0017_provider_municipality
Revises: 0016_tenancy
Create Date: 2026-12-05 20:00:00

An organisation is registered with the municipalities it has agreements with, and with
the one whose staff entered it. Existing organisations are registered from their
agreements; with a single municipality (a database from before 0016), every organisation
is registered with it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_provider_municipality"
down_revision = "0016_tenancy"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "provider_municipality",
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipality.id"],
            name=op.f("fk_provider_municipality_municipality_id_municipality"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["provider.id"],
            name=op.f("fk_provider_municipality_provider_id_provider"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "provider_id", "municipality_id", name=op.f("pk_provider_municipality")
        ),
    )
    op.execute(
        "INSERT INTO provider_municipality (provider_id, municipality_id) "
        "SELECT DISTINCT provider_id, municipality_id FROM agreement"
    )
    op.execute(
        "INSERT INTO provider_municipality (provider_id, municipality_id) "
        "SELECT p.id, m.id FROM provider p CROSS JOIN municipality m "
        "WHERE (SELECT count(*) FROM municipality) = 1 AND NOT EXISTS "
        "(SELECT 1 FROM provider_municipality r WHERE r.provider_id = p.id)"
    )


def downgrade():
    op.drop_table("provider_municipality")
