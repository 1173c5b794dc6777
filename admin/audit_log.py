"""The audit log: read-only, filtered, exportable. Nothing in the code updates or deletes it."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import render_template
from flask_babel import gettext as _

from admin.blueprint import bp
from admin.lists import arg, csv_response, date_arg, int_arg, like, paginate, rows_of, wants_csv
from portal import policy
from portal.dates import STOCKHOLM
from portal.extensions import db
from portal.models import AuditEvent
from portal.policy import Action


def _filters() -> dict:
    return {
        "actor": arg("vem"),
        "action": arg("handelse"),
        "object_type": arg("objekt"),
        "object_id": int_arg("id"),
        "ip": arg("ip"),
        "from": date_arg("fran"),
        "to": date_arg("till"),
    }


def _select(f: dict):
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


def detail_text(event: AuditEvent) -> str:
    return json.dumps(event.detail or {}, ensure_ascii=False, sort_keys=True, default=str)


@bp.get("/logg")
def audit_log():
    policy.require(Action.ADMINISTER)
    f = _filters()
    select = _select(f)
    if wants_csv():
        return csv_response(
            "granskningslogg",
            [
                _("Tid"),
                _("Vem"),
                _("Användar-id"),
                _("IP-adress"),
                _("Händelse"),
                _("Objekt"),
                _("Objekt-id"),
                _("Detaljer"),
            ],
            rows_of(
                select,
                lambda e: [
                    e.at,
                    e.actor_email,
                    e.actor_id,
                    e.ip,
                    e.action,
                    e.object_type,
                    e.object_id,
                    detail_text(e),
                ],
            ),
        )
    actions = sorted(
        {a.split(".")[0] for (a,) in db.session.execute(sa.select(AuditEvent.action).distinct())}
    )
    types = sorted(
        t for (t,) in db.session.execute(sa.select(AuditEvent.object_type).distinct()) if t
    )
    return render_template(
        "admin/audit_log.html",
        page=paginate(select),
        f=f,
        actions=actions,
        types=types,
        detail_text=detail_text,
    )
