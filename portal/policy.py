"""The one place that answers "may this user do this to this object", and what the public
may see of a publication.

Provider users are confined to their own organisation, staff to their committees,
administrators reach everything. Loaders answer 404 both for what does not exist
and for what the user may not see, so existence does not leak. The public (no login)
reads published publications only, and of them the answers and documents below.
"""

from __future__ import annotations

import enum
from typing import TypeVar

import sqlalchemy as sa
from flask import abort
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError

from portal import tenancy
from portal.auth.session import session_expired
from portal.extensions import db
from portal.models import (
    Agreement,
    Attachment,
    Committee,
    Finding,
    FollowUpPlan,
    InformationRequest,
    Provider,
    Publication,
    PublicationState,
    Role,
    ScanStatus,
    ServiceArea,
    Submission,
    SubmissionVersion,
    User,
)
from portal.models.base import MAX_ID
from portal.models.publication import public_answers as chosen_answers

T = TypeVar("T")


class Action(enum.StrEnum):
    VIEW = "view"
    ANSWER = "answer"  # edit drafts, submit, resubmit, update progress: the provider's side
    REVIEW = "review"  # requests, registry, decisions, findings: the reviewer's side
    PUBLISH = "publish"  # publish and withdraw
    MANAGE_COLLEAGUES = "manage_colleagues"
    ADMINISTER = "administer"


STAFF_ACTIONS = {
    Role.REVIEWER: {Action.VIEW, Action.REVIEW},
    Role.PUBLISHER: {Action.VIEW, Action.PUBLISH},
}


def scope(obj) -> tuple[int | None, int | None]:
    """The (provider id, committee id) an object belongs to; None where it has none."""
    match obj:
        case Submission():
            return _ref(obj, "provider"), _ref(obj, "committee")
        case SubmissionVersion():
            return scope(obj.submission)
        case Attachment():
            if obj.version is not None:
                return scope(obj.version)
            # A publisher's redacted copy belongs where the attachment it masks belongs.
            return scope(obj.redacts) if obj.redacts is not None else (None, None)
        case Publication():
            return scope(obj.submission)
        case Agreement():
            return _ref(obj, "provider"), _ref(obj, "committee")
        case Finding():
            return scope(obj.agreement)
        case InformationRequest() | FollowUpPlan():
            return None, _ref(obj, "committee")
        case Provider():
            return obj.id, None
        case Committee():
            return None, obj.id
        case ServiceArea():
            return None, _ref(obj, "committee")
        case User():
            return obj.provider_id, None
    raise TypeError(f"no access scope for {type(obj).__name__}")


def _ref(obj, name: str) -> int | None:
    """``obj.<name>_id``, also for a new object that so far only has the relationship set."""
    related = getattr(obj, name)
    return getattr(obj, f"{name}_id") or (related.id if related is not None else None)


def can(user, action: Action, obj=None) -> bool:
    """May ``user`` do ``action`` to ``obj`` (or in general, when ``obj`` is None)?"""
    if user is None or not user.is_authenticated or not user.active:
        return False
    staff_edit = action == Action.REVIEW and not user.role.is_provider
    if staff_edit and isinstance(obj, Provider) and not _changed_here(obj):
        return False
    if user.role == Role.ADMIN:
        return action != Action.ANSWER and (obj is None or _staff_may_see(obj))
    if action == Action.ADMINISTER:
        return False
    if user.role.is_provider:
        return _provider_may(user, action, obj)
    if action not in STAFF_ACTIONS[user.role]:
        return False
    if obj is None:
        return True
    if not _staff_may_see(obj):
        return False
    provider_id, committee_id = scope(obj)
    if committee_id is None:
        # Shared registry objects (providers, users) are visible to all staff; providers
        # serve every committee, so any reviewer keeps their registry entries.
        if action == Action.REVIEW and isinstance(obj, Provider):
            return True
        return action == Action.VIEW and not isinstance(obj, User)
    return committee_id in user.committee_ids


def _changed_here(provider: Provider) -> bool:
    """A national organisation registered with other municipalities too is kept by its own
    administrators: staff change its details only while it is theirs alone."""
    if provider.id is None or provider.municipality_id is not None:
        return True
    return provider.registrations() <= {tenancy.current_id()}


