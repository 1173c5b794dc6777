"""What the publication pages list and show: the approved submissions waiting to be
published, the publications, one publication's answers and its logged decisions."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload

from admin.lists import arg, choice_arg, int_arg, search
from admin.review.answers import answers_of
from portal import labels, policy
from portal.extensions import db
from portal.models import (
    Attachment,
    AuditAction,
    AuditEvent,
    Provider,
    Publication,
    PublicationState,
    PublishedDocument,
    ReviewState,
    Submission,
    SubmissionKind,
)

PUBLISHABLE_STATES = (ReviewState.APPROVED, ReviewState.CLOSED)


# --- what is waiting to be published, and what is published --------------------------------


def candidates() -> tuple:
    """The approved submissions not yet published (the select) and the filters."""
    f = {
        "q": arg("q"),
        "committee": int_arg("namnd"),
        "kind": choice_arg("typ", SubmissionKind),
    }
    published = sa.select(Publication.id).where(Publication.submission_id == Submission.id)
    select = (
        policy.visible_submissions(current_user, sa.select(Submission))
        .join(Submission.provider)
        .where(
            Submission.state.in_(PUBLISHABLE_STATES),
            ~published.exists(),
            search(f["q"], Submission.registration_number, Submission.title, Provider.name),
        )
        .options(joinedload(Submission.provider), joinedload(Submission.committee))
        .order_by(Submission.decided_at.desc().nulls_last(), Submission.id.desc())
    )
    if f["committee"]:
        select = select.where(Submission.committee_id == f["committee"])
    if f["kind"]:
        select = select.where(Submission.kind == SubmissionKind(f["kind"]))
    return select, f


def candidate_columns() -> list[str]:
    return [_("Diarienummer"), _("Ärende"), _("Typ"), _("Utförare"), _("Nämnd"), _("Beslutad")]


def candidate_row(s: Submission) -> list:
    return [
        s.registration_number,
        s.title,
        labels.name(labels.KIND, s.kind),
        s.provider.name,
        s.committee.name,
        s.decided_at,
    ]


def publications() -> tuple:
    """The publications the user may see (the select) and the filters."""
    f = {
        "q": arg("q"),
        "committee": int_arg("namnd"),
        "state": choice_arg("status", PublicationState),
    }
    select = (
        policy.visible_submissions(
            current_user, sa.select(Publication).join(Publication.submission)
        )
        .join(Submission.provider)
        .where(search(f["q"], Publication.title, Submission.registration_number, Provider.name))
        .options(joinedload(Publication.submission).joinedload(Submission.provider))
        .order_by(Publication.published_at.desc(), Publication.id.desc())
    )
    if f["committee"]:
        select = select.where(Submission.committee_id == f["committee"])
    if f["state"]:
        select = select.where(Publication.state == PublicationState(f["state"]))
    return select, f


def publication_columns() -> list[str]:
    return [
        _("Rubrik"),
        _("Diarienummer"),
        _("Utförare"),
        _("Nämnd"),
        _("Status"),
        labels.PUBLICATION_STATE[PublicationState.PUBLISHED],
        labels.PUBLICATION_STATE[PublicationState.WITHDRAWN],
        _("Skäl till återkallelse"),
        _("Dokument"),
    ]


def publication_row(p: Publication) -> list:
    return [
        p.title,
        p.submission.registration_number,
        p.submission.provider.name,
        p.submission.committee.name,
        labels.name(labels.PUBLICATION_STATE, p.state),
        p.published_at,
        p.withdrawn_at,
        p.withdrawn_reason,
        len(p.documents),
    ]


# --- one submission or publication --------------------------------------------------------


def publication_of(submission: Submission) -> Publication | None:
    return db.session.scalar(sa.select(Publication).filter_by(submission_id=submission.id))


def copy_removable(copy: Attachment, submission: Submission) -> bool:
    """A redacted copy of ``submission``'s file that no publication uses can be removed."""
    if copy.redacts is None or copy.redacts.version.submission_id != submission.id:
        return False
    in_use = sa.select(PublishedDocument.id).where(PublishedDocument.redacted_id == copy.id)
    return db.session.scalar(in_use) is None


@dataclass
class PublishedAnswer:
    label: str
    text: str
    redacted: bool  # the publisher's masked wording, not the provider's


def published_answers(publication: Publication) -> list[PublishedAnswer]:
    """The published answers in the order the request or the report form asks them.

    Read from the version published, not a later one. A key the version no longer has
    (which should not happen) is listed last under its key, not dropped silently.
    """
    redacted = publication.redacted_answers or {}
    chosen = set(publication.answer_keys or []) | set(redacted)
    out = []
    for a in answers_of(publication.submission, publication.version):
        if a.key in redacted:
            out.append(PublishedAnswer(a.label, redacted[a.key], True))
        elif a.key in chosen:
            out.append(PublishedAnswer(a.label, a.text, False))
        chosen.discard(a.key)
    for key in [*(publication.answer_keys or []), *redacted]:
        if key in chosen:
            out.append(PublishedAnswer(key, redacted.get(key, ""), key in redacted))
            chosen.discard(key)
    return out


def overrides(publication: Publication) -> list[AuditEvent]:
    """The logged decisions to publish a hit of the guard or a marked part anyway."""
    return db.session.scalars(
        sa.select(AuditEvent)
        .where(
            AuditEvent.object_type == "publication",
            AuditEvent.object_id == publication.id,
            AuditEvent.action == AuditAction.PUBLICATION_PII_OVERRIDE,
        )
        .order_by(AuditEvent.id)
    ).all()
