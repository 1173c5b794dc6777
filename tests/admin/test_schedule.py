"""Recurring requests: ``flask --app portal requests schedule`` is idempotent and safe from cron."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import sqlalchemy as sa

from portal.dates import today
from portal.extensions import db
from portal.models import AuditEvent, InformationRequest, Submission
from portal.schedule import next_occurrence, schedule_recurring
from tests.conftest import thread_context


def recurring(w, make, deadline: date | None = None) -> InformationRequest:
    agreement = w.org_a.agreements[0]
    deadline = deadline or today() + timedelta(days=30)
    (sub,) = make.info_request(
        w.committee_x,
        [w.org_a],
        w.reviewer_x,
        agreement=agreement,
        recurs_yearly=True,
        title=f"Kvalitetsredovisning {deadline.year}",
        deadline=deadline,
        instructions=f"Avser verksamhetsåret {deadline.year - 1}.",
    )
    db.session.commit()
    return sub.request


def chain() -> list[InformationRequest]:
    return db.session.scalars(sa.select(InformationRequest).order_by(InformationRequest.id)).all()


def test_next_occurrence_keeps_the_lead_time(w, make):
    first = recurring(w, make)
    issue_on, deadline = next_occurrence(first, today())
    assert deadline == first.deadline.replace(year=first.deadline.year + 1)
    assert deadline - issue_on == timedelta(days=30)


def test_schedule_is_idempotent(w, make):
    first = recurring(w, make)
    issue_on, deadline = next_occurrence(first, today())

    early = schedule_recurring(issue_on - timedelta(days=1))
    assert early.issued == [] and [r.id for r, _when in early.not_yet] == [first.id]

    result = schedule_recurring(issue_on)
    (successor,) = result.issued
    assert successor.previous_id == first.id and successor.deadline == deadline
    assert successor.title == f"Kvalitetsredovisning {deadline.year}"
    assert successor.instructions == f"Avser verksamhetsåret {deadline.year - 1}."
    assert [f.label for f in successor.fields] == [f.label for f in first.fields]
    assert successor.registration_number.startswith("VON ")
    (answer,) = db.session.scalars(
        sa.select(Submission).where(Submission.request_id == successor.id)
    ).all()
    assert answer.provider_id == w.org_a.id and answer.deadline == deadline
    assert db.session.scalar(sa.select(AuditEvent).filter_by(action="request.schedule"))

    for again in (issue_on, issue_on + timedelta(days=5)):
        assert schedule_recurring(again).issued == []
    assert len(chain()) == 2


def test_a_late_run_skips_the_missed_years(w, make):
    first = recurring(w, make)
    third = first.deadline.replace(year=first.deadline.year + 3)
    two_years_without_cron = third - timedelta(days=10)
    (successor,) = schedule_recurring(two_years_without_cron).issued
    assert successor.deadline == third
    assert successor.title == f"Kvalitetsredovisning {third.year}"
    assert schedule_recurring(two_years_without_cron).issued == []


def test_only_the_request_years_move(w, make):
    from portal.schedule import _shift_years

    text = "Redovisning 2026 för 2025, enligt SFS 2008:567 och beslut VON 2024/12."
    assert _shift_years(text, 2026, 1) == (
        "Redovisning 2027 för 2026, enligt SFS 2008:567 och beslut VON 2024/12."
    )


def test_ended_agreement_stops_recurring(w, make):
    first = recurring(w, make)
    first.agreement.ends_on = first.deadline + timedelta(days=10)
    db.session.commit()
    issue_on, _deadline = next_occurrence(first, today())
    result = schedule_recurring(issue_on)
    assert result.issued == [] and result.ended == [first]


def test_cli_command(w, make, app):
    first = recurring(w, make)
    issue_on, deadline = next_occurrence(first, today())
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["requests", "schedule", "--today", issue_on.isoformat(), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would issue" in dry.output and len(chain()) == 1
    run = runner.invoke(args=["requests", "schedule", "--today", issue_on.isoformat()])
    assert run.exit_code == 0, run.output
    assert f"issued VON {today().year}/" in run.output
    assert deadline.isoformat() in run.output
    again = runner.invoke(args=["requests", "schedule", "--today", issue_on.isoformat()])
    assert "0 issued" in again.output
    assert len(chain()) == 2


def test_concurrent_runs_issue_once(pg_app, make):
    w = make.world()
    first = recurring(w, make)
    issue_on, _deadline = next_occurrence(first, today())
    barrier = threading.Barrier(4)

    def run():
        with thread_context(pg_app):
            barrier.wait()
            try:
                return len(schedule_recurring(issue_on).issued)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(4) as pool:
        issued = list(pool.map(lambda _i: run(), range(4)))
    assert sum(issued) == 1
    db.session.expire_all()
    assert len(chain()) == 2
    numbers = [r.registration_number for r in chain()]
    assert len(set(numbers)) == 2
