"""The operator's work on the installation: municipalities and their first administrator.

Each change is audited twice, in the same order every time: a national event (the
operator's own log, seen only nationally) and, once the municipality exists, an event in
the municipality's log. The ``flask --app portal tenants …`` commands call these.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from portal import audit, municipalities, tenancy
from portal.extensions import db
from portal.models import AuditAction, Municipality, Role
from portal.models.tenant import SLUG


class Refused(Exception):
    """The operator asked for something that cannot be done; ``message`` says why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def create_municipality(
    *, slug: str, name: str, via: str, reserved: frozenset[str], **contact: str | None
) -> int:
    """A new, active municipality (its site at its slug until it gets a host name), with
    the contact details its pages show (``email``, ``phone``, ``website``)."""
    slug, name = slug.strip().lower(), name.strip()
    if not SLUG.fullmatch(slug) or slug in reserved:
        raise Refused(_("%(slug)s kan inte vara en kommuns kortnamn.", slug=slug))
    taken = db.session.scalar(
        sa.select(Municipality.slug).where(
            sa.or_(Municipality.slug == slug, Municipality.name == name)
        )
    )
    if taken:
        raise Refused(_("Det finns redan en kommun med det namnet eller kortnamnet."))
    with tenancy.switch(None):
        municipality = Municipality(slug=slug, name=name, **contact)
        db.session.add(municipality)
        db.session.flush()
        audit.record(AuditAction.MUNICIPALITY_CREATE, municipality, slug=slug, name=name, via=via)
        municipality_id = municipality.id
        db.session.commit()
    municipalities.forget()
    with tenancy.switch(municipality_id):
        audit.record(AuditAction.MUNICIPALITY_CREATE, None, slug=slug, name=name, via=via)
        db.session.commit()
    return municipality_id


def add_admin(municipality_id: int, *, email: str, name: str, via: str) -> int:
    """The municipality's (first) administrator, mailed a link to choose a password."""
    from admin.staff import operations as staff

    with tenancy.switch(None):
        audit.record(
            AuditAction.MUNICIPALITY_ADMIN_ADD,
            db.session.get(Municipality, municipality_id),
            email=email.strip().lower(),
            via=via,
        )
        db.session.commit()
    with tenancy.switch(municipality_id):
        try:
            user, _made = staff.create(None, email=email, name=name, role=Role.ADMIN, committees=[])
        except staff.Refused as refusal:
            db.session.rollback()
            raise Refused(str(refusal.message)) from None
        audit.record(AuditAction.MUNICIPALITY_ADMIN_ADD, user, email=user.email, via=via)
        user_id = user.id
        db.session.commit()
    return user_id


def deactivate(municipality_id: int, *, via: str) -> None:
    """The municipality's sites answer 404 from now on; nothing is deleted."""
    with tenancy.switch(None):
        municipality = db.session.get(Municipality, municipality_id)
        municipality.active = False
        audit.record(AuditAction.MUNICIPALITY_DEACTIVATE, municipality, via=via)
        db.session.commit()
    municipalities.forget()
    with tenancy.switch(municipality_id):
        audit.record(AuditAction.MUNICIPALITY_DEACTIVATE, None, via=via)
        db.session.commit()
