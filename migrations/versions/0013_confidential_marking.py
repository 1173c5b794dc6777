"""the provider's confidentiality markings of answers and files

Revision ID: 0013_confidential_marking
Revises: 0012_committee_contact
Create Date: 2026-12-08 09:00:00

The request letter asks the provider to mark and give reasons for what it considers
confidential (sekretess). ``submission_version.confidential`` holds the marked answers
of a version as {field key: reason}; ``attachment.confidential_reason`` the reason of a
marked file (NULL: not marked). Staff see both; the publication guard treats a marked
answer or file like a personal-data hit.

Plain ADD/DROP COLUMN (SQLite has DROP COLUMN since 3.35): no table rebuild. The JSON
column is NOT NULL with the empty map as its default, so existing versions read as
having no markings.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_confidential_marking"
down_revision = "0012_committee_contact"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "submission_version",
        sa.Column("confidential", sa.JSON(), server_default=sa.text("'{}'"), nullable=False),
    )
    op.add_column("attachment", sa.Column("confidential_reason", sa.Text(), nullable=True))


def downgrade():
    op.drop_column("attachment", "confidential_reason")
    op.drop_column("submission_version", "confidential")
