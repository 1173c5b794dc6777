"""Submissions with immutable versions, their attachments and review events."""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from portal.extensions import db
from portal.models.base import UtcDateTime, enum_column, utcnow
from portal.models.organisation import Agreement, Committee, Provider, ServiceArea
from portal.models.request import InformationRequest, SubmissionKind
from portal.models.tenant import Tenant
from portal.models.user import User
from storage.uploads import CLEAN_PREFIX, QUARANTINE_PREFIX


class ReviewState(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    CLARIFICATION_REQUESTED = "clarification_requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


# States of a submission the provider has never sent: a draft, or a draft it withdrew.
NEVER_SENT = (ReviewState.DRAFT, ReviewState.WITHDRAWN)


class ScanStatus(enum.StrEnum):
    CLEAN = "clean"
    PENDING_SCAN = "pending_scan"
    # Scanning switched off (development without clamd): usable, but never published.
    NOT_SCANNED = "not_scanned"
    # Found infected by a later scan (``storage rescan``): the row stays as a record of what
    # was removed and why, the file is gone.
    INFECTED = "infected"


class RegistrationCounter(Tenant, db.Model):
    """The last registration number handed out per committee and year."""

    committee_id: Mapped[int] = mapped_column(sa.ForeignKey("committee.id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last_number: Mapped[int] = mapped_column(default=0)


class Submission(Tenant, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[SubmissionKind] = mapped_column(enum_column(SubmissionKind))
    state: Mapped[ReviewState] = mapped_column(
        enum_column(ReviewState), default=ReviewState.DRAFT, index=True
    )
    committee_id: Mapped[int] = mapped_column(sa.ForeignKey("committee.id"), index=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("provider.id"), index=True)
    request_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("information_request.id"), index=True
    )
    agreement_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agreement.id"))
    service_area_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_area.id"))
    # An action plan answers a deviation report or a finding.
    deviation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("submission.id"))
    finding_id: Mapped[int | None] = mapped_column(sa.ForeignKey("finding.id"))
    registration_number: Mapped[str | None] = mapped_column(sa.String(40))
    title: Mapped[str] = mapped_column(sa.String(300))
    issued_on: Mapped[date | None]
    deadline: Mapped[date | None]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lock_version: Mapped[int] = mapped_column(default=1)

    committee: Mapped[Committee] = relationship()
    provider: Mapped[Provider] = relationship()
    request: Mapped[InformationRequest | None] = relationship()
    agreement: Mapped[Agreement | None] = relationship()
    service_area: Mapped[ServiceArea | None] = relationship()
    deviation: Mapped[Submission | None] = relationship(remote_side=[id])
    finding: Mapped[Finding | None] = relationship(back_populates="action_plans")
    versions: Mapped[list[SubmissionVersion]] = relationship(
        back_populates="submission",
        cascade="all, delete-orphan",
        order_by="SubmissionVersion.number",
    )
    events: Mapped[list[ReviewEvent]] = relationship(
        back_populates="submission", cascade="all, delete-orphan", order_by="ReviewEvent.id"
    )

    __mapper_args__ = {"version_id_col": lock_version}
    __table_args__ = (
        sa.CheckConstraint(
            "kind <> 'transparency_info' OR request_id IS NOT NULL", name="info_answers_request"
        ),
        sa.Index("ix_submission_queue", "committee_id", "state", "submitted_at"),
        sa.UniqueConstraint(
            "municipality_id", "registration_number", name="uq_submission_registration_number"
        ),
    )

    @hybrid_property
    def requested(self) -> bool:
        """Staff asked for it: an answer to an information request, or the action plan a
        finding requires. Anything else the provider started on its own initiative."""
        return self.request_id is not None or self.finding_id is not None

    @requested.inplace.expression
    @classmethod
    def _requested_expression(cls):
        return sa.or_(cls.request_id.is_not(None), cls.finding_id.is_not(None))

    @hybrid_property
    def sent(self) -> bool:
        """The provider has submitted it at least once (a withdrawn draft never was)."""
        return self.state not in NEVER_SENT

    @sent.inplace.expression
    @classmethod
    def _sent_expression(cls):
        return cls.state.not_in(NEVER_SENT)

    @property
    def latest(self) -> SubmissionVersion | None:
        """The newest version, the provider's unsent draft included: for the provider's own
        pages only. Staff decisions and documents read :attr:`latest_submitted`."""
        return self.versions[-1] if self.versions else None

    @property
    def latest_submitted(self) -> SubmissionVersion | None:
        """The newest version the provider has sent: what staff see, decide on and report."""
        submitted = self.submitted_versions
        return submitted[-1] if submitted else None

    @property
    def current_draft(self) -> SubmissionVersion | None:
        latest = self.latest
        return latest if latest is not None and latest.submitted_at is None else None

    @property
    def submitted_versions(self) -> list[SubmissionVersion]:
        return [v for v in self.versions if v.submitted_at is not None]

    def overdue(self, today: date) -> bool:
        waiting = self.state in (ReviewState.DRAFT, ReviewState.CLARIFICATION_REQUESTED)
        return waiting and self.deadline is not None and today > self.deadline

    def very_overdue(self, today: date) -> bool:
        """Past the deadline by more than the time that was allowed."""
        if not self.overdue(today) or self.issued_on is None:
            return False
        allowed = max(self.deadline - self.issued_on, timedelta(days=1))
        return today > self.deadline + allowed


class SubmissionVersion(Tenant, db.Model):
    """A version is editable while it is a draft and frozen once submitted."""

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(sa.ForeignKey("submission.id"), index=True)
    number: Mapped[int]
    answers: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # The provider's confidentiality markings (sekretessmarkering) of answers: {field key:
    # reason}. Staff see them; publishing a marked answer needs a logged decision.
    confidential: Mapped[dict] = mapped_column(
        sa.JSON, default=dict, server_default=sa.text("'{}'")
    )
    note: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    submission: Mapped[Submission] = relationship(back_populates="versions")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="version", order_by="Attachment.id"
    )

    __table_args__ = (sa.UniqueConstraint("submission_id", "number", name="uq_version_number"),)

    @property
    def frozen(self) -> bool:
        return self.submitted_at is not None


class Attachment(Tenant, db.Model):
    """A stored file. The object key derives from its sha256 and scan status, never its name."""

    __table_args__ = (
        sa.Index(
            "ix_attachment_scan_due",
            "scan_next_at",
            postgresql_where=sa.text("scan_status = 'pending_scan'"),
            sqlite_where=sa.text("scan_status = 'pending_scan'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("submission_version.id"), index=True
    )
    # The answer this file belongs to: a request field key, or "evidence-N" for a measure.
    slot: Mapped[str] = mapped_column(sa.String(40), default="")
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    # Where the bytes wait for their scan when the upload had a key of its own
    # (``quarantine/<upload id>``); NULL: under ``quarantine/<sha256>``.
    quarantine_key: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    size: Mapped[int] = mapped_column(sa.BigInteger)
    content_type: Mapped[str] = mapped_column(sa.String(120))
    display_name: Mapped[str] = mapped_column(sa.String(200))
    scan_status: Mapped[ScanStatus] = mapped_column(enum_column(ScanStatus), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    scanned_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # A redacted copy uploaded by a publisher has no version of its own: it belongs to the
    # attachment it masks, and through that to the submission (for access and publication).
    redacts_id: Mapped[int | None] = mapped_column(sa.ForeignKey("attachment.id"), index=True)
    # The provider marked the file as confidential (sekretessmarkering) with this reason;
    # None: not marked. Staff see it; publishing the file needs a logged decision.
    confidential_reason: Mapped[str | None] = mapped_column(sa.Text)
    # The scan job's bookkeeping (portal.attachments.scan_content), per row but kept equal
    # for all pending rows of one content: when the next scan is due, the lease of a scan in
    # progress and the run holding it, the last enqueue, and scans that got no verdict.
    scan_next_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    scan_claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    scan_claim: Mapped[str | None] = mapped_column(sa.String(32))
    scan_enqueued_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    scan_attempts: Mapped[int] = mapped_column(default=0)
    scan_error: Mapped[str] = mapped_column(sa.Text, default="")

    version: Mapped[SubmissionVersion | None] = relationship(back_populates="attachments")
    uploaded_by: Mapped[User | None] = relationship()
    redacts: Mapped[Attachment | None] = relationship(remote_side=[id], foreign_keys=[redacts_id])

    @property
    def storage_key(self) -> str:
        """Where its bytes are: while pending, its upload's own key under ``quarantine/``
        (``quarantine/<sha256>`` for rows from before per-upload keys); else ``clean/``."""
        if self.scan_status == ScanStatus.PENDING_SCAN:
            return self.quarantined(self.sha256, self.quarantine_key)
        return CLEAN_PREFIX + self.sha256

    @staticmethod
    def quarantined(sha256: str, quarantine_key: str | None) -> str:
        """Where bytes wait for their scan: the upload's own key, or ``quarantine/<sha256>``
        (rows from before per-upload keys, and uploads not sent in parts)."""
        return quarantine_key or QUARANTINE_PREFIX + sha256

    @property
    def released(self) -> bool:
        """Reviewers may open it (the public additionally needs a publication)."""
        return self.scan_status in (ScanStatus.CLEAN, ScanStatus.NOT_SCANNED)

    @property
    def infected(self) -> bool:
        return self.scan_status == ScanStatus.INFECTED


class ReviewEvent(Tenant, db.Model):
    """Every state change, comment and decision on a submission."""

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(sa.ForeignKey("submission.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(sa.String(40))
    from_state: Mapped[ReviewState] = mapped_column(enum_column(ReviewState, "from_state"))
    to_state: Mapped[ReviewState] = mapped_column(enum_column(ReviewState, "to_state"))
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class Finding(Tenant, db.Model):
    """Staff's follow-up result on an agreement (iakttagelse)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(sa.ForeignKey("agreement.id"), index=True)
    assessed_on: Mapped[date]
    meets_requirements: Mapped[bool]
    deficiencies: Mapped[str] = mapped_column(sa.Text, default="")
    goal_effect: Mapped[str] = mapped_column(sa.Text, default="")
    action_plan_due: Mapped[date | None]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    agreement: Mapped[Agreement] = relationship()
    action_plans: Mapped[list[Submission]] = relationship(back_populates="finding")


class FrozenVersionError(RuntimeError):
    """Someone tried to change a submitted version."""


@sa.event.listens_for(Session, "before_flush")
def _submitted_versions_are_immutable(session, flush_context, instances) -> None:
    for obj in session.dirty:
        if isinstance(obj, SubmissionVersion) and session.is_modified(obj):
            history = sa.inspect(obj).attrs.submitted_at.history
            if any(value is not None for value in (*history.unchanged, *history.deleted)):
                raise FrozenVersionError(f"version {obj.number} of submission {obj.submission_id}")
    for obj in session.deleted:
        if isinstance(obj, SubmissionVersion) and obj.submitted_at is not None:
            raise FrozenVersionError(f"version {obj.number} of submission {obj.submission_id}")


# The public search filters and counts by service area (migration 0003_public_search).
sa.Index("ix_submission_service_area_id", Submission.service_area_id)

# The staff dashboard and submission page (migration 0005_staff_indexes).
sa.Index("ix_submission_deviation_id", Submission.deviation_id)
sa.Index("ix_submission_finding_id", Submission.finding_id)
sa.Index("ix_submission_kind_state", Submission.kind, Submission.state)
