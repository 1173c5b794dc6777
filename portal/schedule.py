"""Recurring information requests: the next occurrence, created by ``flask requests schedule``.

A recurring request belongs to an agreement and comes back every year on the
same month and day. The next occurrence is issued as long before its deadline
as the first one was (at least two weeks), with the same fields and
instructions, to the agreement's provider, as long as the agreement is in
force. Each run looks only at the newest occurrence of each chain and the link
to its predecessor is unique, so running it again, late, or twice at the same
time never creates an occurrence twice (safe from cron).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from portal import workflow
from portal.dates import local, today
from portal.extensions import db
from portal.models import InformationRequest, RequestField

log = logging.getLogger(__name__)
MIN_LEAD = timedelta(days=14)


@dataclass
class ScheduleResult:
    issued: list[InformationRequest] = field(default_factory=list)
    not_yet: list[tuple[InformationRequest, date]] = field(default_factory=list)
    ended: list[InformationRequest] = field(default_factory=list)
    skipped: list[tuple[InformationRequest, str]] = field(default_factory=list)


def _same_day(day: date, year: int) -> date:
    try:
        return day.replace(year=year)
    except ValueError:  # 29 February
        return day.replace(year=year, day=28)


def lead_time(request: InformationRequest) -> timedelta:
    """How long before its deadline each occurrence is issued: as the first one was.

    Taken from the first of the chain so that a late cron run does not shorten it for
    every year after.
    """
    first = request
    while first.previous_id is not None:
        first = db.session.get(InformationRequest, first.previous_id)
    issued = local(first.created_at).date() if first.created_at else first.deadline
    return max(first.deadline - issued, MIN_LEAD)


def next_occurrence(previous: InformationRequest, on: date) -> tuple[date, date]:
    """(issue date, deadline) of the occurrence after ``previous``; the deadline is after ``on``."""
    lead = lead_time(previous)
    deadline = _same_day(previous.deadline, previous.deadline.year + 1)
    while deadline <= on:  # the scheduler did not run for a while: skip the missed years
        deadline = _same_day(previous.deadline, deadline.year + 1)
    return deadline - lead, deadline


def _newest_of_each_chain():
    successor = aliased(InformationRequest)
    return (
        sa.select(InformationRequest)
        .where(
            InformationRequest.recurs_yearly.is_(True),
            ~sa.select(successor.id).where(successor.previous_id == InformationRequest.id).exists(),
        )
        .order_by(InformationRequest.id)
    )


def _shift_years(text: str, year: int, years: int) -> str:
    """Move the request's year and the year before it ("2026", "verksamhetsåret 2025")."""
    moved = {str(y): str(y + years) for y in (year, year - 1)}
    return re.sub(r"(?<![\d/:-])(\d{4})(?![\d/:])", lambda m: moved.get(m[1], m[1]), text)


def _copy(previous: InformationRequest, deadline: date) -> InformationRequest:
    years = deadline.year - previous.deadline.year
    return InformationRequest(
        committee_id=previous.committee_id,
        committee=previous.committee,
        title=_shift_years(previous.title, previous.deadline.year, years),
        instructions=_shift_years(previous.instructions or "", previous.deadline.year, years),
        kind=previous.kind,
        deadline=deadline,
        service_area_id=previous.service_area_id,
        agreement=previous.agreement,
        recurs_yearly=True,
        previous_id=previous.id,
        fields=[
            RequestField(
                position=f.position,
                label=f.label,
                help_text=f.help_text,
                type=f.type,
                unit=f.unit,
                required=f.required,
                for_publication=f.for_publication,
            )
            for f in previous.fields
        ],
    )


def schedule_recurring(on: date | None = None, *, dry_run: bool = False) -> ScheduleResult:
    """Issue every recurring request that is due on ``on`` (default today); commits each."""
    on = on or today()
    result = ScheduleResult()
    for previous_id in db.session.scalars(
        _newest_of_each_chain().with_only_columns(InformationRequest.id)
    ).all():
        previous = db.session.get(InformationRequest, previous_id)
        issue_on, deadline = next_occurrence(previous, on)
        agreement = previous.agreement
        if agreement is None or (agreement.ends_on is not None and agreement.ends_on < issue_on):
            result.ended.append(previous)
            continue
        if on < issue_on:
            result.not_yet.append((previous, issue_on))
            continue
        if dry_run:
            preview = _copy(previous, deadline)
            if preview in db.session:
                db.session.expunge(preview)
            result.issued.append(preview)
            continue
        try:
            with db.session.begin_nested():
                successor = _copy(previous, deadline)
                workflow.issue_scheduled(successor, [agreement.provider])
            db.session.commit()
        except IntegrityError:
            # Another run issued it a moment ago (the predecessor link is unique).
            db.session.rollback()
            result.skipped.append((previous, "already issued by another run"))
            continue
        except workflow.WorkflowError as exc:
            db.session.rollback()
            log.warning("recurring request %s not issued: %s", previous.id, exc.message)
            result.skipped.append((previous, str(exc.message)))
            continue
        result.issued.append(successor)
    return result
