"""staff workbench indexes: action plans by deviation and finding, submissions by kind and state

Revision ID: 0005_staff_indexes
Revises: 0004_provider_bookkeeping
Create Date: 2026-11-23 13:00:00

The dashboard counts open deviation reports (those with an open action plan among
them) and overdue action plans; the submission page lists the plans of a deviation.
"""
from alembic import op


revision = '0005_staff_indexes'
down_revision = '0004_provider_bookkeeping'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.create_index('ix_submission_deviation_id', ['deviation_id'], unique=False)
        batch_op.create_index('ix_submission_finding_id', ['finding_id'], unique=False)
        batch_op.create_index('ix_submission_kind_state', ['kind', 'state'], unique=False)


def downgrade():
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_index('ix_submission_kind_state')
        batch_op.drop_index('ix_submission_finding_id')
        batch_op.drop_index('ix_submission_deviation_id')