def shown_to_staff(submission: Submission) -> bool:
    """Whether staff (administrators too) may know of ``submission`` at all.

    A draft is the provider's own until it is sent. Staff see a submission once the
    provider has sent it; a requested one (they asked for it) also before, but only that
    it is not in yet and by when it is due, never what the draft holds. A report the
    provider started on its own and has not sent does not exist for staff.
    """
    return submission.sent or submission.requested


def shown_to_staff_condition():
    """:func:`shown_to_staff` as a condition on a select of Submission."""
    return sa.or_(Submission.sent, Submission.requested)


def _staff_may_see(obj) -> bool:
    """Staff never reach a draft: not an unsent report, not a draft version or its files."""
    match obj:
        case Submission():
            return shown_to_staff(obj)
        case SubmissionVersion():
            return obj.frozen and shown_to_staff(obj.submission)
        case Attachment():
            if obj.version is not None:
                return _staff_may_see(obj.version)
            return obj.redacts is None or _staff_may_see(obj.redacts)
    return True


def _provider_may(user: User, action: Action, obj) -> bool:
    if action == Action.MANAGE_COLLEAGUES and user.role != Role.PROVIDER_ADMIN:
        return False
    if action not in (Action.VIEW, Action.ANSWER, Action.MANAGE_COLLEAGUES):
        return False
    if obj is None:
        return True
    own = _ref(user, "provider")
    if isinstance(obj, InformationRequest):
        return action == Action.VIEW and _request_sent_to(obj, own)
    provider_id, _ = scope(obj)
    return provider_id is not None and provider_id == own


def _request_sent_to(info_request: InformationRequest, provider_id: int | None) -> bool:
    return (
        db.session.query(Submission.id)
        .filter_by(request_id=info_request.id, provider_id=provider_id)
        .first()
        is not None
    )


def require(action: Action, obj: T | None = None) -> T | None:
    """Abort with 404 unless the current user may do ``action`` to ``obj``."""
    if not can(current_user, action, obj):
        abort(404)
    return obj


def load(model: type[T], ident, action: Action = Action.VIEW) -> T:
    """Fetch ``model`` by primary key for ``action`` by the current user, or 404."""
    if not isinstance(ident, int) or not 0 < ident <= MAX_ID:
        abort(404)
    obj = db.session.get(model, ident)
    if obj is None:
        abort(404)
    return require(action, obj)


def visible_submissions(user, query):
    """Restrict a select of Submission to what ``user`` may see."""
    if user.role.is_provider:
        return query.where(Submission.provider_id == user.provider_id)
    query = query.where(shown_to_staff_condition())
    if user.role == Role.ADMIN:
        return query
    return query.where(Submission.committee_id.in_(user.committee_ids or {-1}))


# --- what the public may see -------------------------------------------------------------

# The columns of a measure that the publication page shows (templates/public/publication.html)
# and the API gives (portal.published.answers.Answer.measures); nothing else of a measure is
# public (its ``evidence`` is an internal attachment id).
SHOWN_MEASURE_KEYS = ("description", "owner", "due", "status", "done_on")


def shown_to_public(publication: Publication) -> bool:
    """Whether the public may read what ``publication`` holds: while it is published. Of a
    withdrawn one the public sees only that it was, when and why."""
    return publication.state == PublicationState.PUBLISHED


def approved_answers(publication: Publication) -> dict:
    """The answers of the version the publisher checked and published (pinned by the
    publication): never those of a later version, such as an action plan's progress
    report, which no publisher has seen."""
    return dict(publication.version.answers or {})


def shown_answers(publication: Publication) -> dict:
    """The chosen originals of the published version and, in their place, the publisher's
    redacted wordings, {key: value}. Raw material of
    :func:`portal.published.answers.public_answers`, which orders them as the page shows them."""
    return chosen_answers(publication, approved_answers(publication))


def public_documents(publication: Publication) -> list:
    """The published documents the public may download: scanned clean, of a live publication."""
    if not shown_to_public(publication):
        return []
    return [d for d in publication.documents if d.public_file.scan_status == ScanStatus.CLEAN]


def may_send_files(request) -> bool:
    """The upload gate (see ``storage.spool.SpoolingRequest``): a signed-in user, within the
    session timeouts, posting with the upload token the page put in the form's address.

    The token is the page's CSRF token, checked here because the one in the form body can
    only be read after the body, which is what must not be read for anyone else.
    """
    if request.method != "POST" or not current_user.is_authenticated or session_expired():
        return False
    try:
        validate_csrf(request.args.get("upload_token"))
    except ValidationError:
        return False
    return True
