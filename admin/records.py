"""Saving registry records (not workflow states) with an audit event of what changed."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum

import sqlalchemy as sa

from portal import audit
from portal.extensions import db


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


def save(obj, action: str, **detail) -> dict[str, list]:
    """Add ``obj``, audit ``action`` with the changed columns, flush. The caller commits."""
    db.session.add(obj)
    changed = changes(obj)
    db.session.flush()
    if changed or action.endswith(".create"):
        audit.record(action, obj, changes=changed, **detail)
    return changed
