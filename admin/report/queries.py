"""What the yearly report page offers: the committee and year to show, the years to
choose from, and the report's agreements as CSV rows."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import abort

from admin.lists import int_arg
from admin.scoping import my_committees
from portal.dates import today
from portal.extensions import db
from portal.models import Agreement, Committee
from portal.policy import Action

YEARS_SHOWN = 6  # this year and the five before it

CSV_HEADER = [
    "Avtal",
    "Utförare",
    "Organisationsnummer",
    "Verksamhetsområde",
    "Årligt värde (kr)",
    "Uppfyller kraven",
    "Bedömd",
    "Brister",
    "Påverkan på måluppfyllelse",
    "Åtgärdsplaner",
    "Avvikelser",
]


def csv_row(r) -> list:
    """One agreement of the report (:func:`portal.documents.yearly_report.collect`)."""
    return [
        r.agreement.reference,
        r.agreement.provider.name,
        r.agreement.provider.org_number,
        r.agreement.service_area.name,
        r.agreement.yearly_value_sek,
        r.meets,
        r.latest.assessed_on if r.latest else None,
        r.deficiencies,
        r.goal_effect,
        r.plan_summary,
        sum(r.deviations.values()),
    ]


def years_offered(year: int) -> list[int]:
    """The years to choose from: the last few, and ``year``; newest first."""
    return sorted({*range(today().year, today().year - YEARS_SHOWN, -1), year}, reverse=True)


def _years_with_strategic_agreements(committees: list[Committee], years: list[int]) -> dict:
    """``{committee id: [years, newest first]}`` in which the committee had a strategic
    agreement in force, of ``years``."""
    first, last = date(min(years), 1, 1), date(max(years), 12, 31)
    agreements = db.session.scalars(
        sa.select(Agreement).where(
            Agreement.committee_id.in_([c.id for c in committees] or [-1]),
            Agreement.starts_on <= last,
            sa.or_(Agreement.ends_on.is_(None), Agreement.ends_on >= first),
        )
    )
    found: dict[int, set[int]] = {}
    for a in agreements:
        if a.strategic:  # a rule in Python (value, impact, override), not a column
            found.setdefault(a.committee_id, set()).update(
                y
                for y in years
                if a.starts_on <= date(y, 12, 31)
                and (a.ends_on is None or a.ends_on >= date(y, 1, 1))
            )
    return {cid: sorted(ys, reverse=True) for cid, ys in found.items()}


def chosen():
    """The user's committees, and the committee and year asked for; without them, a report
    with content: the first of the user's committees that has strategic agreements, in the
    newest year it had them (this year when it has them now). With nothing to show
    anywhere, the first committee and this year."""
    committees = my_committees(Action.VIEW)
    committee_id, year = int_arg("namnd"), int_arg("ar")
    if year is not None and not 2000 <= year <= 2100:
        abort(404)
    chosen = None
    if committee_id is not None:
        chosen = next((c for c in committees if c.id == committee_id), None)
        if chosen is None:
            abort(404)
    if year is not None and chosen is not None:
        return committees, chosen, year
    candidates = [chosen] if chosen else committees
    years = [year] if year is not None else [today().year - n for n in range(YEARS_SHOWN)]
    with_data = _years_with_strategic_agreements(candidates, years)
    for c in candidates:
        if c.id in with_data:
            return committees, c, with_data[c.id][0]
    return committees, (candidates[0] if candidates else None), year or today().year
