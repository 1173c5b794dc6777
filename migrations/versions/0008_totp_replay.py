"""a TOTP code works once; the secret being set up is kept on the server

Revision ID: 0008_totp_replay
Revises: 0007_infected_attachments
Create Date: 2026-12-04 21:00:00

``totp_last_step`` is the last time step whose code was accepted, so the same code is
refused a second time. ``totp_pending_secret`` holds the secret offered during setup,
which used to travel in the (signed, but readable) session cookie.
"""
import sqlalchemy as sa
from alembic import op


revision = '0008_totp_replay'
down_revision = '0007_infected_attachments'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('totp_pending_secret', sa.String(length=64),
                                      nullable=True))


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('totp_pending_secret')
        batch_op.drop_column('totp_last_step')
