"""provider portal bookkeeping: reminder_sent (deadline e-mails already sent) and
creation_key (one report per "new report" form, also on a double click)

Revision ID: 0004_provider_bookkeeping
Revises: 0003_public_search
Create Date: 2026-11-23 13:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0004_provider_bookkeeping"
down_revision = "0003_public_search"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "reminder_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submission.id"],
            name=op.f("fk_reminder_sent_submission_id_submission"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_sent")),
        sa.UniqueConstraint("submission_id", "kind", "deadline", name="uq_reminder_sent_once"),
    )
    with op.batch_alter_table("reminder_sent", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reminder_sent_submission_id"), ["submission_id"], unique=False
        )
    op.create_table(
        "creation_key",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submission.id"],
            name=op.f("fk_creation_key_submission_id_submission"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_creation_key")),
    )
    with op.batch_alter_table("creation_key", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_creation_key_submission_id"), ["submission_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("creation_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_creation_key_submission_id"))
    op.drop_table("creation_key")
    with op.batch_alter_table("reminder_sent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminder_sent_submission_id"))
    op.drop_table("reminder_sent")
