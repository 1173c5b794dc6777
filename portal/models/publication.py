"""What the public sees of an approved submission."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.base import UtcDateTime, enum_column, utcnow
from portal.models.submission import Attachment, Submission, SubmissionVersion
from portal.models.tenant import Tenant


class PublicationState(enum.StrEnum):
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


class Publication(Tenant, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(sa.ForeignKey("submission.id"), unique=True)
    state: Mapped[PublicationState] = mapped_column(
        enum_column(PublicationState), default=PublicationState.PUBLISHED, index=True
    )
    title: Mapped[str] = mapped_column(sa.String(300))
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    # The version the publisher checked and published: the public reads its answers only,
    # never a later one (an action plan's progress reports are versions no publisher saw).
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("submission_version.id"), index=True)
    # Keys of the answers (of ``version``) that are public.
    answer_keys: Mapped[list] = mapped_column(sa.JSON, default=list)
    # Titles, summary, public answers and document text: what full-text search reads.
    search_text: Mapped[str] = mapped_column(sa.Text, default="")
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    published_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    withdrawn_reason: Mapped[str | None] = mapped_column(sa.Text)
    # Answers published in a redacted wording, {key: text}. Their keys are NOT in
    # ``answer_keys``, so code that ignores this column shows nothing rather than the original.
    redacted_answers: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    submission: Mapped[Submission] = relationship()
    version: Mapped[SubmissionVersion] = relationship()
    documents: Mapped[list[PublishedDocument]] = relationship(
        back_populates="publication", cascade="all, delete-orphan", order_by="PublishedDocument.id"
    )

    __table_args__ = (
        sa.CheckConstraint(
            "state <> 'withdrawn' OR withdrawn_reason IS NOT NULL", name="withdrawn_has_reason"
        ),
    )


class PublishedDocument(Tenant, db.Model):
    """An attachment approved for publication; a redacted copy, where given, replaces it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    publication_id: Mapped[int] = mapped_column(sa.ForeignKey("publication.id"), index=True)
    attachment_id: Mapped[int] = mapped_column(sa.ForeignKey("attachment.id"))
    redacted_id: Mapped[int | None] = mapped_column(sa.ForeignKey("attachment.id"))

    publication: Mapped[Publication] = relationship(back_populates="documents")
    attachment: Mapped[Attachment] = relationship(foreign_keys=[attachment_id])
    redacted: Mapped[Attachment | None] = relationship(foreign_keys=[redacted_id])

    @property
    def public_file(self) -> Attachment:
        return self.redacted or self.attachment


def public_answers(publication: Publication, answers: dict) -> dict:
    """The answers the public may see: the chosen originals, and the redacted wordings."""
    shown = {key: answers[key] for key in publication.answer_keys if key in answers}
    shown.update(publication.redacted_answers or {})
    return shown


# Last-Modified of the public pages reads max(updated_at) (migration 0003_public_search).
sa.Index("ix_publication_updated_at", Publication.updated_at)


class PublicationFacet(Tenant, db.Model):
    """What public search filters, sorts and counts by: one narrow row per publication.

    Written only by database triggers (migration 0006_publication_facets) from the
    publication, its submission and its provider, so counting and browsing 100 000
    publications reads one small table instead of joining three wide ones. Read it;
    never write it.
    """

    __tablename__ = "publication_facet"

    publication_id: Mapped[int] = mapped_column(
        sa.ForeignKey("publication.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(sa.String(32))
    published_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The year of publication in Swedish time.
    year: Mapped[int]
    committee_id: Mapped[int]
    service_area_id: Mapped[int | None]
    provider_id: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(32))
    ownership: Mapped[str] = mapped_column(sa.String(32))

    __table_args__ = (
        sa.Index(
            "ix_publication_facet_browse",
            "municipality_id",
            "state",
            "published_at",
            "publication_id",
        ),
        sa.Index("ix_publication_facet_provider", "provider_id", "state", "published_at"),
        sa.Index("ix_publication_facet_area", "service_area_id", "state", "published_at"),
        sa.Index("ix_publication_facet_committee", "committee_id", "state", "published_at"),
    )
