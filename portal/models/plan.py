"""The committee's yearly follow-up plan (uppföljningsplan)."""

from __future__ import annotations

import enum
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.base import enum_column
from portal.models.organisation import Agreement, Committee, ServiceArea
from portal.models.tenant import Tenant


class FollowUpForm(enum.StrEnum):
    SUPERVISION = "supervision"  # tillsyn
    OPERATIONS = "operations"  # verksamhetsuppföljning
    CONTRACT = "contract"  # avtalsuppföljning
    INDIVIDUAL = "individual"  # individuppföljning
    TARGETED_INSIGHT = "targeted_insight"  # riktad insyn


class FollowUpPlan(Tenant, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    committee_id: Mapped[int] = mapped_column(sa.ForeignKey("committee.id"))
    year: Mapped[int]
    adopted_on: Mapped[date | None]

    committee: Mapped[Committee] = relationship()
    items: Mapped[list[FollowUpItem]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="FollowUpItem.id"
    )

    __table_args__ = (sa.UniqueConstraint("committee_id", "year", name="uq_plan_committee_year"),)


class FollowUpItem(Tenant, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("follow_up_plan.id"), index=True)
    agreement_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agreement.id"))
    service_area_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_area.id"))
    form: Mapped[FollowUpForm] = mapped_column(enum_column(FollowUpForm))
    responsible: Mapped[str] = mapped_column(sa.String(200))
    planned_from: Mapped[date | None]
    planned_to: Mapped[date | None]
    interval: Mapped[str] = mapped_column(sa.String(100), default="")
    feedback_committee: Mapped[bool] = mapped_column(default=True)
    feedback_provider: Mapped[bool] = mapped_column(default=True)
    feedback_public: Mapped[bool] = mapped_column(default=False)
    focus_areas: Mapped[str] = mapped_column(sa.Text, default="")

    plan: Mapped[FollowUpPlan] = relationship(back_populates="items")
    agreement: Mapped[Agreement | None] = relationship()
    service_area: Mapped[ServiceArea | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint(
            "(agreement_id IS NULL) <> (service_area_id IS NULL)", name="one_subject"
        ),
    )
