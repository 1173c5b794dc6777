"""The start page's numbers: open work per committee the user may see."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_login import current_user
from sqlalchemy.dialects.postgresql import JSONB, JSONPATH
from sqlalchemy.orm import selectinload

from admin.review.queries import overdue_condition
from portal import policy
from portal.dates import today
from portal.extensions import db
from portal.models import ReviewState, Submission, SubmissionKind, SubmissionVersion

S = ReviewState
OPEN_PLAN_STATES = (S.DRAFT, S.SUBMITTED, S.CLARIFICATION_REQUESTED, S.APPROVED)


@dataclass
class Figures:
    waiting_for_answer: int = 0  # requested by staff, not answered yet
    overdue: int = 0
    in_review: int = 0
    clarification: int = 0
    deviations: Counter = field(default_factory=Counter)  # open, by severity
    plans_overdue: int = 0

    def add(self, other: Figures) -> None:
        self.waiting_for_answer += other.waiting_for_answer
        self.overdue += other.overdue
        self.in_review += other.in_review
        self.clarification += other.clarification
        self.deviations.update(other.deviations)
        self.plans_overdue += other.plans_overdue

    @property
    def open_deviations(self) -> int:
        return sum(self.deviations.values())


def _visible(select, committee_id: int | None):
    select = policy.visible_submissions(current_user, select)
    return select.where(Submission.committee_id == committee_id) if committee_id else select


def _number_of(condition):
    """How many rows meet ``condition`` (a count that shares one scan with others)."""
    return sa.func.sum(sa.case((condition, 1), else_=0))


def figures(committee_id: int | None = None) -> dict[int, Figures]:
    """The dashboard's numbers per committee the user may see."""
    on = today()
    out: dict[int, Figures] = defaultdict(Figures)
    requested = sa.and_(
        Submission.state == S.DRAFT,
        sa.or_(Submission.request_id.is_not(None), Submission.finding_id.is_not(None)),
    )
    late = overdue_condition(on)
    # One pass over the open submissions for every count that needs no answers.
    counts = _visible(
        sa.select(
            Submission.committee_id,
            _number_of(Submission.state == S.SUBMITTED),
            _number_of(Submission.state == S.CLARIFICATION_REQUESTED),
            _number_of(requested),
            _number_of(late),
            _number_of(sa.and_(late, Submission.kind == SubmissionKind.ACTION_PLAN)),
        )
        .where(Submission.state.in_([S.DRAFT, S.SUBMITTED, S.CLARIFICATION_REQUESTED]))
        .group_by(Submission.committee_id),
        committee_id,
    )
    plans_not_delivered = Counter()
    for committee, in_review, clarification, waiting, overdue, late_plans in db.session.execute(
        counts
    ):
        f = out[committee]
        f.in_review, f.clarification = int(in_review or 0), int(clarification or 0)
        f.waiting_for_answer, f.overdue = int(waiting or 0), int(overdue or 0)
        plans_not_delivered[committee] = int(late_plans or 0)
    for committee, severity, n in _open_deviations(committee_id):
        out[committee].deviations[severity or ""] += n
    late_measures = _plans_with_late_measures(committee_id, on)
    for committee in set(plans_not_delivered) | set(late_measures):
        out[committee].plans_overdue = plans_not_delivered[committee] + late_measures[committee]
    return out


def _latest(column):
    """``column`` of the submission's newest submitted version, as a per-row subquery.

    Meant for a few thousand rows at most (the open reports and plans): each is one
    look-up in the (submission_id, number) index, and the estimates stay small enough
    that PostgreSQL does not JIT-compile the query, which costs more than it saves here.
    """
    return (
        sa.select(column)
        .where(
            SubmissionVersion.submission_id == Submission.id,
            SubmissionVersion.submitted_at.is_not(None),
        )
        .order_by(SubmissionVersion.number.desc())
        .limit(1)
        .correlate(Submission)
        .scalar_subquery()
    )


def _open_deviations(committee_id: int | None):
    """(committee, severity, count) of deviation reports still open.

    Open: waiting for review or clarification, or approved while an action plan for it
    is still open.
    """
    # A plan the provider is still drafting on its own does not exist for staff yet.
    with_open_plan = sa.select(Submission.deviation_id).where(
        Submission.kind == SubmissionKind.ACTION_PLAN,
        Submission.deviation_id.is_not(None),
        Submission.state.in_(OPEN_PLAN_STATES),
        policy.shown_to_staff_condition(),
    )
    rows = _visible(
        sa.select(
            Submission.committee_id.label("committee"),
            _latest(SubmissionVersion.answers["severity"].as_string()).label("severity"),
        ).where(
            Submission.kind == SubmissionKind.DEVIATION_REPORT,
            sa.or_(
                Submission.state.in_([S.SUBMITTED, S.CLARIFICATION_REQUESTED]),
                sa.and_(Submission.state == S.APPROVED, Submission.id.in_(with_open_plan)),
            ),
        ),
        committee_id,
    ).subquery()
    return db.session.execute(
        sa.select(rows.c.committee, rows.c.severity, sa.func.count()).group_by(
            rows.c.committee, rows.c.severity
        )
    ).all()


# Measures of an action plan that are past their due date and not done (PostgreSQL).
LATE_MEASURE_PATH = '$.measures[*] ? (@.status != "done" && @.due < $today)'


def _plans_with_late_measures(committee_id: int | None, on) -> Counter:
    """Approved action plans with a measure past its due date and not done."""
    approved = (Submission.kind == SubmissionKind.ACTION_PLAN, Submission.state == S.APPROVED)
    if db.session.get_bind().dialect.name == "postgresql":
        # Decided inside the database: no answers travel to the app to be parsed.
        answers = sa.cast(_latest(SubmissionVersion.answers), JSONB)
        late_plan = sa.func.jsonb_path_exists(
            answers,
            sa.cast(sa.literal(LATE_MEASURE_PATH), JSONPATH),
            sa.func.jsonb_build_object("today", on.isoformat()),
        )
        select = _visible(
            sa.select(Submission.committee_id, sa.func.count())
            .where(*approved, late_plan)
            .group_by(Submission.committee_id),
            committee_id,
        )
        return Counter(dict(db.session.execute(select).all()))
    late = Counter()
    select = _visible(
        sa.select(Submission.committee_id, _latest(SubmissionVersion.answers)).where(*approved),
        committee_id,
    )
    for committee, answers in db.session.execute(select):
        measures = (answers or {}).get("measures") or []
        if any(
            isinstance(m, dict)
            and m.get("status") != "done"
            and str(m.get("due") or "9999") < on.isoformat()
            for m in measures
        ):
            late[committee] += 1
    return late


def total(per_committee: dict[int, Figures]) -> Figures:
    """The figures of all the committees together."""
    out = Figures()
    for f in per_committee.values():
        out.add(f)
    return out


def oldest_waiting(committee_id: int | None, limit: int = 10) -> list[Submission]:
    """The submissions that have waited longest for review."""
    return db.session.scalars(
        _visible(sa.select(Submission), committee_id)
        .where(Submission.state == S.SUBMITTED)
        .options(selectinload(Submission.provider), selectinload(Submission.committee))
        .order_by(Submission.submitted_at, Submission.id)
        .limit(limit)
    ).all()
