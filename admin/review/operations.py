"""The decisions on a submission. The workflow writes the transition with its review
event, audit record and mail; these functions choose it and refuse a decision taken on
another version than the one the reviewer read. Nothing here commits: the view runs them
in :func:`portal.transactions.committed`."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from admin.review.forms import text
from portal import workflow
from portal.models import Submission, User


def decide(submission: Submission, actor: User, name: str, form: FlaskForm, shown: int | None):
    """Take the decision ``name`` with what ``form`` holds. ``shown``: the number of the
    version the confirmation showed (None: the decision was posted from the case page)."""
    latest = submission.latest_submitted
    if shown is not None and (latest is None or latest.number != shown):
        raise workflow.ConcurrentChange(
            _l(
                "Inget är beslutat: utföraren har skickat in en ny version sedan du "
                "bekräftade. Läs den nya versionen och besluta igen."
            )
        )
    if name == "ask_clarification":
        workflow.ask_clarification(submission, actor, text(form.question), form.deadline.data)
    elif name == "approve":
        workflow.approve(submission, actor, text(form.comment))
    elif name == "reject":
        workflow.reject(submission, actor, text(form.reason))
    elif name == "close":
        workflow.close(submission, actor, text(form.comment))
    else:
        workflow.extend_deadline(submission, actor, form.deadline.data, text(form.reason))
