"""Publishing, redacted copies and withdrawal. The workflow writes the publication and its
audit record; these functions add what the publication pages decide besides: the public
search index, and one audit record per decision to publish a hit of the personal-data
guard or a part the provider marked as confidential. Nothing here commits: the view runs
them in :func:`portal.transactions.committed`."""

from __future__ import annotations

from werkzeug.datastructures import FileStorage

from admin.publication.choices import Draft
from admin.publication.pii_guard import Checked
from portal import audit, workflow
from portal import search as public_search
from portal.attachments import accept_upload
from portal.extensions import db
from portal.models import Attachment, AuditAction, Publication, PublishedDocument, User


def publish(draft: Draft, checked: list[Checked], actor: User) -> Publication:
    """Publish what ``draft`` chose, and log every decision to publish a hit of the guard
    (``checked`` must be the draft's check with no group left without a reason)."""
    publication = workflow.publish(
        draft.submission,
        actor,
        title=draft.title,
        summary=draft.summary,
        # In the order the request asks them (f8, f9, f10: not string order).
        answer_keys=[
            a.key for a in draft.answers if a.key in draft.keys and a.key not in draft.redacted
        ],
        redacted_answers={
            a.key: draft.redacted[a.key]
            for a in draft.answers
            if a.key in draft.keys and a.key in draft.redacted
        },
        documents=[
            PublishedDocument(attachment=c.original, redacted=c.copy) for c in draft.chosen_files
        ],
        # The version whose answers and files were checked is the one published.
        version=draft.version,
    )
    public_search.refresh(publication)
    for c, g in draft.decisions(checked):
        audit.record(
            AuditAction.PUBLICATION_PII_OVERRIDE,
            publication,
            actor=actor,
            source=c.source,
            kind=g.kind,
            masked=g.masked,
            occurrences=g.count,
            reason=draft.overrides[g.token],
        )
    return publication


def attach_redacted_copy(original: Attachment, upload: FileStorage, actor: User) -> Attachment:
    """Keep ``upload`` as the redacted copy published instead of ``original``. Raises
    :class:`~portal.attachments.UploadError` for a file refused (nothing is written)."""
    copy = accept_upload(upload, uploader=actor, slot=f"redacted-{original.id}")
    return workflow.attach_redacted_copy(original, copy, actor)


def remove_redacted_copy(copy: Attachment, actor: User) -> None:
    audit.record(
        AuditAction.ATTACHMENT_REDACTED_COPY_REMOVED,
        copy,
        actor=actor,
        original=copy.redacts_id,
        sha256=copy.sha256,
    )
    db.session.delete(copy)


def withdraw(publication: Publication, actor: User, reason: str) -> None:
    workflow.withdraw_publication(publication, actor, reason)
    # The withdrawn page shows no answers or files: neither may the index.
    public_search.refresh(publication)
