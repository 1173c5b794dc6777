"""The follow-up plan pages: the list, a new plan, one plan (with its adoption), its items,
copying last year's items, and the plan as a .docx.

Each view loads through the policy, parses the form and calls one operation of
:mod:`admin.plans.operations` inside :func:`portal.transactions.committed`.
"""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from admin.blueprint import bp
from admin.lists import csv_response, paginate, rows_of, wants_csv
from admin.plans import operations, queries
from admin.plans.forms import AdoptForm, ItemForm, PlanForm
from admin.scoping import my_committees
from portal import policy
from portal.documents.text import DOCX
from portal.extensions import db
from portal.models import FollowUpItem, FollowUpPlan
from portal.policy import Action
from portal.transactions import committed


def _to_plan(plan_id: int):
    return redirect(url_for("admin.plan", plan_id=plan_id))


def _item_of(plan: FollowUpPlan, item_id: int) -> FollowUpItem:
    item = db.session.get(FollowUpItem, item_id)
    if item is None or item.plan_id != plan.id:
        abort(404)
    return item


@bp.get("/uppfoljningsplaner")
def plans():
    f = queries.filters()
    select = queries.plans_of(f)
    if wants_csv():
        items = rows_of(queries.items_of(select), queries.item_row)
        return csv_response("uppfoljningsplaner", queries.item_header(), items)
    return render_template(
        "admin/plans.html",
        page=paginate(select),
        committee_id=f["committee_id"],
        year=f["year"],
        q=f["q"],
        committees=my_committees(),
        year_options=queries.year_options(),
    )


def _plan_form_page(form: PlanForm):
    page = render_template(
        "admin/form.html",
        form=form,
        heading=_("Ny uppföljningsplan"),
        intro=_(
            "Nämnden antar varje år en plan för vad som följs upp, i vilken form, av vem, "
            "när och hur resultatet återkopplas."
        ),
        cancel=url_for("admin.plans"),
    )
    return page, 422 if form.errors else 200


@bp.route("/uppfoljningsplaner/ny", methods=["GET", "POST"])
def plan_new():
    policy.require(Action.REVIEW)
    form = PlanForm().offering()
    if not form.validate_on_submit():
        return _plan_form_page(form)
    plan = FollowUpPlan(committee_id=form.committee_id.data, year=form.year.data)
    policy.require(Action.REVIEW, plan)
    with committed() as done:
        copied = operations.create_plan(plan, copy_previous=form.copy_previous.data)
    if not done:  # the committee has a plan for the year: that one
        return _to_plan(done.refusal.plan_id)
    flash(_("Planen är skapad med %(n)d punkter.", n=copied), "success")
    return _to_plan(plan.id)


@bp.route("/uppfoljningsplaner/<int:plan_id>", methods=["GET", "POST"])
def plan(plan_id: int):
    plan = policy.load(FollowUpPlan, plan_id)
    if wants_csv():
        items = (queries.item_row(i) for i in plan.items)
        return csv_response(queries.plan_file_name(plan), queries.item_header(), items)
    form = AdoptForm()
    if form.is_submitted():
        policy.require(Action.REVIEW, plan)
        if form.validate():
            with committed():
                operations.adopt(plan, form.adopted_on.data)
            flash(_("Beslutsdatumet är sparat."), "success")
            return _to_plan(plan.id)
    elif plan.adopted_on:
        form.adopted_on.data = plan.adopted_on
    page = render_template(
        "admin/plan.html",
        plan=plan,
        form=form,
        subject=queries.item_subject,
        feedback_to=queries.feedback_to,
    )
    return page, 422 if form.errors else 200


@bp.route("/uppfoljningsplaner/<int:plan_id>/punkter/ny", methods=["GET", "POST"])
@bp.route("/uppfoljningsplaner/<int:plan_id>/punkter/<int:item_id>", methods=["GET", "POST"])
def plan_item_form(plan_id: int, item_id: int | None = None):
    plan = policy.load(FollowUpPlan, plan_id, Action.REVIEW)
    if item_id is not None:
        item = _item_of(plan, item_id)
    else:
        item = FollowUpItem(feedback_committee=True, feedback_provider=True)
    form = ItemForm(obj=item).offering(plan, item)
    if form.validate_on_submit():
        with committed():
            operations.save_item(plan, item, form.values())
        flash(_("Punkten är sparad."), "success")
        return _to_plan(plan.id)
    page = render_template("admin/plan_item_form.html", form=form, plan=plan, item=item)
    return page, 422 if form.errors else 200


@bp.get("/uppfoljningsplaner/<int:plan_id>/kopiera")
@bp.get("/uppfoljningsplaner/<int:plan_id>/punkter/<int:item_id>/ta-bort")
def plan_action_page(plan_id: int, item_id: int | None = None):
    """The address of a button on the plan opened with GET (a reload, a bookmark): the plan,
    with nothing done; copying and removing need their POST."""
    policy.load(FollowUpPlan, plan_id)
    return redirect(url_for("admin.plan", plan_id=plan_id), 303)


@bp.post("/uppfoljningsplaner/<int:plan_id>/punkter/<int:item_id>/ta-bort")
def plan_item_delete(plan_id: int, item_id: int):
    plan = policy.load(FollowUpPlan, plan_id, Action.REVIEW)
    item = _item_of(plan, item_id)
    with committed():
        operations.delete_item(plan, item)
    flash(_("Punkten är borttagen."), "success")
    return _to_plan(plan.id)


@bp.post("/uppfoljningsplaner/<int:plan_id>/kopiera")
def plan_copy_previous(plan_id: int):
    plan = policy.load(FollowUpPlan, plan_id, Action.REVIEW)
    with committed() as done:
        previous, copied = operations.copy_previous(plan, current_user._get_current_object())
    if done:
        message = _(
            "%(n)d punkter har kopierats från planen för %(year)d.", n=copied, year=previous.year
        )
        flash(message, "success")
    return _to_plan(plan.id)


@bp.get("/uppfoljningsplaner/<int:plan_id>/uppfoljningsplan.docx")
def plan_docx(plan_id: int):
    from portal.documents.follow_up_plan import follow_up_plan_docx

    plan = policy.load(FollowUpPlan, plan_id)
    name = f"{queries.plan_file_name(plan)}.docx"
    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "private, no-store",
    }
    return Response(follow_up_plan_docx(plan), mimetype=DOCX, headers=headers)
