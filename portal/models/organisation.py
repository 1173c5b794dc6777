"""The municipality's side and the providers: committees, service areas, providers, agreements."""

from __future__ import annotations

import enum
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, validates
from stdnum.se import orgnr

from portal import tenancy
from portal.extensions import db
from portal.models.base import enum_column
from portal.models.tenant import Tenant, TenantOrNational


class Ownership(enum.StrEnum):
    PRIVATE = "private"
    IN_HOUSE = "in_house"
    MUNICIPAL_COMPANY = "municipal_company"
    NON_PROFIT = "non_profit"


class Route(enum.StrEnum):
    CUSTOMER_CHOICE = "customer_choice"
    PROCUREMENT = "procurement"
    DIRECT_AWARD = "direct_award"
    PARTNERSHIP = "partnership"
    IN_HOUSE_ASSIGNMENT = "in_house_assignment"


class Impact(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


# Agreements worth at least this much a year, or of high impact and at least the
# lower threshold, are strategic (the seeds: "betydande värde eller stor påverkan").
STRATEGIC_VALUE_SEK = Decimal("10000000")
STRATEGIC_VALUE_HIGH_IMPACT_SEK = Decimal("2000000")


class Committee(Tenant, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    code: Mapped[str] = mapped_column(sa.String(12))
    # The committee's contact details in the letterhead of its documents (optional).
    postal_address: Mapped[str | None] = mapped_column(sa.String(300))
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    email: Mapped[str | None] = mapped_column(sa.String(254))

    __table_args__ = (
        sa.UniqueConstraint("municipality_id", "code", name="uq_committee_code"),
        sa.UniqueConstraint("municipality_id", "name", name="uq_committee_name"),
    )

    def __str__(self) -> str:
        return self.name


class ServiceArea(Tenant, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    committee_id: Mapped[int] = mapped_column(sa.ForeignKey("committee.id"))
    committee: Mapped[Committee] = relationship()

    __table_args__ = (sa.UniqueConstraint("municipality_id", "name", name="uq_service_area_name"),)

    def __str__(self) -> str:
        return self.name


# The municipalities a national organisation is registered with: where it was entered in
# the registry, and where it has agreements. Its lists there show it; staff elsewhere do not
# see it in theirs, and may change its details only while it is registered with theirs alone.
provider_municipality = sa.Table(
    "provider_municipality",
    db.metadata,
    sa.Column("provider_id", sa.ForeignKey("provider.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "municipality_id", sa.ForeignKey("municipality.id", ondelete="CASCADE"), primary_key=True
    ),
)


class Provider(TenantOrNational, db.Model):
    """A provider organisation: national (one row per organisation number, serving every
    municipality it has agreements with), or an in-house unit of one municipality."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    # In-house units share the municipality's organisation number, so it is not unique.
    org_number: Mapped[str] = mapped_column(sa.String(11), index=True)
    ownership: Mapped[Ownership] = mapped_column(enum_column(Ownership))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    website: Mapped[str | None] = mapped_column(sa.String(300))
    description: Mapped[str] = mapped_column(sa.Text, default="")

    agreements: Mapped[list[Agreement]] = relationship(back_populates="provider")

    def local_to_municipality(self) -> bool:
        return self.ownership == Ownership.IN_HOUSE

    @classmethod
    def registered_with(cls, municipality_id: int | None) -> sa.ColumnElement[bool]:
        """The organisations of ``municipality_id``'s lists: its own in-house units and the
        national organisations registered with it."""
        return sa.or_(
            cls.municipality_id == municipality_id,
            cls.id.in_(
                sa.select(provider_municipality.c.provider_id).where(
                    provider_municipality.c.municipality_id == municipality_id
                )
            ),
        )

    def register_here(self) -> None:
        """Register this organisation with the current municipality (once)."""
        register(db.session(), self.id, tenancy.current_id())

    def registrations(self) -> set[int]:
        """The municipalities this organisation is registered with."""
        return set(
            db.session.scalars(
                sa.select(provider_municipality.c.municipality_id).where(
                    provider_municipality.c.provider_id == self.id
                )
            )
        )

    @validates("org_number")
    def _valid_org_number(self, key: str, value: str) -> str:
        """Store the organisation number as NNNNNN-NNNN after checking its Luhn digit."""
        return orgnr.format(orgnr.validate(value))

    def __str__(self) -> str:
        return self.name


class Agreement(Tenant, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(60))
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("provider.id"), index=True)
    committee_id: Mapped[int] = mapped_column(sa.ForeignKey("committee.id"), index=True)
    service_area_id: Mapped[int] = mapped_column(sa.ForeignKey("service_area.id"), index=True)
    route: Mapped[Route] = mapped_column(enum_column(Route))
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    yearly_value_sek: Mapped[Decimal] = mapped_column(sa.Numeric(14, 0), default=0)
    impact: Mapped[Impact] = mapped_column(enum_column(Impact), default=Impact.LOW)
    strategic_override: Mapped[bool | None]
    strategic_override_reason: Mapped[str | None] = mapped_column(sa.Text)
    responsible_officer: Mapped[str] = mapped_column(sa.String(200), default="")
    quality_requirements: Mapped[str] = mapped_column(sa.Text, default="")

    provider: Mapped[Provider] = relationship(back_populates="agreements")
    committee: Mapped[Committee] = relationship()
    service_area: Mapped[ServiceArea] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("committee_id", "reference", name="uq_agreement_reference"),
        sa.CheckConstraint(
            "strategic_override IS NULL OR strategic_override_reason IS NOT NULL",
            name="override_has_reason",
        ),
        sa.CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="period_order"),
    )

    @property
    def strategic_by_rule(self) -> bool:
        value = Decimal(self.yearly_value_sek or 0)
        return value >= STRATEGIC_VALUE_SEK or (
            self.impact == Impact.HIGH and value >= STRATEGIC_VALUE_HIGH_IMPACT_SEK
        )

    @property
    def strategic(self) -> bool:
        if self.strategic_override is not None:
            return self.strategic_override
        return self.strategic_by_rule

    def __str__(self) -> str:
        return f"{self.reference} {self.provider.name}"


def register(session: Session, provider_id: int, municipality_id: int | None) -> None:
    """Register an organisation with a municipality, once."""
    if municipality_id is None:
        return
    connection = session.connection()
    pair = (
        provider_municipality.c.provider_id == provider_id,
        provider_municipality.c.municipality_id == municipality_id,
    )
    if connection.execute(sa.select(provider_municipality).where(*pair)).first() is None:
        connection.execute(
            provider_municipality.insert().values(
                provider_id=provider_id, municipality_id=municipality_id
            )
        )


@sa.event.listens_for(Session, "after_flush")
def _register_providers(session, flush_context) -> None:
    """A national organisation entered, or given an agreement, in a municipality is
    registered with it."""
    municipality_id = tenancy.scope_of(session).municipality_id
    providers = {
        obj.id if isinstance(obj, Provider) else obj.provider_id
        for obj in session.new
        if isinstance(obj, Provider | Agreement)
    }
    for provider_id in sorted(providers - {None}):
        register(session, provider_id, municipality_id)
