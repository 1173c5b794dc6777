"""Reading what the public pages and the API show: one row by id (or a 404), a list of
publications in a given order, and when anything public last changed."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import abort, g, has_request_context

from portal.extensions import db
from portal.models import InformationRequest, Publication, Submission
from portal.models.base import MAX_ID
from portal.models.publication import PublishedDocument


def get_or_404(model, ident: int):
    """The row with primary key ``ident``, or a 404 (also for ids no column can hold)."""
    found = db.session.get(model, ident) if 1 <= ident <= MAX_ID else None
    if found is None:
        abort(404)
    return found


def publication_or_404(ident: int) -> Publication:
    """The publication with everything its page and its API entry show, in one query
    instead of one per relation (submission, provider, committee, service area, request
    and its fields, the version published, documents and their files); or a 404."""
    if not 1 <= ident <= MAX_ID:
        abort(404)
    joined = sa.orm.joinedload
    found = (
        db.session.scalars(
            sa.select(Publication)
            .where(Publication.id == ident)
            .options(
                sa.orm.defer(Publication.search_text),
                joined(Publication.submission).options(
                    joined(Submission.provider),
                    joined(Submission.committee),
                    joined(Submission.service_area),
                    joined(Submission.request).joinedload(InformationRequest.fields),
                ),
                joined(Publication.version),
                joined(Publication.documents).options(
                    joined(PublishedDocument.attachment), joined(PublishedDocument.redacted)
                ),
            )
        )
        .unique()
        .one_or_none()
    )
    if found is None:
        abort(404)
    return found


def load(ids: list[int]) -> list[Publication]:
    """The publications with everything a result list shows, in the order of ``ids``."""
    if not ids:
        return []
    # The request too (the API lists it: one query per row otherwise); not the search text
    # (kilobytes per row, out of line on PostgreSQL, never shown in a list).
    options = (
        sa.orm.defer(Publication.search_text),
        sa.orm.joinedload(Publication.submission).options(
            sa.orm.joinedload(Submission.provider),
            sa.orm.joinedload(Submission.committee),
            sa.orm.joinedload(Submission.service_area),
            sa.orm.joinedload(Submission.request),
        ),
    )
    rows = (
        db.session.scalars(sa.select(Publication).where(Publication.id.in_(ids)).options(*options))
        .unique()
        .all()
    )
    by_id = {p.id: p for p in rows}
    return [by_id[i] for i in ids if i in by_id]


def last_modified() -> datetime | None:
    """When anything public last changed: a publication published, edited or withdrawn.

    One indexed look-up (once per request); an upper bound for every page, which is what
    Last-Modified needs.
    """
    if has_request_context() and "insyn_last_modified" in g:
        return g.insyn_last_modified
    changed = db.session.scalar(sa.select(sa.func.max(Publication.updated_at)))
    if has_request_context():
        g.insyn_last_modified = changed
    return changed
