"""The one-time key of a form that creates something.

A form that creates (a request, a finding's action plan, a deviation report, an account)
carries a random key in a hidden field. The first post creates and ties what it made to
the key; a second post of the same form (a double click, a reload, two posts at once)
finds that instead of creating more.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

from flask import has_request_context, request
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import CreationKey, Submission

FIELD = "form_key"
_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")


def posted() -> str | None:
    """The key the posted form carries, or None when it carries no well-formed one (or
    there is no form: a command)."""
    if not has_request_context():
        return None
    key = request.form.get(FIELD, "")
    return key if _KEY.fullmatch(key) else None


def for_form() -> str:
    """The key to put in a form: the posted one while the form is shown again, else new."""
    return posted() or secrets.token_urlsafe(24)


def created_by_this_form() -> Submission | None:
    """The submission an earlier post of this very form created, if one did."""
    key = posted()
    known = db.session.get(CreationKey, key) if key else None
    return db.session.get(Submission, known.submission_id) if known is not None else None


def create_once(create: Callable[[], Submission]) -> tuple[Submission, bool]:
    """The submission of this form, and whether this post created it.

    ``create`` runs when no post of the form came first. When another post wins the race
    for the key, everything this post added is rolled back and the winner's submission
    is returned instead.
    """
    key = posted()
    if key is None:
        return create(), True
    if (earlier := created_by_this_form()) is not None:
        return earlier, False
    submission = create()
    db.session.add(CreationKey(key=key, submission_id=submission.id))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()  # the same form's other post was first
        if (earlier := created_by_this_form()) is None:
            raise
        return earlier, False
    return submission, True
