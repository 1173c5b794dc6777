"""Bookkeeping of the provider portal: reminders already sent, and the one-time keys of
the forms that create a report (so that a double click creates one report)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.base import UtcDateTime, utcnow
from portal.models.tenant import Tenant


class ReminderSent(Tenant, db.Model):
    """A deadline e-mail (``reminder_7``, ``reminder_1``, ``overdue``) for one deadline.

    The unique key makes a second run, or two runs at once, skip what was sent;
    an extended deadline gets its own reminders.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        sa.ForeignKey("submission.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(20))
    deadline: Mapped[date]
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("submission_id", "kind", "deadline", name="uq_reminder_sent_once"),
    )


class CreationKey(Tenant, db.Model):
    """The key of one "new report" form. A second post of the same form (a double click,
    or a reload) finds the report the first post created instead of creating another."""

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        sa.ForeignKey("submission.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
