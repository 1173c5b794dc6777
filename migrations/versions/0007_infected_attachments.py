"""attachments found infected by a later scan are kept as a record, without their file

Revision ID: 0007_infected_attachments
Revises: 0006_publication_facets
Create Date: 2026-11-23 16:00:00

A file accepted while the scanner was down and found infected by ``storage rescan``
keeps its row (name, size, sha256) with scan status ``infected``, so that the provider
and the officers see what was removed and why; the object itself is deleted.
"""
import sqlalchemy as sa
from alembic import op


revision = '0007_infected_attachments'
down_revision = '0006_publication_facets'
branch_labels = None
depends_on = None

OLD = ('clean', 'pending_scan', 'not_scanned')
NEW = (*OLD, 'infected')


def _status(values):
    return sa.Enum(*values, name='scanstatus', native_enum=False, create_constraint=True,
                   length=32)


def upgrade():
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.alter_column('scan_status', existing_type=_status(OLD), type_=_status(NEW),
                              existing_nullable=False)


def downgrade():
    op.execute("DELETE FROM attachment WHERE scan_status = 'infected'")
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.alter_column('scan_status', existing_type=_status(NEW), type_=_status(OLD),
                              existing_nullable=False)
