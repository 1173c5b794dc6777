"""One request's writes as one transaction: the views' single way to commit.

Operations add, change and audit but never commit; a view runs them inside
:func:`committed`, which commits when the block ends. When a domain rule refuses the
change (:class:`~portal.workflow.WorkflowError`), nothing of the block is kept: the
session is rolled back, the reason is flashed, and the view sends the user back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import flash

from portal.extensions import db
from portal.workflow import WorkflowError


class Outcome:
    """How the block ended: true when it was committed, else ``refusal`` says why not."""

    refusal: WorkflowError | None = None

    def __bool__(self) -> bool:
        return self.refusal is None


@contextmanager
def committed(*, flash_refusal: bool = True) -> Iterator[Outcome]:
    """Commit the block's writes, or roll them back and flash why the workflow refused."""
    outcome = Outcome()
    try:
        yield outcome
    except WorkflowError as refusal:
        db.session.rollback()
        if flash_refusal:
            flash(str(refusal.message), "error")
        outcome.refusal = refusal
    else:
        db.session.commit()
