"""What only a real PostgreSQL under concurrent load can show."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from portal import workflow
from portal.extensions import db
from portal.models import AuditEvent, ReviewEvent, Submission, SubmissionKind, User
from tests import factories
from tests.conftest import thread_context


def _run_together(app, jobs):
    """Run each job in its own thread, app context and database session, all at once."""
    barrier = threading.Barrier(len(jobs))

    def run(job):
        with thread_context(app):
            barrier.wait()
            try:
                return job()
            except workflow.WorkflowError as exc:
                db.session.rollback()
                return exc
            finally:
                db.session.remove()

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(run, jobs))


def test_registration_numbers_gap_free_under_concurrency(pg_app):
    w = factories.world()
    reports = [
        factories.report(SubmissionKind.DEVIATION_REPORT, w.org_a, w.committee_x, w.user_a)
        for _ in range(24)
    ]
    for report in reports:
        workflow.save_draft(report, w.user_a, {"description": "x"})
    db.session.commit()
    ids, user_id = [r.id for r in reports], w.user_a.id

    def submit(sid):
        def job():
            workflow.submit(db.session.get(Submission, sid), db.session.get(User, user_id))
            db.session.commit()
            return "ok"

        return job

    assert _run_together(pg_app, [submit(i) for i in ids]) == ["ok"] * len(ids)
    numbers = db.session.scalars(sa.select(Submission.registration_number)).all()
    year = numbers[0].split()[1].split("/")[0]
    assert sorted(numbers, key=lambda n: int(n.split("/")[1])) == [
        f"VON {year}/{n}" for n in range(1, len(ids) + 1)
    ]


def test_rolled_back_submission_gives_its_number_back(pg_app):
    w = factories.world()
    first, second = (
        factories.report(SubmissionKind.DEVIATION_REPORT, w.org_a, w.committee_x, w.user_a)
        for _ in range(2)
    )
    workflow.save_draft(first, w.user_a, {"d": 1})
    workflow.save_draft(second, w.user_a, {"d": 2})
    db.session.commit()
    workflow.submit(first, w.user_a)
    db.session.rollback()
    workflow.submit(db.session.get(Submission, second.id), w.user_a)
    db.session.commit()
    assert second.registration_number.endswith("/1")


def test_concurrent_decisions_exactly_one_wins(pg_app):
    w = factories.world()
    (sub,) = factories.info_request(w.committee_x, [w.org_a], w.reviewer_x)
    factories.submitted(sub, w.user_a)
    other = factories.user(w.reviewer_x.role, committees=[w.committee_x])
    db.session.commit()
    sid, first, second = sub.id, w.reviewer_x.id, other.id

    def decide(user_id, action):
        def job():
            submission, actor = db.session.get(Submission, sid), db.session.get(User, user_id)
            if action == "approve":
                workflow.approve(submission, actor)
            else:
                workflow.reject(submission, actor, "Ofullständigt")
            db.session.commit()
            return action

        return job

    results = _run_together(pg_app, [decide(first, "approve"), decide(second, "reject")])
    winners = [r for r in results if isinstance(r, str)]
    losers = [r for r in results if isinstance(r, workflow.WorkflowError)]
    assert len(winners) == 1 and len(losers) == 1
    assert "redan ändrats" in losers[0].message
    db.session.expire_all()
    final = db.session.get(Submission, sid)
    assert final.state.value == {"approve": "approved", "reject": "rejected"}[winners[0]]
    decisions = db.session.scalars(
        sa.select(ReviewEvent.action).where(ReviewEvent.action.in_(["approve", "reject"]))
    ).all()
    assert decisions == winners


def test_audit_log_refuses_update_and_delete_on_postgresql(pg_app):
    from portal import audit

    audit.record("test.event", actor=None, note="original")
    db.session.commit()
    for statement in (
        sa.update(AuditEvent).values(action="tampered"),
        sa.delete(AuditEvent),
    ):
        try:
            db.session.execute(statement)
            db.session.commit()
        except sa.exc.DBAPIError as exc:
            db.session.rollback()
            assert "append-only" in str(exc)
        else:
            raise AssertionError(f"{statement} was allowed")
    assert db.session.scalars(sa.select(AuditEvent.action)).all() == ["test.event"]
