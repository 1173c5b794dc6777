"""redacted copies of attachments, redacted answers of publications

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 09:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('redacts_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_attachment_redacts_id_attachment'), 'attachment', ['redacts_id'], ['id']
        )
        batch_op.create_index(batch_op.f('ix_attachment_redacts_id'), ['redacts_id'], unique=False)

    with op.batch_alter_table('publication', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('redacted_answers', sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )


def downgrade():
    with op.batch_alter_table('publication', schema=None) as batch_op:
        batch_op.drop_column('redacted_answers')

    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_redacts_id'))
        batch_op.drop_constraint(batch_op.f('fk_attachment_redacts_id_attachment'), type_='foreignkey')
        batch_op.drop_column('redacts_id')
