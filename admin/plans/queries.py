"""What the follow-up plan pages show: the list of plans, and an item as a row and in words."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from admin.lists import arg, int_arg, search
from admin.scoping import in_my_committees
from portal import labels
from portal.extensions import db
from portal.models import Committee, FollowUpItem, FollowUpPlan

ITEM_HEADER = [
    _l("Nämnd"),
    _l("År"),
    _l("Vad som följs upp"),
    _l("Form"),
    _l("Ansvarig"),
    _l("Planerad från"),
    _l("Planerad till"),
    _l("Intervall"),
    _l("Återkoppling till"),
    _l("Fokusområden"),
]


def item_header() -> list[str]:
    return [str(h) for h in ITEM_HEADER]


def item_subject(item: FollowUpItem) -> str:
    if item.agreement is not None:
        return f"{item.agreement.reference} {item.agreement.provider.name}"
    return item.service_area.name if item.service_area else ""


def feedback_to(item: FollowUpItem) -> str:
    to = [
        (item.feedback_committee, _("nämnden")),
        (item.feedback_provider, _("utföraren")),
        (item.feedback_public, _("allmänheten")),
    ]
    return ", ".join(text for on, text in to if on)


def item_row(item: FollowUpItem) -> list:
    return [
        item.plan.committee.name,
        item.plan.year,
        item_subject(item),
        labels.name(labels.FOLLOW_UP_FORM, item.form),
        item.responsible,
        item.planned_from,
        item.planned_to,
        item.interval,
        feedback_to(item),
        item.focus_areas,
    ]


def plan_file_name(plan: FollowUpPlan) -> str:
    return f"uppfoljningsplan-{plan.committee.code}-{plan.year}"


def filters() -> dict:
    return {"committee_id": int_arg("namnd"), "year": int_arg("ar"), "q": arg("q")}


def plans_of(f: dict):
    """The plans of the user's committees that match the filters, newest first."""
    term = f["q"]
    # A word matches the committee or what an item follows up, its responsible or focus.
    item_matches = FollowUpPlan.items.any(
        search(term, FollowUpItem.responsible, FollowUpItem.focus_areas, FollowUpItem.interval)
    )
    select = (
        sa.select(FollowUpPlan)
        .join(FollowUpPlan.committee)
        .where(in_my_committees(FollowUpPlan.committee_id))
        .where(
            sa.or_(search(term, Committee.name, Committee.code), item_matches)
            if term
            else sa.true()
        )
        .options(selectinload(FollowUpPlan.items))
        .order_by(FollowUpPlan.year.desc(), Committee.name)
    )
    if f["committee_id"]:
        select = select.where(FollowUpPlan.committee_id == f["committee_id"])
    if f["year"]:
        select = select.where(FollowUpPlan.year == f["year"])
    return select


def items_of(plans):
    """The items of the plans ``plans`` selects, for the CSV file."""
    return (
        sa.select(FollowUpItem)
        .join(FollowUpItem.plan)
        .where(FollowUpPlan.id.in_(plans.with_only_columns(FollowUpPlan.id)))
        .order_by(FollowUpPlan.year.desc(), FollowUpItem.id)
    )


def year_options() -> list[tuple[int, int]]:
    """Every year some plan is for, newest first, as choices."""
    years = db.session.scalars(sa.select(FollowUpPlan.year).distinct())
    return [(y, y) for y in sorted(set(years), reverse=True)]
