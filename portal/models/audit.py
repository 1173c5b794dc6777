"""The append-only audit log and the mail outbox."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.base import UtcDateTime, utcnow
from portal.models.tenant import TenantOrNationalStrict


class AuditEvent(TenantOrNationalStrict, db.Model):
    """Who did what, when, from where. Never updated or deleted."""

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), index=True)
    actor_email: Mapped[str] = mapped_column(sa.String(254), default="")
    ip: Mapped[str] = mapped_column(sa.String(45), default="")
    action: Mapped[str] = mapped_column(sa.String(60), index=True)
    object_type: Mapped[str] = mapped_column(sa.String(40), default="")
    object_id: Mapped[int | None]
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)


class OutboundMail(TenantOrNationalStrict, db.Model):
    """A mail written in the same transaction as the change it reports, delivered by a job
    after commit. The row is the truth: unsent and due means a job is owed
    (``portal.jobs.sweep``), a lease means one is delivering it now."""

    __table_args__ = (
        sa.Index(
            "ix_outbound_mail_due",
            "next_attempt_at",
            postgresql_where=sa.text("sent_at IS NULL AND failed_at IS NULL"),
            sqlite_where=sa.text("sent_at IS NULL AND failed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)  # delivery lease
    enqueued_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # last job enqueued
    failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # given up
