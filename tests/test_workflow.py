"""The submission state machine: every transition allowed and refused per role."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal import workflow
from portal.dates import today
from portal.extensions import db
from portal.models import (
    AuditEvent,
    ReviewEvent,
    ReviewState,
    SubmissionKind,
)
from portal.models.submission import FrozenVersionError

S = ReviewState
ROLES = ["user_a", "admin_a", "user_b", "reviewer_x", "reviewer_y", "publisher", "admin"]


@pytest.fixture
def w(make):
    return make.world()


def _answer(make, w, state: ReviewState):
    """A transparency answer of org A to committee X, brought to ``state``."""
    (sub,) = make.info_request(w.committee_x, [w.org_a], w.reviewer_x)
    if state == S.DRAFT:
        workflow.save_draft(sub, w.user_a, {"f1": "utkast"})
        return sub
    make.submitted(sub, w.user_a)
    if state == S.CLARIFICATION_REQUESTED:
        workflow.ask_clarification(sub, w.reviewer_x, "Förtydliga", today() + timedelta(days=5))
    elif state == S.APPROVED:
        workflow.approve(sub, w.reviewer_x)
    elif state == S.REJECTED:
        workflow.reject(sub, w.reviewer_x, "Fel underlag")
    return sub


def _do(name, sub, actor):
    if name in ("submit", "resubmit"):
        if sub.current_draft is None and sub.state in workflow.EDITABLE:
            workflow.save_draft(sub, actor, {"f1": "nytt"})
        return workflow.submit(sub, actor)
    if name == "ask_clarification":
        return workflow.ask_clarification(sub, actor, "Varför?", today() + timedelta(days=3))
    if name == "reject":
        return workflow.reject(sub, actor, "Skäl")
    if name == "extend_deadline":
        return workflow.extend_deadline(sub, actor, sub.deadline + timedelta(days=7), "Sjukdom")
    return getattr(workflow, name)(sub, actor)


# (transition, from state, roles that may) for a transparency answer of org A / committee X.
ALLOWED = [
    ("submit", S.DRAFT, {"user_a", "admin_a"}),
    ("resubmit", S.CLARIFICATION_REQUESTED, {"user_a", "admin_a"}),
    ("ask_clarification", S.SUBMITTED, {"reviewer_x", "admin"}),
    ("approve", S.SUBMITTED, {"reviewer_x", "admin"}),
    ("reject", S.SUBMITTED, {"reviewer_x", "admin"}),
    ("extend_deadline", S.DRAFT, {"reviewer_x", "admin"}),
    ("extend_deadline", S.CLARIFICATION_REQUESTED, {"reviewer_x", "admin"}),
]


def _param_id(value) -> str:
    return "+".join(sorted(value)) if isinstance(value, set) else str(value)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "state", "allowed"), ALLOWED, ids=_param_id)
def test_transition_per_role(make, w, name, state, allowed, role):
    sub = _answer(make, w, state)
    db.session.commit()
    actor = getattr(w, role)
    target = workflow.TRANSITIONS[name].target or state
    if role in allowed:
        _do(name, sub, actor)
        db.session.commit()
        assert sub.state == target
        event = db.session.scalars(sa.select(ReviewEvent).order_by(ReviewEvent.id.desc())).first()
        assert (event.action, event.from_state, event.to_state, event.actor_id) == (
            name,
            state,
            target,
            actor.id,
        )
        audit = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert audit.action == f"submission.{name}" and audit.object_id == sub.id
    else:
        with pytest.raises(workflow.WorkflowError):
            _do(name, sub, actor)
        db.session.rollback()
        assert db.session.get(type(sub), sub.id).state == state


TERMINAL_REFUSALS = [
    ("approve", S.DRAFT),
    ("approve", S.APPROVED),
    ("approve", S.REJECTED),
    ("approve", S.CLARIFICATION_REQUESTED),
    ("reject", S.APPROVED),
    ("ask_clarification", S.APPROVED),
    ("ask_clarification", S.DRAFT),
    ("submit", S.SUBMITTED),
    ("submit", S.APPROVED),
    ("close", S.APPROVED),
    ("withdraw", S.DRAFT),
    ("extend_deadline", S.SUBMITTED),
]


@pytest.mark.parametrize(("name", "state"), TERMINAL_REFUSALS, ids=str)
def test_transition_refused_in_wrong_state(make, w, name, state):
    """Even the right role cannot skip states; answers to requests cannot be withdrawn,
    and only action plans close."""
    sub = _answer(make, w, state)
    db.session.commit()
    actor = w.user_a if workflow.TRANSITIONS[name].action == "answer" else w.reviewer_x
    with pytest.raises(workflow.IllegalTransition):
        _do(name, sub, actor)
    db.session.rollback()
    assert db.session.get(type(sub), sub.id).state == state


def test_clarification_round_keeps_both_versions(make, w):
    sub = _answer(make, w, S.CLARIFICATION_REQUESTED)
    draft = workflow.draft_for_editing(sub, w.user_a)
    assert draft.number == 2 and draft.answers == sub.versions[0].answers
    workflow.save_draft(sub, w.user_a, {"f1": "förtydligat"})
    workflow.submit(sub, w.user_a)
    db.session.commit()
    assert [v.answers for v in sub.versions] == [{"text": "svar"}, {"f1": "förtydligat"}]
    assert all(v.frozen for v in sub.versions)
    assert sub.registration_number.startswith("VON ")


def test_submitted_version_cannot_change(make, w):
    sub = _answer(make, w, S.SUBMITTED)
    db.session.commit()
    sub.versions[0].answers = {"text": "ändrat i efterhand"}
    with pytest.raises(FrozenVersionError):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(workflow.IllegalTransition):
        workflow.save_draft(sub, w.user_a, {"text": "ändrat"})


def test_unasked_deviation_report_can_be_withdrawn_as_draft(make, w):
    report = make.report(SubmissionKind.DEVIATION_REPORT, w.org_a, w.committee_x, w.user_a)
    workflow.save_draft(report, w.user_a, {"description": "x"})
    with pytest.raises(workflow.IllegalTransition):
        workflow.withdraw(report, w.user_b)
    workflow.withdraw(report, w.user_a)
    assert report.state == S.WITHDRAWN


def test_action_plan_progress_and_close(make, w):
    plan = make.report(
        SubmissionKind.ACTION_PLAN, w.org_a, w.committee_x, w.user_a, title="Åtgärdsplan"
    )
    measure = {"description": "Ny rutin", "owner": "Chef", "due": "2026-12-01"}
    workflow.save_draft(plan, w.user_a, {"measures": [{**measure, "status": "planned"}]})
    workflow.submit(plan, w.user_a)
    workflow.approve(plan, w.reviewer_x)
    db.session.commit()
    with pytest.raises(workflow.IllegalTransition, match="alla åtgärder"):
        workflow.close(plan, w.reviewer_x)
    db.session.rollback()
    workflow.save_draft(plan, w.user_a, {"measures": [{**measure, "status": "done"}]})
    workflow.report_progress(plan, w.user_a)
    assert plan.state == S.APPROVED and len(plan.versions) == 2
    db.session.commit()
    with pytest.raises(workflow.IllegalTransition):
        workflow.close(plan, w.user_a)
    db.session.rollback()
    workflow.close(plan, w.reviewer_x, "Effekten verifierad")
    assert plan.state == S.CLOSED


def test_available_lists_what_the_user_may_do(make, w):
    sub = _answer(make, w, S.SUBMITTED)
    assert {t.name for t in workflow.available(w.reviewer_x, sub)} == {
        "approve",
        "reject",
        "ask_clarification",
    }
    assert workflow.available(w.reviewer_y, sub) == []
    assert workflow.available(w.user_a, sub) == []


def test_publish_and_withdraw(make, w):
    sub = _answer(make, w, S.SUBMITTED)
    with pytest.raises(workflow.IllegalTransition):
        workflow.publish(sub, w.publisher, title="T", summary="", answer_keys=[], documents=[])
    workflow.approve(sub, w.reviewer_x)
    for outsider in (w.reviewer_x, w.user_a):
        with pytest.raises(workflow.IllegalTransition):
            workflow.publish(sub, outsider, title="T", summary="", answer_keys=[], documents=[])
    publication = workflow.publish(
        sub, w.publisher, title="T", summary="S", answer_keys=["f1"], documents=[]
    )
    with pytest.raises(workflow.IllegalTransition, match="redan publicerat"):
        workflow.publish(sub, w.publisher, title="T", summary="", answer_keys=[], documents=[])
    with pytest.raises(workflow.WorkflowError):
        workflow.withdraw_publication(publication, w.publisher, "  ")
    workflow.withdraw_publication(publication, w.publisher, "Innehöll fel")
    assert publication.state == "withdrawn" and publication.withdrawn_reason == "Innehöll fel"


def test_overdue_flags(make, w):
    (sub,) = make.info_request(
        w.committee_x, [w.org_a], w.reviewer_x, deadline=today() + timedelta(days=10)
    )
    assert not sub.overdue(today())
    assert sub.overdue(today() + timedelta(days=11))
    assert not sub.very_overdue(today() + timedelta(days=20))
    assert sub.very_overdue(today() + timedelta(days=21))
    workflow.extend_deadline(sub, w.reviewer_x, today() + timedelta(days=30), "Semester")
    assert not sub.overdue(today() + timedelta(days=21))
    assert sub.events[-1].detail["old_deadline"] == (today() + timedelta(days=10)).isoformat()


def test_issue_request_needs_committee_membership(make, w):
    with pytest.raises(workflow.IllegalTransition):
        make.info_request(w.committee_x, [w.org_a], w.reviewer_y)
    subs = make.info_request(w.committee_x, [w.org_a, w.org_b], w.reviewer_x)
    assert {s.provider_id for s in subs} == {w.org_a.id, w.org_b.id}
    assert all(s.state == S.DRAFT and s.request.registration_number for s in subs)
