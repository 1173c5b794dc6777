"""Saving records that are kept rather than moved through a workflow (committees, service
areas, providers, agreements, follow-up plans, staff accounts) with an audit event that
lists what changed, column by column."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum

import sqlalchemy as sa

from portal import audit
from portal.extensions import db
from portal.models import AuditAction


def _plain(value):
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def changes(obj) -> dict[str, list]:
    """``{column: [old, new]}`` for what is about to be written of ``obj``."""
    state = sa.inspect(obj)
    out = {}
    for attr in state.mapper.column_attrs:
        history = state.attrs[attr.key].history
        if history.added or history.deleted:
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if _plain(old) != _plain(new):
                out[attr.key] = [_plain(old), _plain(new)]
    return out


def save(obj, action: AuditAction, **detail) -> dict[str, list]:
    """Add ``obj``, audit ``action`` with the changed columns, flush. The caller commits.

    A ``.create`` action is audited even when nothing was set; an update that changed
    nothing leaves no event."""
    db.session.add(obj)
    changed = changes(obj)
    db.session.flush()
    if changed or action.endswith(".create"):
        audit.record(action, obj, changes=changed, **detail)
    return changed
