"""Municipalities (the tenants) and the column that ties a row to one.

Every municipal record carries ``municipality_id`` through one of three mixins, and
:mod:`portal.tenancy` filters by it: in the code on every database, and on PostgreSQL by
row-level security as well (migration 0016_tenancy).

- :class:`Tenant`: always one municipality's (committees, requests, submissions, ...).
- :class:`TenantOrNational`: NULL is a national row visible in every municipality
  (provider organisations and their users); a value confines the row to its municipality
  (in-house units, staff).
- :class:`TenantOrNationalStrict`: NULL is a national row visible only nationally
  (audit events and mail of national work).
"""

from __future__ import annotations

import re
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from portal.extensions import db
from portal.models.base import UtcDateTime, utcnow

SLUG = re.compile(r"[a-z][a-z0-9-]{1,39}")


class Municipality(db.Model):
    """A municipality served by this installation, with what its pages and documents show."""

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    org_number: Mapped[str | None] = mapped_column(sa.String(11))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    postal_address: Mapped[str | None] = mapped_column(sa.String(300))
    website: Mapped[str | None] = mapped_column(sa.String(300))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    def __str__(self) -> str:
        return self.name


class Tenant:
    """A row of exactly one municipality."""

    @declared_attr
    def municipality_id(cls) -> Mapped[int]:
        return mapped_column(sa.ForeignKey("municipality.id"), index=True)


class TenantOrNational:
    """A row of one municipality, or (NULL) a national one seen in every municipality."""

    @declared_attr
    def municipality_id(cls) -> Mapped[int | None]:
        return mapped_column(sa.ForeignKey("municipality.id"), index=True)

    def local_to_municipality(self) -> bool:
        """Whether a new row belongs to the municipality it is created in."""
        return False


class TenantOrNationalStrict:
    """A row of one municipality, or (NULL) of national work, seen only nationally."""

    @declared_attr
    def municipality_id(cls) -> Mapped[int | None]:
        return mapped_column(sa.ForeignKey("municipality.id"), index=True)
