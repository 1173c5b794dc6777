"""Information requests (begäran om information) and their precisely specified fields."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.base import UtcDateTime, enum_column, utcnow
from portal.models.organisation import Agreement, Committee, ServiceArea
from portal.models.tenant import Tenant


class FieldType(enum.StrEnum):
    TEXT = "text"
    NUMBER = "number"
    PERCENTAGE = "percentage"
    YES_NO = "yes_no"
    DATE = "date"
    FILE = "file"


class SubmissionKind(enum.StrEnum):
    TRANSPARENCY_INFO = "transparency_info"
    DEVIATION_REPORT = "deviation_report"
    ACTION_PLAN = "action_plan"


class InformationRequest(Tenant, db.Model):
    """One dispatched request; each recipient provider answers in its own submission."""

    id: Mapped[int] = mapped_column(primary_key=True)
    committee_id: Mapped[int] = mapped_column(sa.ForeignKey("committee.id"), index=True)
    registration_number: Mapped[str] = mapped_column(sa.String(40))
    title: Mapped[str] = mapped_column(sa.String(300))
    instructions: Mapped[str] = mapped_column(sa.Text, default="")
    kind: Mapped[SubmissionKind] = mapped_column(
        enum_column(SubmissionKind), default=SubmissionKind.TRANSPARENCY_INFO
    )
    deadline: Mapped[date]
    service_area_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_area.id"))
    # A recurring request belongs to an agreement and comes back every year on this month/day.
    agreement_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agreement.id"))
    recurs_yearly: Mapped[bool] = mapped_column(default=False)
    previous_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("information_request.id"), unique=True
    )
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    committee: Mapped[Committee] = relationship()
    service_area: Mapped[ServiceArea | None] = relationship()
    agreement: Mapped[Agreement | None] = relationship()
    fields: Mapped[list[RequestField]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="RequestField.position"
    )

    __table_args__ = (
        sa.CheckConstraint(
            "NOT recurs_yearly OR agreement_id IS NOT NULL", name="recurring_agreement"
        ),
        sa.UniqueConstraint(
            "municipality_id", "registration_number", name="uq_request_registration_number"
        ),
    )


class RequestField(Tenant, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("information_request.id"), index=True)
    position: Mapped[int]
    label: Mapped[str] = mapped_column(sa.String(300))
    help_text: Mapped[str] = mapped_column(sa.Text, default="")
    type: Mapped[FieldType] = mapped_column(enum_column(FieldType))
    unit: Mapped[str] = mapped_column(sa.String(30), default="")
    required: Mapped[bool] = mapped_column(default=True)
    for_publication: Mapped[bool] = mapped_column(default=True)

    request: Mapped[InformationRequest] = relationship(back_populates="fields")

    __table_args__ = (sa.UniqueConstraint("request_id", "position", name="uq_field_position"),)

    @property
    def key(self) -> str:
        """The key of this field's answer in a version's answers."""
        return f"f{self.id}"
