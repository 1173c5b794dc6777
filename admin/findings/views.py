"""The finding pages: a new finding on an agreement (which may ask the provider for an
action plan), and the list of findings.

The view loads the agreement through the policy, parses the form and calls
:func:`admin.findings.operations.record_finding` inside
:func:`portal.transactions.committed`. The form carries a one-time key
(:mod:`portal.form_keys`): posted twice, it asks for the action plan once.
"""

from __future__ import annotations

from datetime import timedelta

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from admin.blueprint import bp
from admin.findings import operations, queries
from admin.findings.forms import FindingForm
from admin.lists import csv_response, paginate, rows_of, wants_csv
from admin.scoping import my_committees
from portal import form_keys, policy
from portal.dates import today
from portal.models import Agreement
from portal.policy import Action
from portal.transactions import committed


def _finding_form(form: FindingForm, agreement: Agreement, status: int = 200):
    page = render_template(
        "admin/finding_form.html", form=form, agreement=agreement, form_key=form_keys.for_form()
    )
    return page, status


def _recorded(agreement: Agreement, plan, created_now: bool):
    if not created_now:  # a double click: the plan (and its finding) exist already
        flash(_("Iakttagelsen är redan registrerad och åtgärdsplanen begärd."), "info")
    elif plan is not None:
        message = _(
            "Iakttagelsen är registrerad och en åtgärdsplan är begärd av %(name)s.",
            name=agreement.provider.name,
        )
        flash(message, "success")
    else:
        flash(_("Iakttagelsen är registrerad."), "success")
    return redirect(url_for("admin.agreement", agreement_id=agreement.id))


@bp.route("/avtal/<int:agreement_id>/iakttagelser/ny", methods=["GET", "POST"])
def finding_new(agreement_id: int):
    agreement = policy.load(Agreement, agreement_id, Action.REVIEW)
    form = FindingForm()
    if not form.is_submitted():
        form.assessed_on.data = today()
        form.plan_due.data = today() + timedelta(days=30)
        return _finding_form(form, agreement)
    if not form.validate():
        return _finding_form(form, agreement, 422)
    with committed() as done:
        plan, created_now = operations.record_finding(
            agreement, form, current_user._get_current_object()
        )
    if not done:
        return _finding_form(form, agreement, 422)
    return _recorded(agreement, plan, created_now)


@bp.get("/iakttagelser")
def findings():
    f = queries.filters()
    select = queries.findings_of(f)
    if wants_csv():
        return csv_response("iakttagelser", queries.columns(), rows_of(select, queries.row))
    return render_template(
        "admin/findings.html",
        page=paginate(select),
        f=f,
        committees=my_committees(),
        year_options=[(y, y) for y in range(today().year, today().year - 6, -1)],
    )
