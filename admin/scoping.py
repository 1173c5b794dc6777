"""Restricting lists to what the current staff member may see (policy decides; this applies it)."""

from __future__ import annotations

import sqlalchemy as sa
from flask_login import current_user

from portal import labels, policy
from portal.extensions import db
from portal.models import Committee, Role, ServiceArea
from portal.policy import Action


def in_my_committees(column):
    """A condition restricting ``column`` (a committee id) to the user's committees."""
    if current_user.role == Role.ADMIN:
        return sa.true()
    return column.in_(current_user.committee_ids or {-1})


def my_committees(action: Action = Action.VIEW) -> list[Committee]:
    """The committees in which the current user may do ``action``, by name."""
    committees = db.session.scalars(sa.select(Committee).order_by(Committee.name)).all()
    return [c for c in committees if policy.can(current_user, action, c)]


def my_service_areas(action: Action = Action.VIEW) -> list[ServiceArea]:
    ids = {c.id for c in my_committees(action)}
    areas = db.session.scalars(sa.select(ServiceArea).order_by(ServiceArea.name)).all()
    return [a for a in areas if a.committee_id in ids]


def committee_choices(action: Action = Action.VIEW, blank: str | None = None):
    choices = [(c.id, f"{c.name} ({c.code})") for c in my_committees(action)]
    return labels.select(([(0, blank)] if blank is not None else []) + choices)
