"""What the audit log page shows: the events that match the filters, as rows for the CSV
file, and the kinds of events and objects to filter by."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from admin.audit_log.details import action_label, detail_lines, object_label
from admin.lists import arg, date_arg, int_arg, like
from portal.dates import STOCKHOLM
from portal.extensions import db
from portal.models import AuditEvent


def filters() -> dict:
    return {
        "actor": arg("vem"),
        "action": arg("handelse"),
        "object_type": arg("objekt"),
        "object_id": int_arg("id"),
        "ip": arg("ip"),
        "from": date_arg("fran"),
        "to": date_arg("till"),
    }


def events(f: dict):
    """The events that match the filters, newest first."""
    select = sa.select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if f["actor"]:
        select = select.where(AuditEvent.actor_email.ilike(like(f["actor"]), escape="\\"))
    if f["action"]:
        select = select.where(
            sa.or_(
                AuditEvent.action == f["action"],
                AuditEvent.action.like(f["action"].rstrip(".") + ".%"),
            )
        )
    if f["object_type"]:
        select = select.where(AuditEvent.object_type == f["object_type"])
    if f["object_id"]:
        select = select.where(AuditEvent.object_id == f["object_id"])
    if f["ip"]:
        select = select.where(AuditEvent.ip == f["ip"])
    if f["from"]:
        select = select.where(AuditEvent.at >= datetime.combine(f["from"], time.min, STOCKHOLM))
    if f["to"]:
        select = select.where(
            AuditEvent.at < datetime.combine(f["to"] + timedelta(days=1), time.min, STOCKHOLM)
        )
    return select


def columns() -> list[str]:
    return [
        _("Tid"),
        _("Vem"),
        _("Användar-id"),
        _("IP-adress"),
        _("Händelse"),
        _("Händelsekod"),
        _("Objekt"),
        _("Objekt-id"),
        _("Detaljer"),
    ]


def row(e: AuditEvent) -> list:
    return [
        e.at,
        e.actor_email,
        e.actor_id,
        e.ip,
        action_label(e.action),
        e.action,
        object_label(e.object_type),
        e.object_id,
        "\n".join(detail_lines(e)),
    ]


def action_groups() -> list[tuple[str, str]]:
    """The kinds of action logged (the part before the dot), as choices by name."""
    groups = {a.split(".")[0] for a in db.session.scalars(sa.select(AuditEvent.action).distinct())}
    return sorted(((g, object_label(g)) for g in groups), key=lambda o: o[1])


def object_types() -> list[tuple[str, str]]:
    """The kinds of object logged, as choices by name."""
    types = {t for t in db.session.scalars(sa.select(AuditEvent.object_type).distinct()) if t}
    return sorted(((t, object_label(t)) for t in types), key=lambda o: o[1])
