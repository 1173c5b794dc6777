"""The staff blueprint: every page under /handlaggare is for staff only."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint
from flask_login import current_user, login_required

from portal import labels, policy
from portal.dates import local

bp = Blueprint("admin", __name__, url_prefix="/handlaggare")


@bp.before_request
@login_required
def _staff_only():
    if not current_user.role.is_staff:
        policy.require(policy.Action.ADMINISTER)


def kronor(value) -> str:
    """``12 000 000 kr`` with non-breaking spaces, as Swedish documents write amounts."""
    return f"{int(value or 0):,}".replace(",", "\u00a0") + "\u00a0kr"


def when(moment: datetime | None) -> str:
    return local(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def options(objects, label=str) -> list[tuple[int, str]]:
    """``(id, label)`` pairs for a filter's select."""
    return [(o.id, label(o)) for o in objects]


@bp.context_processor
def _staff_context() -> dict:
    def may(action: str, obj=None) -> bool:
        return policy.can(current_user, policy.Action(action), obj)

    return {
        "may": may,
        "kr": kronor,
        "when": when,
        "options": options,
        # Staff pages name the states as staff see them (a draft is "not yet submitted");
        # templates that import the shared state_badge macro do so "with context" for it.
        "state_label": labels.staff_state_label,
    }
