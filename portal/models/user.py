"""Accounts: provider users belong to one provider, staff to committees."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.base import UtcDateTime, enum_column, utcnow
from portal.models.organisation import Committee, Provider
from portal.models.tenant import Tenant, TenantOrNational


class Role(enum.StrEnum):
    PROVIDER_USER = "provider_user"
    PROVIDER_ADMIN = "provider_admin"
    REVIEWER = "reviewer"
    PUBLISHER = "publisher"
    ADMIN = "admin"

    @property
    def is_provider(self) -> bool:
        return self in (Role.PROVIDER_USER, Role.PROVIDER_ADMIN)

    @property
    def is_staff(self) -> bool:
        return not self.is_provider


user_committee = sa.Table(
    "user_committee",
    db.metadata,
    sa.Column("user_id", sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("committee_id", sa.ForeignKey("committee.id", ondelete="CASCADE"), primary_key=True),
)


class User(TenantOrNational, UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(sa.String(200))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    provider_id: Mapped[int | None] = mapped_column(sa.ForeignKey("provider.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped on logout, password change and deactivation: every older session ends.
    session_version: Mapped[int] = mapped_column(default=1)
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    # The last TOTP time step accepted (a code works once) and a secret being set up.
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    totp_pending_secret: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    provider: Mapped[Provider | None] = relationship()
    committees: Mapped[list[Committee]] = relationship(secondary=user_committee)

    __table_args__ = (
        sa.CheckConstraint(
            "(role IN ('provider_user', 'provider_admin')) = (provider_id IS NOT NULL)",
            name="provider_users_have_provider",
        ),
    )

    def local_to_municipality(self) -> bool:
        """Staff, and the users of an in-house unit, belong to their municipality."""
        if self.role.is_staff:
            return True
        return self.provider is not None and self.provider.local_to_municipality()

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def get_id(self) -> str:
        # The session version travels with the id, so a bumped version logs the session out.
        return f"{self.id}:{self.session_version}"

    @property
    def committee_ids(self) -> set[int]:
        return {c.id for c in self.committees}

    def __str__(self) -> str:
        return self.name or self.email


class Setting(Tenant, db.Model):
    """A municipality's administrator settings, such as requiring two-factor login for staff."""

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64))
    value: Mapped[str] = mapped_column(sa.String(500))

    __table_args__ = (sa.UniqueConstraint("municipality_id", "key", name="uq_setting_key"),)

    @classmethod
    def of(cls, key: str, *, for_update: bool = False) -> Setting | None:
        """The current municipality's setting ``key``, if it was ever set."""
        query = sa.select(cls).where(cls.key == key)
        return db.session.scalars(query.with_for_update() if for_update else query).first()
