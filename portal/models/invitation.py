"""Invitations to join a provider organisation, one row per invited address.

The inviter sees the same row whatever the address turns out to be: new to Insyn, or
already the login of an account (in another organisation, of the municipality's staff,
deactivated). Only the mail differs, and only its recipient reads it: a link that creates
the account, or a notice that the address already has one. An account never moves between
organisations through an invitation.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.base import UtcDateTime, enum_column, utcnow
from portal.models.organisation import Provider
from portal.models.tenant import TenantOrNational
from portal.models.user import Role, User


class Invitation(TenantOrNational, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("provider.id"), index=True)
    # Normalised (trimmed, lower case), as accounts' addresses are.
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    role: Mapped[Role] = mapped_column(enum_column(Role))
    invited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_sent_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    times_sent: Mapped[int] = mapped_column(default=1)
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The account that accepted. Invitations from before migration 0010 made the account
    # (without a password) when inviting; for those it is set while still pending.
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), index=True)

    provider: Mapped[Provider] = relationship()
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])

    __table_args__ = (
        sa.CheckConstraint(
            "role IN ('provider_user', 'provider_admin')", name="invites_to_provider_roles"
        ),
        sa.CheckConstraint(
            "accepted_at IS NULL OR withdrawn_at IS NULL", name="accepted_or_withdrawn"
        ),
    )

    def local_to_municipality(self) -> bool:
        return self.provider is not None and self.provider.local_to_municipality()

    @property
    def pending(self) -> bool:
        return self.accepted_at is None and self.withdrawn_at is None

    def expires_at(self, max_age_seconds: int) -> datetime:
        """When the link of the latest mail stops working."""
        return self.last_sent_at + timedelta(seconds=max_age_seconds)

    @classmethod
    def pending_clause(cls):
        return sa.and_(cls.accepted_at.is_(None), cls.withdrawn_at.is_(None))
