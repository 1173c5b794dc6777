"""The municipality's own accounts: making, changing, deactivating them; two-factor rules.

Administrators manage the staff accounts (reviewers, publishers, administrators) here;
provider accounts belong to their organisations' administrators
(:mod:`portal.provider.organisation`). The views parse the form and load the account
through the policy; these functions refuse what the domain forbids (an address that has
an account already, administrators deactivating or demoting themselves, the last
active administrator going), write the change with its audit event and queue the mail.
Nothing here commits: the view runs them in :func:`portal.transactions.committed`, which
commits once, so the change, its audit event and its mail agree, and rolls back on a
refusal.

No administrator ever types a password for someone else: a new account gets a mail
with a link to choose its own (:func:`portal.auth.tokens.welcome_token`).

Two administrators removing each other at the same moment must not leave none: the
active administrators' rows are locked (in id order) before the count, so the second
one waits and then counts without the first one's change (PostgreSQL; SQLite runs one
writer at a time anyway).
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from admin.registry.records import changes
from portal import audit, form_keys, labels, mail
from portal.auth.session import end_all_sessions, totp_required_for
from portal.auth.tokens import welcome_token
from portal.extensions import db
from portal.models import AuditAction, AuditEvent, Committee, Role, Setting, User
from portal.urls import external_url
from portal.workflow import WorkflowError

STAFF_ROLES = (Role.REVIEWER, Role.PUBLISHER, Role.ADMIN)
# The setting :func:`portal.auth.session.totp_required_for` reads.
REQUIRE_STAFF_TOTP = "require_staff_totp"


class Refused(WorkflowError):
    """What the administrator asked for is not allowed; nothing was changed.

    ``field`` names the form field the message belongs to, when there is one."""

    def __init__(self, message, field: str | None = None):
        super().__init__(message)
        self.field = field


def account_for(email: str) -> User | None:
    """The account whose login is ``email`` (however its case was stored), if any."""
    return db.session.scalar(
        sa.select(User)
        .where(sa.func.lower(User.email) == email.strip().lower())
        .order_by(User.id)
        .limit(1)
    )


def _codes(committees: Iterable[Committee]) -> list[str]:
    return sorted(c.code for c in committees)


def create(
    actor: User | None,
    *,
    email: str,
    name: str,
    role: Role,
    committees: list[Committee],
) -> tuple[User, bool]:
    """A staff account without a password, and a mail to it with the link to choose one;
    returns the account and whether this post made it.

    A second post of the same form (the one-time key of :mod:`portal.form_keys`; the
    account's audit event records it) returns the account the first one made, having
    made nothing (also when both posts arrive at once: the address is unique). Another
    form for an address with an account raises :class:`Refused`.
    """
    if role not in STAFF_ROLES:
        raise ValueError(f"not a staff role: {role}")
    email = email.strip().lower()
    existing = account_for(email)
    if existing is None:
        user = User(email=email, name=name, role=role, committees=list(committees))
        try:
            with db.session.begin_nested():
                db.session.add(user)
                db.session.flush()
        except IntegrityError:
            existing = account_for(email)  # another post was first
            if existing is None:  # an account this municipality cannot see has it
                raise Refused(_elsewhere(email), "email") from None
    if existing is not None:
        if _created_by_form(existing, form_keys.posted()):
            return existing, False
        raise Refused(_taken(existing), "email")
    audit.record(
        AuditAction.USER_CREATE,
        user,
        actor=actor,
        email=email,
        role=role.value,
        committees=_codes(committees),
        form=form_keys.posted(),
    )
    _mail_welcome(user, actor)
    return user, True


def _taken(existing: User) -> str:
    if existing.role.is_provider and existing.provider is not None:
        return _(
            "%(email)s har redan ett konto i Insyn, som utförarkonto hos %(provider)s. "
            "Samma adress kan inte ha två konton.",
            email=existing.email,
            provider=existing.provider.name,
        )
    return _(
        "%(email)s har redan ett konto i Insyn (%(name)s). Sök fram det i listan över användare.",
        email=existing.email,
        name=existing.name or existing.email,
    )


def _elsewhere(email: str) -> str:
    """An address that is another municipality's staff login: said without naming it."""
    return _(
        "%(email)s är redan inloggningsadress för ett annat konto i Insyn och kan inte få "
        "ett konto till. Använd personens arbetsadress i kommunen eller en annan adress.",
        email=email,
    )


def _created_by_form(user: User, form_key: str | None) -> bool:
    """Whether ``user`` was made by the form with ``form_key`` (its audit event says so)."""
    if form_key is None:
        return False
    event = db.session.scalar(
        sa.select(AuditEvent)
        .where(
            AuditEvent.action == AuditAction.USER_CREATE,
            AuditEvent.object_type == "user",
            AuditEvent.object_id == user.id,
        )
        .order_by(AuditEvent.id)
        .limit(1)
    )
    return event is not None and (event.detail or {}).get("form") == form_key


def _mail_welcome(user: User, actor: User | None) -> None:
    names = [c.name for c in sorted(user.committees, key=lambda c: c.name)]
    mail.queue(
        user.email,
        _l("Ditt konto i Insyn"),
        "staff_welcome",
        user=user,
        inviter=(actor.name or actor.email) if actor else _l("Driften av Insyn"),
        role=labels.name(labels.STAFF_ROLE, user.role),
        committees=", ".join(names) if user.role != Role.ADMIN else "",
        two_factor=totp_required_for(user),
        link=external_url("auth.reset_password", token=welcome_token(user)),
        days=current_app.config["INVITATION_MAX_AGE"] // 86400,
    )


def update(
    actor: User, user: User, *, name: str, role: Role, committees: list[Committee]
) -> dict[str, list]:
    """Change the name, role and committees of a staff account; returns what changed."""
    if role not in STAFF_ROLES:
        raise ValueError(f"not a staff role: {role}")
    if role != user.role:
        if user.id == actor.id:
            raise Refused(
                _l("Du kan inte ändra din egen behörighet. Be en annan administratör göra det."),
                "role",
            )
        if user.role == Role.ADMIN:
            _keep_an_administrator(user)
    before = _codes(user.committees)
    user.name = name
    user.role = role
    user.committees = list(committees)
    changed = changes(user)
    after = _codes(committees)
    if before != after:
        changed["committees"] = [before, after]
    if changed:
        audit.record(AuditAction.USER_UPDATE, user, actor=actor, email=user.email, changes=changed)
    return changed


def deactivate(actor: User, user: User) -> bool:
    """Close the account and end its sessions at once; False when it was closed already."""
    if user.id == actor.id:
        raise Refused(_l("Du kan inte inaktivera dig själv. Be en annan administratör göra det."))
    if not user.active:
        return False
    if user.role == Role.ADMIN:
        _keep_an_administrator(user)
    user.active = False
    end_all_sessions(user)
    audit.record(AuditAction.USER_DEACTIVATE, user, actor=actor, email=user.email)
    return True


def reactivate(actor: User, user: User) -> bool:
    if user.active:
        return False
    user.active = True
    audit.record(AuditAction.USER_REACTIVATE, user, actor=actor, email=user.email)
    return True


def _keep_an_administrator(leaving: User) -> None:
    """Refuse unless another administrator stays active when ``leaving`` stops being one."""
    active = db.session.scalars(
        sa.select(User)
        .where(User.role == Role.ADMIN, User.active.is_(True))
        .order_by(User.id)
        .with_for_update()
    ).all()
    if not [u for u in active if u.id != leaving.id]:
        raise Refused(
            _l(
                "Kommunen måste ha minst en aktiv administratör. Gör någon annan till "
                "administratör först."
            )
        )


def reset_two_factor(actor: User, user: User) -> bool:
    """Forget the account's app for one-time codes and end its sessions: at the next login
    the password is enough, and the user sets up an app again (at once, where the
    municipality requires it). False when no app was set up."""
    if user.id == actor.id:
        raise Refused(
            _l("Din egen app för engångskoder byter du på sidan för tvåfaktorsinloggning.")
        )
    if user.totp_secret is None and user.totp_pending_secret is None:
        return False
    user.totp_secret = None
    user.totp_pending_secret = None
    user.totp_last_step = None
    end_all_sessions(user)
    audit.record(AuditAction.USER_TOTP_RESET, user, actor=actor, email=user.email)
    return True


def resend_welcome(actor: User, user: User) -> None:
    """A new link to choose the first password, for an account that has none yet."""
    if not user.active:
        raise Refused(_l("Kontot är inaktiverat. Aktivera det först."))
    if user.password_hash is not None:
        raise Refused(
            _l(
                "Kontot har redan ett lösenord. Den som har glömt sitt lösenord väljer ett nytt "
                "via Glömt lösenord på inloggningssidan."
            )
        )
    audit.record(AuditAction.USER_WELCOME_RESENT, user, actor=actor, email=user.email)
    _mail_welcome(user, actor)


def staff_totp_required() -> bool:
    setting = Setting.of(REQUIRE_STAFF_TOTP)
    return setting is not None and setting.value == "1"


def require_staff_totp(actor: User, required: bool) -> bool:
    """Require two-factor login of all staff (or stop requiring it); False when unchanged.

    Staff without an app are sent to set one up at their next page (see
    :func:`portal.auth.session.enforce_session_rules`)."""
    value = "1" if required else "0"
    setting = Setting.of(REQUIRE_STAFF_TOTP, for_update=True)
    if setting is None:
        try:
            with db.session.begin_nested():
                setting = Setting(key=REQUIRE_STAFF_TOTP, value="0")
                db.session.add(setting)
                db.session.flush()
        except IntegrityError:  # a second post of the same form was first
            setting = Setting.of(REQUIRE_STAFF_TOTP, for_update=True)
    if setting.value == value:
        return False
    audit.record(
        AuditAction.SETTING_UPDATE,
        setting,
        actor=actor,
        key=REQUIRE_STAFF_TOTP,
        changes=[setting.value, value],
    )
    setting.value = value
    return True
