"""Keeping the registry: committees, service areas, providers and agreements.

The views parse the form and load the record through the policy; these functions
refuse a name, code or agreement number that another record has already
(:class:`Taken`, shown on the form field), write the change and audit what changed
(:func:`admin.registry.records.save`). Nothing here commits: the view runs them in
:func:`portal.transactions.committed`.

The check before the write gives the clear message; the database's unique constraints
catch the rare post that slips past it (two forms saved at the same moment), and that
one gets the same message instead of a server error.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from admin.registry.records import save
from portal import audit, policy
from portal.extensions import db
from portal.models import (
    Agreement,
    AuditAction,
    Committee,
    Ownership,
    Provider,
    ServiceArea,
)
from portal.policy import Action
from portal.workflow import WorkflowError


class Taken(WorkflowError):
    """Another record has the name, code or number; ``field`` is the form field to mark."""

    def __init__(self, message, field: str):
        super().__init__(message)
        self.field = field


def _save_unique(
    obj, action: AuditAction, values: dict, *, taken: Taken, clash, check=None
) -> dict[str, list]:
    """Set ``values`` on ``obj`` and save it, unless ``clash()`` finds another record
    with what must be unique: then refuse with ``taken``, also when a concurrent post got
    past the check first (the unique constraint fails in the savepoint). ``check`` runs
    after the values are set (an access check of the changed record)."""
    if clash() is not None:
        raise taken
    try:
        # No autoflush: a query while setting (the policy loads the committee) would
        # flush early and leave nothing for the audit event's list of changes.
        with db.session.begin_nested(), db.session.no_autoflush:
            for name, value in values.items():
                setattr(obj, name, value)
            if check is not None:
                check()
            return save(obj, action)
    except IntegrityError:
        if clash() is None:
            raise
        raise taken from None


def _other(model, obj, *conditions):
    """``clash`` of :func:`_save_unique`: another ``model`` record that meets ``conditions``."""
    return lambda: db.session.scalar(
        sa.select(model.id).where(*conditions, model.id != (obj.id or 0)).limit(1)
    )


def save_committee(
    committee: Committee,
    *,
    name: str,
    code: str,
    postal_address: str | None,
    phone: str | None,
    email: str | None,
) -> Committee:
    """Create or change a committee; its name and its code are its own."""
    _save_unique(
        committee,
        AuditAction.COMMITTEE_UPDATE if committee.id else AuditAction.COMMITTEE_CREATE,
        dict(name=name, code=code, postal_address=postal_address, phone=phone, email=email),
        taken=Taken(_l("Det finns redan en nämnd med det namnet eller den koden."), "code"),
        clash=_other(Committee, committee, sa.or_(Committee.code == code, Committee.name == name)),
    )
    return committee


def save_service_area(area: ServiceArea, *, name: str, committee_id: int) -> ServiceArea:
    """Create or change a service area; its name is its own."""
    _save_unique(
        area,
        AuditAction.SERVICE_AREA_UPDATE if area.id else AuditAction.SERVICE_AREA_CREATE,
        dict(name=name, committee_id=committee_id),
        taken=Taken(_l("Det finns redan ett verksamhetsområde med det namnet."), "name"),
        clash=_other(ServiceArea, area, ServiceArea.name == name),
    )
    return area


def save_provider(
    provider: Provider,
    *,
    name: str,
    org_number: str,
    ownership: Ownership,
    email: str | None,
    website: str | None,
    description: str,
) -> Provider:
    """Create or change a provider. Organisation numbers are not unique: in-house units
    share the municipality's. A new organisation that is already in Insyn (another
    municipality's, with the same organisation number) is registered with this one instead:
    one organisation, one set of accounts, whichever municipalities it serves."""
    if provider.id is None and ownership != Ownership.IN_HOUSE:
        known = db.session.scalar(
            sa.select(Provider)
            .where(Provider.org_number == org_number, Provider.municipality_id.is_(None))
            .order_by(Provider.id)
            .limit(1)
        )
        if known is not None:
            known.register_here()
            audit.record(AuditAction.PROVIDER_CREATE, known, registered=True, org_number=org_number)
            return known
    provider.name, provider.org_number, provider.ownership = name, org_number, ownership
    provider.email, provider.website, provider.description = email, website, description
    save(provider, AuditAction.PROVIDER_UPDATE if provider.id else AuditAction.PROVIDER_CREATE)
    return provider


def save_agreement(agreement: Agreement, **values) -> Agreement:
    """Create or change an agreement of a committee the actor reviews for; its number is
    the committee's own. ``values``: the columns, as
    :meth:`admin.registry.forms.AgreementForm.values` gives them."""

    def check() -> None:
        if agreement.id:
            # Relationships loaded before the ids changed would otherwise shadow them.
            db.session.expire(agreement, ["provider", "committee", "service_area"])
        policy.require(Action.REVIEW, agreement)

    _save_unique(
        agreement,
        AuditAction.AGREEMENT_UPDATE if agreement.id else AuditAction.AGREEMENT_CREATE,
        values,
        taken=Taken(_l("Nämnden har redan ett avtal med det numret."), "reference"),
        clash=_other(
            Agreement,
            agreement,
            Agreement.committee_id == values["committee_id"],
            Agreement.reference == values["reference"],
        ),
        check=check,
    )
    return agreement
