"""What the list of staff accounts shows: its filters, its query and its CSV rows."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from admin.lists import arg, choice_arg, int_arg, search
from admin.staff.operations import STAFF_ROLES
from portal import labels
from portal.extensions import db
from portal.models import Role, User
from portal.models.user import user_committee

STATUS = {
    "aktiva": User.active.is_(True),
    "inaktiverade": User.active.is_(False),
    "utan-losenord": sa.and_(User.active.is_(True), User.password_hash.is_(None)),
}
TWO_FACTOR = {"pa": User.totp_secret.is_not(None), "av": User.totp_secret.is_(None)}

COLUMNS = [
    _l("Namn"),
    _l("E-postadress"),
    _l("Behörighet"),
    _l("Nämnder"),
    _l("Aktiv"),
    _l("Tvåfaktorsinloggning"),
    _l("Senast inloggad"),
    _l("Skapad"),
]


def filters() -> dict:
    return {
        "q": arg("q"),
        "role": choice_arg("roll", STAFF_ROLES),
        "committee": int_arg("namnd"),
        "status": choice_arg("status", STATUS),
        "two_factor": choice_arg("tvafaktor", TWO_FACTOR),
    }


def staff_accounts(f: dict):
    select = (
        sa.select(User)
        .where(User.role.in_(STAFF_ROLES), search(f["q"], User.name, User.email))
        .options(selectinload(User.committees))
        .order_by(User.active.desc(), User.name, User.email)
    )
    if f["role"]:
        select = select.where(User.role == Role(f["role"]))
    if f["committee"]:
        select = select.where(
            User.id.in_(
                sa.select(user_committee.c.user_id).where(
                    user_committee.c.committee_id == f["committee"]
                )
            )
        )
    if f["status"]:
        select = select.where(STATUS[f["status"]])
    if f["two_factor"]:
        select = select.where(TWO_FACTOR[f["two_factor"]])
    return select


def row(user: User) -> list:
    return [
        user.name,
        user.email,
        labels.name(labels.STAFF_ROLE, user.role),
        ", ".join(c.code for c in sorted(user.committees, key=lambda c: c.code)),
        labels.name(labels.YES_NO, user.active),
        labels.name(labels.YES_NO, user.totp_secret is not None),
        user.last_login_at,
        user.created_at,
    ]


def without_app() -> int:
    """How many active staff accounts have no app for one-time codes."""
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(User)
        .where(User.role.in_(STAFF_ROLES), User.active.is_(True), User.totp_secret.is_(None))
    )
