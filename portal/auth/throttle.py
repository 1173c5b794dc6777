"""Password guessing is limited without letting anyone lock an owner out of their account.

- per client: 20 failed logins in 5 minutes, then 429 (decorator on the view);
- per address *and* client: 5 failures in 15 minutes, then 429 (the same);
- per address alone, from any client: no block, only a growing delay after
  :data:`FREE_FAILURES` failures, so guessing from many clients is slow while the owner,
  from their own client, still logs in (or resets the password).
- per signed-in user: the current-password checks of the account pages.

Counts live in Flask-Limiter's storage (Redis when several app servers run).
"""

from __future__ import annotations

import hashlib
import time

from flask import current_app, request
from flask_limiter.util import get_remote_address
from flask_login import current_user

from portal.extensions import limiter

FREE_FAILURES = 5
WINDOW_SECONDS = 15 * 60
STEP_SECONDS = 0.5


def _address(form_email: str | None) -> str:
    return (form_email or "").strip().lower()


def address_and_client() -> str:
    """Limiter key: the address typed in the form, together with the client."""
    digest = hashlib.sha256(_address(request.form.get("email")).encode()).hexdigest()[:32]
    return f"login:{digest}:{get_remote_address()}"


def signed_in_user() -> str:
    """Limiter key for the current-password checks of a signed-in user."""
    return f"password-check:{current_user.get_id() if current_user.is_authenticated else '-'}"


def _failures_key(email: str) -> str:
    return "insyn/login-failures/" + hashlib.sha256(_address(email).encode()).hexdigest()[:32]


def slow_down(email: str) -> float:
    """Wait before checking a password for ``email`` if it has been guessed at recently;
    returns the seconds waited (at most ``LOGIN_SLOWDOWN_MAX_SECONDS``)."""
    failures = limiter.storage.get(_failures_key(email))
    if failures <= FREE_FAILURES:
        return 0.0
    ceiling = float(current_app.config["LOGIN_SLOWDOWN_MAX_SECONDS"])
    delay = min(ceiling, STEP_SECONDS * (failures - FREE_FAILURES))
    time.sleep(delay)
    return delay


def count_failure(email: str) -> None:
    limiter.storage.incr(_failures_key(email), WINDOW_SECONDS)
