"""The follow-up plan's writes: a new plan, its adoption, its items, and copying last
year's items. Each audits what it does; none commits (the view does, in
:func:`portal.transactions.committed`)."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from admin.plans.queries import item_subject
from admin.registry.records import save
from portal import audit
from portal.extensions import db
from portal.models import AuditAction, FollowUpItem, FollowUpPlan, User
from portal.workflow import WorkflowError


class PlanExists(WorkflowError):
    """The committee has a plan for the year already: ``plan_id`` is that plan."""

    def __init__(self, plan_id: int, year: int):
        super().__init__(_("Nämnden har redan en plan för %(year)d.", year=year))
        self.plan_id = plan_id


def previous_plan(plan: FollowUpPlan) -> FollowUpPlan | None:
    """The committee's newest plan for a year before ``plan``'s."""
    return db.session.scalar(
        sa.select(FollowUpPlan)
        .where(FollowUpPlan.committee_id == plan.committee_id, FollowUpPlan.year < plan.year)
        .order_by(FollowUpPlan.year.desc())
    )


def _shift(day: date | None, years: int) -> date | None:
    if day is None:
        return None
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def copy_items(source: FollowUpPlan, target: FollowUpPlan) -> int:
    """Copy ``source``'s items into ``target``, a year later; ended agreements are left out."""
    shift = target.year - source.year
    copied = 0
    for item in source.items:
        if (
            item.agreement is not None
            and item.agreement.ends_on is not None
            and (item.agreement.ends_on < date(target.year, 1, 1))
        ):
            continue
        target.items.append(
            FollowUpItem(
                agreement_id=item.agreement_id,
                service_area_id=item.service_area_id,
                form=item.form,
                responsible=item.responsible,
                planned_from=_shift(item.planned_from, shift),
                planned_to=_shift(item.planned_to, shift),
                interval=item.interval,
                feedback_committee=item.feedback_committee,
                feedback_provider=item.feedback_provider,
                feedback_public=item.feedback_public,
                focus_areas=item.focus_areas,
            )
        )
        copied += 1
    return copied


def create_plan(plan: FollowUpPlan, *, copy_previous: bool) -> int:
    """Save the new ``plan``, with the previous plan's items when asked; how many were copied.

    Refused (:class:`PlanExists`) when the committee has a plan for the year already."""
    exists = db.session.scalar(
        sa.select(FollowUpPlan.id).filter_by(committee_id=plan.committee_id, year=plan.year)
    )
    if exists:
        raise PlanExists(exists, plan.year)
    previous = previous_plan(plan) if copy_previous else None
    copied = copy_items(previous, plan) if previous is not None else 0
    save(plan, AuditAction.FOLLOW_UP_PLAN_CREATE, copied_items=copied)
    return copied


def adopt(plan: FollowUpPlan, adopted_on: date) -> None:
    """Record the date the committee adopted the plan."""
    plan.adopted_on = adopted_on
    save(plan, AuditAction.FOLLOW_UP_PLAN_ADOPT)


def save_item(plan: FollowUpPlan, item: FollowUpItem, values: dict) -> None:
    """Save ``item`` (new or one of ``plan``'s) with the columns ``values``."""
    new = item.id is None
    for column, value in values.items():
        setattr(item, column, value)
    item.plan = plan
    if not new:
        db.session.expire(item, ["agreement", "service_area"])
    action = AuditAction.FOLLOW_UP_ITEM_CREATE if new else AuditAction.FOLLOW_UP_ITEM_UPDATE
    save(item, action, plan=plan.id)


def delete_item(plan: FollowUpPlan, item: FollowUpItem) -> None:
    """Remove ``item`` from ``plan``, auditing what it followed up."""
    audit.record(
        AuditAction.FOLLOW_UP_ITEM_DELETE,
        item,
        plan=plan.id,
        subject=item_subject(item),
        form=item.form.value,
    )
    plan.items.remove(item)


def copy_previous(plan: FollowUpPlan, actor: User) -> tuple[FollowUpPlan, int]:
    """Copy the previous plan's items into ``plan``: that plan, and how many were copied.

    Refused when the committee has no earlier plan."""
    previous = previous_plan(plan)
    if previous is None:
        raise WorkflowError(_("Det finns ingen tidigare plan för nämnden."))
    copied = copy_items(previous, plan)
    audit.record(
        AuditAction.FOLLOW_UP_PLAN_COPY,
        plan,
        source=previous.id,
        copied_items=copied,
        actor=actor,
    )
    return previous, copied
