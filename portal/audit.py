"""Writing the audit log. Events join the caller's transaction; nothing here commits."""

from __future__ import annotations

from flask import has_request_context, request
from flask_login import current_user

from portal.extensions import db
from portal.models import AuditAction, AuditEvent, User


def record(action: AuditAction, obj=None, *, actor: User | None = None, **detail) -> AuditEvent:
    """Add an audit event for ``action`` on ``obj`` by ``actor`` (default: the logged-in user)."""
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user._get_current_object()
    event = AuditEvent(
        actor_id=actor.id if actor else None,
        actor_email=actor.email if actor else "",
        ip=(request.remote_addr or "") if has_request_context() else "",
        action=action,
        object_type=type(obj).__name__.lower() if obj is not None else "",
        object_id=getattr(obj, "id", None),
        detail={k: v for k, v in detail.items() if v is not None},
    )
    db.session.add(event)
    return event
