"""uploads sent to S3 while they arrive wait for their scan under a key of their own

Revision ID: 0015_upload_keys
Revises: 0014_jobs
Create Date: 2026-12-05 18:30:00

An upload streamed to the object store while the request is read cannot be stored under
its sha256 (known only at the end): it waits for its scan under ``quarantine/<upload
id>``. ``attachment.quarantine_key`` holds that key; NULL (every existing row, and uploads
not sent in parts) means ``quarantine/<sha256>``, as before. Plain ADD COLUMN and an
index: no table rebuild, no backfill.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_upload_keys"
down_revision = "0014_jobs"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("attachment", sa.Column("quarantine_key", sa.String(length=64), nullable=True))
    op.create_index(
        op.f("ix_attachment_quarantine_key"), "attachment", ["quarantine_key"], unique=False
    )


def downgrade():
    op.drop_index(op.f("ix_attachment_quarantine_key"), table_name="attachment")
    op.drop_column("attachment", "quarantine_key")
