"""Logging in and out, session versions and session timeouts."""

from __future__ import annotations

import time

from flask import current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from portal import audit
from portal.extensions import db, login_manager
from portal.models import AuditAction, Setting, User
from portal.models.base import utcnow
from portal.urls import this_page


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Accept the session only while the user's session version is unchanged."""
    ident, _sep, version = user_id.partition(":")
    if not ident.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(ident))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def start_session(user: User) -> None:
    """Log ``user`` in with a fresh session (nothing carried over from before login)."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    login_user(user)
    now = int(time.time())
    session["login_at"] = now
    session["seen_at"] = now
    user.last_login_at = utcnow()
    audit.record(AuditAction.AUTH_LOGIN, user, actor=user)
    db.session.commit()


def end_all_sessions(user: User) -> None:
    """Invalidate every session of ``user`` (logout, password change, deactivation)."""
    user.session_version += 1


def logout() -> None:
    if current_user.is_authenticated:
        user = current_user._get_current_object()
        end_all_sessions(user)
        audit.record(AuditAction.AUTH_LOGOUT, user, actor=user)
        db.session.commit()
    logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def totp_required_for(user: User) -> bool:
    if not user.role.is_staff:
        return False
    setting = Setting.of("require_staff_totp")
    return setting is not None and setting.value == "1"


def session_expired() -> bool:
    """The login is past its idle or absolute timeout."""
    now = int(time.time())
    idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
    absolute = current_app.config["SESSION_MAX_HOURS"] * 3600
    return now - session.get("seen_at", 0) > idle or now - session.get("login_at", 0) > absolute


def enforce_session_rules():
    """Before each request: idle and absolute timeouts, and required two-factor setup."""
    if not current_user.is_authenticated:
        return None
    if session_expired():
        logout_user()
        session.clear()
        flash(_("Du har loggats ut eftersom sessionen gick ut. Logga in igen."), "info")
        return redirect(url_for("auth.login", next=this_page()))
    session["seen_at"] = int(time.time())
    exempt = {"auth.totp_setup", "auth.logout_view", "static"}
    if (
        request.endpoint not in exempt
        and totp_required_for(current_user)
        and not current_user.totp_secret
    ):
        flash(_("Kommunen kräver tvåfaktorsinloggning. Aktivera den för att fortsätta."), "info")
        return redirect(url_for("auth.totp_setup"))
    return None


def home_for(user: User) -> str:
    if user.role.is_provider:
        return url_for("provider.start")
    return url_for("admin.start")
