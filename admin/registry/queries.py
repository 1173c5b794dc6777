"""What the registry's list and record pages show: their queries, filters and CSV rows.

Every query keeps to the staff member's committees (:mod:`admin.scoping`); providers are
shared by all committees, but their agreements are counted and listed only for those.
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from admin.lists import arg, choice_arg, int_arg, search
from admin.scoping import in_my_committees
from portal import labels, policy, tenancy
from portal.dates import today
from portal.extensions import db
from portal.models import (
    Agreement,
    Committee,
    Finding,
    Impact,
    InformationRequest,
    Ownership,
    Provider,
    Route,
    ServiceArea,
    Submission,
)
from portal.models.organisation import STRATEGIC_VALUE_HIGH_IMPACT_SEK, STRATEGIC_VALUE_SEK

# --- committees and service areas ---------------------------------------------------------

COMMITTEE_COLUMNS = [_l("Namn"), _l("Kod")]
SERVICE_AREA_COLUMNS = [_l("Verksamhetsområde"), _l("Nämnd")]


def committees(term: str):
    return (
        sa.select(Committee)
        .where(in_my_committees(Committee.id), search(term, Committee.name, Committee.code))
        .order_by(Committee.name)
    )


def committee_row(c: Committee) -> list:
    return [c.name, c.code]


def service_areas(term: str, committee_id: int | None):
    select = (
        sa.select(ServiceArea)
        .join(ServiceArea.committee)
        .where(in_my_committees(ServiceArea.committee_id), search(term, ServiceArea.name))
        .order_by(ServiceArea.name)
    )
    if committee_id:
        select = select.where(ServiceArea.committee_id == committee_id)
    return select


def service_area_row(a: ServiceArea) -> list:
    return [a.name, a.committee.name]


# --- providers ----------------------------------------------------------------------------

PROVIDER_COLUMNS = [
    _l("Namn"),
    _l("Organisationsnummer"),
    labels.OWNERSHIP_NAME,
    _l("E-post"),
    _l("Webbplats"),
    _l("Antal avtal"),
]


def provider_filters() -> dict:
    return {
        "q": arg("q"),
        "ownership": choice_arg("driftform", Ownership),
        "area": int_arg("omrade"),
    }


def providers(f: dict):
    """Providers with the number of their agreements in the staff member's committees."""
    agreements = (
        sa.select(sa.func.count(Agreement.id))
        .where(Agreement.provider_id == Provider.id, in_my_committees(Agreement.committee_id))
        .scalar_subquery()
    )
    select = (
        sa.select(Provider, agreements.label("agreements"))
        .where(
            Provider.registered_with(tenancy.current_id()),
            search(f["q"], Provider.name, Provider.org_number),
        )
        .order_by(Provider.name, Provider.id)
    )
    if f["ownership"]:
        select = select.where(Provider.ownership == Ownership(f["ownership"]))
    if f["area"]:
        select = select.where(
            Provider.agreements.any(
                sa.and_(
                    Agreement.service_area_id == f["area"],
                    in_my_committees(Agreement.committee_id),
                )
            )
        )
    return select


def provider_rows(select):
    for p, agreements in db.session.execute(select):
        ownership = labels.name(labels.OWNERSHIP, p.ownership)
        yield [p.name, p.org_number, ownership, p.email, p.website, agreements]


def agreement_counts(providers: list[Provider]) -> dict[int, int]:
    """``{provider id: agreements in the staff member's committees}`` (a page of the list
    holds the providers only: db.paginate keeps the first column of a select)."""
    return dict(
        db.session.execute(
            sa.select(Agreement.provider_id, sa.func.count())
            .where(
                Agreement.provider_id.in_([p.id for p in providers]),
                in_my_committees(Agreement.committee_id),
            )
            .group_by(Agreement.provider_id)
        ).all()
    )


def agreements_of(provider: Provider) -> list[Agreement]:
    return db.session.scalars(
        sa.select(Agreement)
        .where(Agreement.provider_id == provider.id, in_my_committees(Agreement.committee_id))
        .order_by(Agreement.starts_on.desc())
    ).all()


# --- agreements ---------------------------------------------------------------------------

