"""The list of findings: its filters, the select, and its CSV."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from admin.lists import arg, choice_arg, int_arg, search
from admin.scoping import in_my_committees
from portal.labels import staff_state_label
from portal.models import Agreement, Finding, Provider


def filters() -> dict:
    """The list's filters from the query string."""
    return {
        "q": arg("q"),
        "committee": int_arg("namnd"),
        "meets": choice_arg("uppfyller", ["ja", "nej"]),
        "year": int_arg("ar"),
    }


def findings_of(f: dict):
    """A select of the findings on the user's committees' agreements that ``f`` asks for."""
    select = (
        sa.select(Finding)
        .join(Finding.agreement)
        .join(Agreement.provider)
        .where(
            in_my_committees(Agreement.committee_id),
            search(f["q"], Provider.name, Agreement.reference, Finding.deficiencies),
        )
        .options(joinedload(Finding.agreement).joinedload(Agreement.provider))
        .order_by(Finding.assessed_on.desc(), Finding.id.desc())
    )
    if f["committee"]:
        select = select.where(Agreement.committee_id == f["committee"])
    if f["meets"]:
        select = select.where(Finding.meets_requirements.is_(f["meets"] == "ja"))
    if f["year"] and 1900 < f["year"] < 3000:
        select = select.where(
            Finding.assessed_on >= date(f["year"], 1, 1),
            Finding.assessed_on <= date(f["year"], 12, 31),
        )
    return select


def _plan_status(finding: Finding) -> str:
    return ", ".join(
        f"{p.registration_number or ''} {staff_state_label(p.state)}".strip()
        for p in finding.action_plans
    )


def columns() -> list[str]:
    return [
        _("Bedömd"),
        _("Avtal"),
        _("Utförare"),
        _("Nämnd"),
        _("Verksamhetsområde"),
        _("Kraven uppfylls"),
        _("Brister"),
        _("Påverkan på måluppfyllelse"),
        _("Åtgärdsplan senast"),
        _("Åtgärdsplanens status"),
    ]


def row(x: Finding) -> list:
    return [
        x.assessed_on,
        x.agreement.reference,
        x.agreement.provider.name,
        x.agreement.committee.name,
        x.agreement.service_area.name,
        x.meets_requirements,
        x.deficiencies,
        x.goal_effect,
        x.action_plan_due,
        _plan_status(x),
    ]
