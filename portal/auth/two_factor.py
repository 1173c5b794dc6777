"""TOTP codes (RFC 6238): each code works once, and a secret being set up stays on the
server until its holder has proved they have it."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

import pyotp

from portal.models import User

# One step either side of now: a phone clock 30 s off still works.
WINDOW = 1


def accept_code(user: User, code: str, secret: str | None = None) -> bool:
    """True when ``code`` is valid for ``secret`` (default: the user's own) in a time step
    later than the last one this user used; that step is remembered, so a code cannot be
    used twice. The caller commits."""
    totp = pyotp.TOTP(secret or user.totp_secret or "")
    given = code.strip().encode()
    current = totp.timecode(datetime.now(UTC))
    for step in range(current - WINDOW, current + WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step).encode(), given):
            own = secret is None or secret == user.totp_secret
            if own and user.totp_last_step is not None and step <= user.totp_last_step:
                return False
            user.totp_last_step = step
            return True
    return False


def candidate_secret(user: User) -> str:
    """The secret offered while setting up two-factor login, kept on the user's row (never
    in the session cookie, which the browser can read). The caller commits."""
    if not user.totp_pending_secret:
        user.totp_pending_secret = pyotp.random_base32()
    return user.totp_pending_secret


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name="Insyn")
