"""the job engine: leases and due times on the outbox and on attachments, periodic runs,
failed jobs

Revision ID: 0014_jobs
Revises: 0013_confidential_marking
Create Date: 2026-12-05 13:30:00

A job is only a prompt; the rows say what is left to do. ``outbound_mail`` gains its due
time (backfilled from ``created_at``), a delivery lease, the time of the last enqueue and
the time it was given up. ``attachment`` gains the same for the virus scan of its
content. ``job_schedule`` holds the last period each periodic job claimed, so that several
schedulers run it once; ``job_failure`` the jobs that failed after their last retry.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_jobs"
down_revision = "0013_confidential_marking"
branch_labels = None
depends_on = None

MAIL_DUE = "sent_at IS NULL AND failed_at IS NULL"
SCAN_DUE = "scan_status = 'pending_scan'"


def upgrade():
    with op.batch_alter_table("outbound_mail") as batch:
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE outbound_mail SET next_attempt_at = created_at")
    with op.batch_alter_table("outbound_mail") as batch:
        batch.alter_column("next_attempt_at", existing_type=sa.DateTime(timezone=True), nullable=False)
    op.create_index(
        "ix_outbound_mail_due",
        "outbound_mail",
        ["next_attempt_at"],
        postgresql_where=sa.text(MAIL_DUE),
        sqlite_where=sa.text(MAIL_DUE),
    )

    with op.batch_alter_table("attachment") as batch:
        batch.add_column(sa.Column("scan_next_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("scan_claimed_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("scan_claim", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("scan_enqueued_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("scan_attempts", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(sa.Column("scan_error", sa.Text(), server_default="", nullable=False))
    op.execute(f"UPDATE attachment SET scan_next_at = created_at WHERE {SCAN_DUE}")
    op.create_index(
        "ix_attachment_scan_due",
        "attachment",
        ["scan_next_at"],
        postgresql_where=sa.text(SCAN_DUE),
        sqlite_where=sa.text(SCAN_DUE),
    )

    op.create_table(
        "job_schedule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("last_period", sa.String(length=40), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_schedule")),
        sa.UniqueConstraint("name", name=op.f("uq_job_schedule_name")),
    )
    op.create_table(
        "job_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task", sa.String(length=120), nullable=False),
        sa.Column("arguments", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("traceback", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("rerun_of_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["rerun_of_id"], ["job_failure.id"], name=op.f("fk_job_failure_rerun_of_id_job_failure")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"], ["user.id"], name=op.f("fk_job_failure_resolved_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_failure")),
    )
    op.create_index(op.f("ix_job_failure_failed_at"), "job_failure", ["failed_at"])


def downgrade():
    op.drop_index(op.f("ix_job_failure_failed_at"), table_name="job_failure")
    op.drop_table("job_failure")
    op.drop_table("job_schedule")
    op.drop_index("ix_attachment_scan_due", table_name="attachment")
    with op.batch_alter_table("attachment") as batch:
        for column in (
            "scan_error",
            "scan_attempts",
            "scan_enqueued_at",
            "scan_claim",
            "scan_claimed_until",
            "scan_next_at",
        ):
            batch.drop_column(column)
    op.drop_index("ix_outbound_mail_due", table_name="outbound_mail")
    with op.batch_alter_table("outbound_mail") as batch:
        for column in ("failed_at", "enqueued_at", "claimed_until", "next_attempt_at"):
            batch.drop_column(column)
