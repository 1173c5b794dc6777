"""The background-jobs page (administrators only) and its "Kör igen" buttons.

Each button loads its row (404 when there is none), runs one operation of
:mod:`portal.jobs.operations` in :func:`portal.transactions.committed` (the job is
enqueued when it commits) and returns to the page; a second click finds the row taken
and says so.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from admin.blueprint import bp
from admin.jobs import queries
from portal import policy
from portal.extensions import db
from portal.jobs import operations
from portal.models import JobFailure, OutboundMail
from portal.policy import Action
from portal.transactions import committed


def _back():
    return redirect(url_for("admin.jobs"), 303)


@bp.get("/jobb")
def jobs():
    policy.require(Action.ADMINISTER)
    return render_template("admin/jobs.html", **queries.page())


@bp.post("/jobb/<int:failure_id>/kor-igen")
def job_run_again(failure_id: int):
    policy.require(Action.ADMINISTER)
    failure = db.get_or_404(JobFailure, failure_id)
    with committed() as done:
        operations.run_again(failure, current_user._get_current_object())
    if done:
        flash(_("%(task)s körs igen.", task=queries.task_label(failure.task)), "success")
    return _back()


@bp.post("/jobb/epost/<int:mail_id>/kor-igen")
def mail_run_again(mail_id: int):
    policy.require(Action.ADMINISTER)
    outbound = db.get_or_404(OutboundMail, mail_id)
    with committed() as done:
        operations.rerun_mail(outbound, current_user._get_current_object())
    if done:
        flash(_("E-postmeddelandet skickas igen."), "success")
    return _back()


# The buttons' addresses opened with GET (a reload, the language switch): the page.
@bp.get("/jobb/<int:failure_id>/kor-igen")
@bp.get("/jobb/epost/<int:mail_id>/kor-igen")
def jobs_action_page(**_ids):
    policy.require(Action.ADMINISTER)
    return _back()