AGREEMENT_COLUMNS = [
    _l("Avtalsnummer"),
    _l("Utförare"),
    _l("Organisationsnummer"),
    _l("Nämnd"),
    _l("Verksamhetsområde"),
    _l("Avtalsform"),
    _l("Gäller från"),
    _l("Gäller till"),
    _l("Årligt värde (kr)"),
    _l("Påverkan"),
    _l("Strategiskt"),
    _l("Motivering till avsteg"),
    _l("Avtalsansvarig"),
    _l("Väsentliga kvalitetskrav"),
]


def agreement_filters() -> dict:
    return {
        "q": arg("q"),
        "committee": int_arg("namnd"),
        "area": int_arg("omrade"),
        "route": choice_arg("avtalsform", Route),
        "impact": choice_arg("paverkan", Impact),
        "strategic": choice_arg("strategiskt", ["ja", "nej"]),
        "active": choice_arg("giltiga", ["ja", "nej"]),
        "provider": int_arg("utforare"),
    }


def agreements(f: dict):
    select = (
        sa.select(Agreement)
        .join(Agreement.provider)
        .where(
            in_my_committees(Agreement.committee_id),
            search(f["q"], Agreement.reference, Provider.name, Agreement.responsible_officer),
        )
        .order_by(Provider.name, Agreement.reference)
    )
    if f["committee"]:
        select = select.where(Agreement.committee_id == f["committee"])
    if f["area"]:
        select = select.where(Agreement.service_area_id == f["area"])
    if f["provider"]:
        select = select.where(Agreement.provider_id == f["provider"])
    if f["route"]:
        select = select.where(Agreement.route == Route(f["route"]))
    if f["impact"]:
        select = select.where(Agreement.impact == Impact(f["impact"]))
    if f["active"]:
        active = sa.or_(Agreement.ends_on.is_(None), Agreement.ends_on >= today())
        select = select.where(active if f["active"] == "ja" else sa.not_(active))
    if f["strategic"]:
        select = select.where(strategic_condition(f["strategic"] == "ja"))
    return select


def strategic_condition(wanted: bool = True):
    """SQL for :attr:`Agreement.strategic` (override, else the rule)."""
    by_rule = sa.or_(
        Agreement.yearly_value_sek >= STRATEGIC_VALUE_SEK,
        sa.and_(
            Agreement.impact == Impact.HIGH,
            Agreement.yearly_value_sek >= STRATEGIC_VALUE_HIGH_IMPACT_SEK,
        ),
    )
    strategic = sa.or_(
        Agreement.strategic_override.is_(True),
        sa.and_(Agreement.strategic_override.is_(None), by_rule),
    )
    return strategic if wanted else sa.not_(strategic)


def agreement_row(a: Agreement) -> list:
    return [
        a.reference,
        a.provider.name,
        a.provider.org_number,
        a.committee.name,
        a.service_area.name,
        labels.name(labels.ROUTE, a.route),
        a.starts_on,
        a.ends_on,
        Decimal(a.yearly_value_sek or 0),
        labels.name(labels.IMPACT, a.impact),
        a.strategic,
        "" if a.strategic_override is None else a.strategic_override_reason,
        a.responsible_officer,
        a.quality_requirements,
    ]


def agreement_history(agreement: Agreement) -> dict:
    """The agreement's findings, information requests and the submissions the staff
    member may see (its own, and its findings' action plans): the agreement page's lists."""
    findings = db.session.scalars(
        sa.select(Finding)
        .where(Finding.agreement_id == agreement.id)
        .order_by(Finding.assessed_on.desc(), Finding.id.desc())
    ).all()
    requests = db.session.scalars(
        sa.select(InformationRequest)
        .where(InformationRequest.agreement_id == agreement.id)
        .order_by(InformationRequest.deadline.desc())
    ).all()
    submissions = db.session.scalars(
        policy.visible_submissions(current_user, sa.select(Submission))
        .where(
            sa.or_(
                Submission.agreement_id == agreement.id,
                Submission.finding_id.in_([f.id for f in findings] or [-1]),
            )
        )
        .order_by(Submission.created_at.desc())
        .limit(50)
    ).all()
    return {"findings": findings, "requests": requests, "submissions": submissions}
