"""What the review pages show: the queue with its filters, counts and CSV, and one
submission's versions with their changes and the provider's confidentiality markings."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from admin.lists import arg, choice_arg, int_arg, search
from admin.review.answers import answers_of, changes_between
from admin.scoping import in_my_committees
from portal import labels, policy
from portal.dates import today
from portal.extensions import db
from portal.labels import staff_state_label
from portal.models import (
    Agreement,
    Attachment,
    Provider,
    Publication,
    ReviewState,
    Submission,
    SubmissionKind,
    SubmissionVersion,
)

S = ReviewState
WAITING_ON_PROVIDER = (S.DRAFT, S.CLARIFICATION_REQUESTED)
# The tabs of the queue, in the order of the work.
STATE_TABS = [
    S.SUBMITTED,
    S.CLARIFICATION_REQUESTED,
    S.DRAFT,
    S.APPROVED,
    S.REJECTED,
    S.CLOSED,
    S.WITHDRAWN,
]


def overdue_condition(on=None):
    on = on or today()
    return sa.and_(
        Submission.state.in_(WAITING_ON_PROVIDER),
        Submission.deadline.is_not(None),
        Submission.deadline < on,
    )


def waiting_since():
    """When the submission started waiting for whoever has it now."""
    return sa.func.coalesce(Submission.submitted_at, Submission.created_at)


# --- the queue ----------------------------------------------------------------------------


def queue_filters() -> dict:
    state = arg("status", S.SUBMITTED.value)
    if state != "alla" and state not in {s.value for s in S}:
        state = S.SUBMITTED.value
    return {
        "q": arg("q"),
        "state": state,
        "committee": int_arg("namnd"),
        "kind": choice_arg("typ", SubmissionKind),
        "provider": int_arg("utforare"),
        "request": int_arg("begaran"),
        "overdue": arg("forsenade") == "ja",
    }


def _conditions(f: dict, *, with_state: bool = True) -> list:
    conditions = []
    if f["q"]:
        conditions.append(
            search(f["q"], Submission.registration_number, Submission.title, Provider.name)
        )
    if with_state and f["state"] != "alla":
        conditions.append(Submission.state == ReviewState(f["state"]))
    if f["committee"]:
        conditions.append(Submission.committee_id == f["committee"])
    if f["kind"]:
        conditions.append(Submission.kind == SubmissionKind(f["kind"]))
    if f["provider"]:
        conditions.append(Submission.provider_id == f["provider"])
    if f["request"]:
        conditions.append(Submission.request_id == f["request"])
    if f["overdue"]:
        conditions.append(overdue_condition())
    return conditions


def _visible(select, f: dict):
    """``select`` limited to what the user may see; only a text search needs the provider's
    name in the query."""
    return policy.visible_submissions(
        current_user, select.join(Submission.provider) if f["q"] else select
    )


def queue_select(f: dict):
    """The submissions of the queue, the longest waiting first."""
    return (
        _visible(sa.select(Submission), f)
        .where(*_conditions(f))
        # Loaded separately for the 50 rows of the page, not joined in before the sort.
        .options(selectinload(Submission.provider), selectinload(Submission.committee))
        .order_by(waiting_since(), Submission.id)
    )


def queue_counts(f: dict) -> dict[ReviewState, int]:
    """How many submissions of each state the filters (but the state tab) find."""
    by_state = sa.select(Submission.state, sa.func.count()).select_from(Submission)
    counted = _visible(by_state, f).group_by(Submission.state)
    return dict(db.session.execute(counted.where(*_conditions(f, with_state=False))).all())


def queue_total(f: dict, counts: dict[ReviewState, int]) -> int:
    """The counts per state already hold the total: no separate count query for the pages."""
    if f["state"] == "alla":
        return sum(counts.values())
    return counts.get(ReviewState(f["state"]), 0)


def queue_providers(f: dict) -> list:
    """The providers of the filter: those with an agreement in the user's committees, and
    the one chosen."""
    return db.session.execute(
        sa.select(Provider.id, Provider.name)
        .where(
            Provider.agreements.any(in_my_committees(Agreement.committee_id))
            | (Provider.id == (f["provider"] or 0))
        )
        .order_by(Provider.name)
    ).all()


def queue_columns() -> list[str]:
    return [
        _("Diarienummer"),
        _("Ärende"),
        _("Typ"),
        _("Utförare"),
        _("Organisationsnummer"),
        _("Nämnd"),
        _("Status"),
        _("Begärd"),
        _("Svara senast"),
        _("Försenad"),
        labels.STATE[ReviewState.SUBMITTED],
        _("Beslutad"),
    ]


def queue_rows(select):
    for s in db.session.scalars(select.execution_options(yield_per=500)):
        yield [
            s.registration_number,
            s.title,
            labels.name(labels.KIND, s.kind),
            s.provider.name,
            s.provider.org_number,
            s.committee.name,
            staff_state_label(s.state),
            s.issued_on,
            s.deadline,
            s.overdue(today()),
            s.submitted_at,
            s.decided_at,
        ]


def queue_names() -> dict:
    """The labels the queue page uses for states, kinds and lateness."""
    return {
        "state_names": {state: staff_state_label(state) for state in ReviewState},
        "kind_names": {kind: str(name) for kind, name in labels.KIND.items()},
        "late": _("Försenad"),
        "very_late": _("Kraftigt försenad"),
    }


# --- one submission -----------------------------------------------------------------------


@dataclass
class Marking:
    """An answer or a file the provider marked as confidential, and the provider's reason."""

    label: str
    reason: str
    file: Attachment | None = None


def confidential_markings(submission: Submission, version: SubmissionVersion) -> list[Marking]:
    """The provider's confidentiality markings of ``version``, in the order of its answers."""
    marked = version.confidential or {}
    out = []
    for answer in answers_of(submission, version):
        if answer.key in marked:
            out.append(Marking(answer.label, marked[answer.key]))
        out += [
            Marking(answer.label, a.confidential_reason, a)
            for a in answer.attachments
            if a.confidential_reason is not None
        ]
    return out


def case_page(submission: Submission) -> dict:
    """What the case page shows besides the forms: the versions, newest first, with their
    answers, changes and markings; the action plans of a deviation; the publication."""
    versions = submission.submitted_versions
    history = [
        {
            "version": v,
            "answers": answers_of(submission, v),
            "changes": changes_between(submission, versions[i - 1], v) if i else [],
            "markings": confidential_markings(submission, v),
        }
        for i, v in enumerate(versions)
    ]
    related = db.session.scalars(
        policy.visible_submissions(current_user, sa.select(Submission))
        .where(Submission.deviation_id == submission.id)
        .order_by(Submission.id)
    ).all()
    publication = db.session.scalar(sa.select(Publication).filter_by(submission_id=submission.id))
    return {
        "history": list(reversed(history)),
        "related": related,
        "publication": publication,
        "today": today(),
    }
