"""Signed, expiring tokens for password reset and invitations (itsdangerous)."""

from __future__ import annotations

import hashlib

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from portal.extensions import db
from portal.models import User


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"insyn-{purpose}")


def _fingerprint(user: User) -> str:
    # Changes with the password, so a reset link works once.
    return hashlib.sha256((user.password_hash or "-").encode()).hexdigest()[:16]


def reset_token(user: User) -> str:
    return _serializer("reset").dumps({"u": user.id, "f": _fingerprint(user)})


def user_from_reset_token(token: str) -> User | None:
    """The user the token was made for, if it is authentic, unused and not expired."""
    return _user_from(token, "reset", current_app.config["PASSWORD_RESET_MAX_AGE"])


def welcome_token(user: User) -> str:
    """For an account an administrator made: the link to choose its first password. It
    lives as long as an invitation (the mail may wait over a weekend) and works once."""
    return _serializer("welcome").dumps({"u": user.id, "f": _fingerprint(user)})


def user_from_welcome_token(token: str) -> User | None:
    return _user_from(token, "welcome", current_app.config["INVITATION_MAX_AGE"])


def _user_from(token: str, purpose: str, max_age: int) -> User | None:
    try:
        data = _serializer(purpose).loads(token, max_age=max_age)
    except BadSignature:
        return None
    ident = data.get("u") if isinstance(data, dict) else None
    user = db.session.get(User, ident) if isinstance(ident, int) else None
    if user is None or not user.active or data.get("f") != _fingerprint(user):
        return None
    return user


def invitation_token(payload: dict) -> str:
    return _serializer("invite").dumps(payload)


def invitation_payload(token: str) -> dict | None:
    try:
        return _serializer("invite").loads(token, max_age=current_app.config["INVITATION_MAX_AGE"])
    except BadSignature:
        return None
