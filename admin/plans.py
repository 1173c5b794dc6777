"""The committee's yearly follow-up plan (uppföljningsplan)."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm import selectinload
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from admin import labels
from admin.blueprint import bp
from admin.fields import record_id
from admin.lists import arg, csv_response, int_arg, paginate, rows_of, search, wants_csv
from admin.records import save
from admin.scoping import committee_choices, in_my_committees, my_committees
from portal import audit, policy
from portal.dates import today
from portal.extensions import db
from portal.models import (
    Agreement,
    Committee,
    FollowUpForm,
    FollowUpItem,
    FollowUpPlan,
    Provider,
    ServiceArea,
)
from portal.policy import Action

FOCUS_SUGGESTIONS = ["Nöjdhet", "Trygghet", "Delaktighet", "Kommunikation", "Avvikelser"]


def item_subject(item: FollowUpItem) -> str:
    if item.agreement is not None:
        return f"{item.agreement.reference} {item.agreement.provider.name}"
    return item.service_area.name if item.service_area else ""


def feedback_to(item: FollowUpItem) -> str:
    to = [
        (item.feedback_committee, _("nämnden")),
        (item.feedback_provider, _("utföraren")),
        (item.feedback_public, _("allmänheten")),
    ]
    return ", ".join(text for on, text in to if on)


def item_row(item: FollowUpItem) -> list:
    return [
        item.plan.committee.name,
        item.plan.year,
        item_subject(item),
        labels.name(labels.FOLLOW_UP_FORM, item.form),
        item.responsible,
        item.planned_from,
        item.planned_to,
        item.interval,
        feedback_to(item),
        item.focus_areas,
    ]


ITEM_HEADER = [
    _l("Nämnd"),
    _l("År"),
    _l("Vad som följs upp"),
    _l("Form"),
    _l("Ansvarig"),
    _l("Planerad från"),
    _l("Planerad till"),
    _l("Intervall"),
    _l("Återkoppling till"),
    _l("Fokusområden"),
]


# --- list and create ----------------------------------------------------------------------


class PlanForm(FlaskForm):
    committee_id = SelectField(_l("Nämnd"), coerce=record_id)
    year = IntegerField(_l("År"), validators=[DataRequired(), NumberRange(min=2000, max=2100)])
    copy_previous = BooleanField(
        _l("Utgå från föregående års plan"),
        default=True,
        description=_l(
            "Punkterna kopieras med datumen flyttade ett år. Avtal som har upphört tas inte med."
        ),
    )


@bp.get("/uppfoljningsplaner")
def plans():
    committee_id, year, term = int_arg("namnd"), int_arg("ar"), arg("q")
    # A word matches the committee or what an item follows up, its responsible or focus.
    item_matches = FollowUpPlan.items.any(
        search(term, FollowUpItem.responsible, FollowUpItem.focus_areas, FollowUpItem.interval)
    )
    select = (
        sa.select(FollowUpPlan)
        .join(FollowUpPlan.committee)
        .where(in_my_committees(FollowUpPlan.committee_id))
        .where(
            sa.or_(search(term, Committee.name, Committee.code), item_matches)
            if term
            else sa.true()
        )
        .options(selectinload(FollowUpPlan.items))
        .order_by(FollowUpPlan.year.desc(), Committee.name)
    )
    if committee_id:
        select = select.where(FollowUpPlan.committee_id == committee_id)
    if year:
        select = select.where(FollowUpPlan.year == year)
    if wants_csv():
        items = (
            sa.select(FollowUpItem)
            .join(FollowUpItem.plan)
            .where(FollowUpPlan.id.in_(select.with_only_columns(FollowUpPlan.id)))
            .order_by(FollowUpPlan.year.desc(), FollowUpItem.id)
        )
        return csv_response(
            "uppfoljningsplaner", [str(h) for h in ITEM_HEADER], rows_of(items, item_row)
        )
    years = sorted(
        {y for (y,) in db.session.execute(sa.select(FollowUpPlan.year).distinct())}, reverse=True
    )
    return render_template(
        "admin/plans.html",
        page=paginate(select),
        committee_id=committee_id,
        year=year,
        q=term,
        committees=my_committees(),
        year_options=[(y, y) for y in years],
    )


def copy_items(source: FollowUpPlan, target: FollowUpPlan) -> int:
    """Copy ``source``'s items into ``target``, a year later; ended agreements are left out."""
    shift = target.year - source.year
    copied = 0
    for item in source.items:
        if (
            item.agreement is not None
            and item.agreement.ends_on is not None
            and (item.agreement.ends_on < date(target.year, 1, 1))
        ):
            continue
        target.items.append(
            FollowUpItem(
                agreement_id=item.agreement_id,
                service_area_id=item.service_area_id,
                form=item.form,
                responsible=item.responsible,
                planned_from=_shift(item.planned_from, shift),
                planned_to=_shift(item.planned_to, shift),
                interval=item.interval,
                feedback_committee=item.feedback_committee,
                feedback_provider=item.feedback_provider,
                feedback_public=item.feedback_public,
                focus_areas=item.focus_areas,
            )
        )
        copied += 1
    return copied


def _shift(day: date | None, years: int) -> date | None:
    if day is None:
        return None
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


@bp.route("/uppfoljningsplaner/ny", methods=["GET", "POST"])
def plan_new():
    policy.require(Action.REVIEW)
    form = PlanForm()
    form.committee_id.choices = committee_choices(Action.REVIEW)
    if not form.is_submitted():
        form.year.data = today().year + 1 if today().month >= 10 else today().year
    if form.validate_on_submit():
        plan = FollowUpPlan(committee_id=form.committee_id.data, year=form.year.data)
        policy.require(Action.REVIEW, plan)
        exists = db.session.scalar(
            sa.select(FollowUpPlan.id).filter_by(committee_id=plan.committee_id, year=plan.year)
        )
        if exists:
            flash(_("Nämnden har redan en plan för %(year)d.", year=plan.year), "error")
            return redirect(url_for("admin.plan", plan_id=exists))
        copied = 0
        if form.copy_previous.data:
            previous = db.session.scalar(
                sa.select(FollowUpPlan)
                .where(
                    FollowUpPlan.committee_id == plan.committee_id, FollowUpPlan.year < plan.year
                )
                .order_by(FollowUpPlan.year.desc())
            )
            if previous is not None:
                copied = copy_items(previous, plan)
        save(plan, "follow_up_plan.create", copied_items=copied)
        db.session.commit()
        flash(_("Planen är skapad med %(n)d punkter.", n=copied), "success")
        return redirect(url_for("admin.plan", plan_id=plan.id))
    return render_template(
        "admin/form.html",
        form=form,
        heading=_("Ny uppföljningsplan"),
        intro=_(
            "Nämnden antar varje år en plan för vad som följs upp, i vilken form, av vem, "
            "när och hur resultatet återkopplas."
        ),
        cancel=url_for("admin.plans"),
    ), 422 if form.errors else 200


# --- one plan -----------------------------------------------------------------------------


class AdoptForm(FlaskForm):
    adopted_on = DateField(_l("Datum för nämndens beslut"), validators=[DataRequired()])


@bp.route("/uppfoljningsplaner/<int:plan_id>", methods=["GET", "POST"])
def plan(plan_id: int):
    plan = policy.load(FollowUpPlan, plan_id)
    if wants_csv():
        return csv_response(
            f"uppfoljningsplan-{plan.committee.code}-{plan.year}",
            [str(h) for h in ITEM_HEADER],
            (item_row(i) for i in plan.items),
        )
    form = AdoptForm()
    status = 200
    if form.is_submitted():
        policy.require(Action.REVIEW, plan)
        if form.validate_on_submit():
            plan.adopted_on = form.adopted_on.data
            save(plan, "follow_up_plan.adopt")
            db.session.commit()
            flash(_("Beslutsdatumet är sparat."), "success")
            return redirect(url_for("admin.plan", plan_id=plan.id))
        status = 422
    elif plan.adopted_on:
        form.adopted_on.data = plan.adopted_on
    return render_template(
        "admin/plan.html", plan=plan, form=form, subject=item_subject, feedback_to=feedback_to
    ), status


class ItemForm(FlaskForm):
    subject = RadioField(
        _l("Vad följs upp?"),
        choices=labels.select(
            [
                ("service_area", _l("Ett helt verksamhetsområde")),
                ("agreement", _l("Ett avtal")),
            ]
        ),
        default="service_area",
    )
    service_area_id = SelectField(
        _l("Verksamhetsområde"), coerce=record_id, validators=[Optional()]
    )
    agreement_id = SelectField(_l("Avtal"), coerce=record_id, validators=[Optional()])
    form = SelectField(_l("Form"), choices=labels.choices(labels.FOLLOW_UP_FORM))
    responsible = StringField(_l("Ansvarig"), validators=[DataRequired(), Length(max=200)])
    planned_from = DateField(_l("Planerad från"), validators=[Optional()])
    planned_to = DateField(_l("Planerad till"), validators=[Optional()])
    interval = StringField(
        _l("Tidplan eller intervall"),
        validators=[Length(max=100)],
        description=_l("Till exempel: årligen, kvalitetsredovisning senast 31 mars."),
    )
    feedback_committee = BooleanField(_l("Återkoppling till nämnden"))
    feedback_provider = BooleanField(_l("Återkoppling till utföraren"))
    feedback_public = BooleanField(_l("Återkoppling till allmänheten"))
    focus_areas = TextAreaField(
        _l("Fokusområden"),
        validators=[Length(max=2000)],
        description=_l("Till exempel: %(list)s.", list=", ".join(FOCUS_SUGGESTIONS).lower()),
    )

    def validate_planned_to(self, field) -> None:
        if field.data and self.planned_from.data and field.data < self.planned_from.data:
            raise ValidationError(_l("Slutdatum kan inte vara före startdatum."))

    def validate_interval(self, field) -> None:
        if not (field.data or "").strip() and not self.planned_from.data:
            raise ValidationError(_l("Ange planerade datum eller ett intervall."))


def _item_choices(form: ItemForm, plan: FollowUpPlan) -> None:
    areas = db.session.scalars(
        sa.select(ServiceArea)
        .where(ServiceArea.committee_id == plan.committee_id)
        .order_by(ServiceArea.name)
    ).all()
    agreements = db.session.scalars(
        sa.select(Agreement)
        .join(Agreement.provider)
        .where(Agreement.committee_id == plan.committee_id)
        .order_by(Provider.name, Agreement.reference)
    ).all()
    form.service_area_id.choices = labels.select(
        [(0, _("Välj verksamhetsområde"))] + [(a.id, a.name) for a in areas]
    )
    form.agreement_id.choices = labels.select(
        [(0, _("Välj avtal"))]
        + [(a.id, f"{a.provider.name}, {a.reference} ({a.service_area.name})") for a in agreements]
    )


@bp.route("/uppfoljningsplaner/<int:plan_id>/punkter/ny", methods=["GET", "POST"])
@bp.route("/uppfoljningsplaner/<int:plan_id>/punkter/<int:item_id>", methods=["GET", "POST"])
def plan_item_form(plan_id: int, item_id: int | None = None):
    plan = policy.load(FollowUpPlan, plan_id, Action.REVIEW)
    if item_id is not None:
        item = db.session.get(FollowUpItem, item_id)
        if item is None or item.plan_id != plan.id:
            abort(404)
    else:
        item = FollowUpItem(feedback_committee=True, feedback_provider=True)
    form = ItemForm(obj=item)
    _item_choices(form, plan)
    if not form.is_submitted():
        form.subject.data = "agreement" if item.agreement_id else "service_area"
    if form.validate_on_submit():
        chosen = (
            form.agreement_id.data
            if form.subject.data == "agreement"
            else (form.service_area_id.data)
        )
        valid_ids = {
            c.value
            for c in (
                form.agreement_id.choices
                if form.subject.data == "agreement"
                else form.service_area_id.choices
            )
            if c.value
        }
        if chosen not in valid_ids:
            target = (
                form.agreement_id if form.subject.data == "agreement" else (form.service_area_id)
            )
            target.errors.append(_("Välj vad som följs upp."))
        else:
            item.agreement_id = chosen if form.subject.data == "agreement" else None
            item.service_area_id = chosen if form.subject.data == "service_area" else None
            item.form = FollowUpForm(form.form.data)
            item.responsible = form.responsible.data.strip()
            item.planned_from, item.planned_to = form.planned_from.data, form.planned_to.data
            item.interval = (form.interval.data or "").strip()
            item.feedback_committee = form.feedback_committee.data
            item.feedback_provider = form.feedback_provider.data
            item.feedback_public = form.feedback_public.data
            item.focus_areas = (form.focus_areas.data or "").strip()
            item.plan = plan
            if item.id:
                db.session.expire(item, ["agreement", "service_area"])
            save(
                item, "follow_up_item.update" if item_id else "follow_up_item.create", plan=plan.id
            )
            db.session.commit()
            flash(_("Punkten är sparad."), "success")
            return redirect(url_for("admin.plan", plan_id=plan.id))
    return render_template(
        "admin/plan_item_form.html", form=form, plan=plan, item=item
    ), 422 if form.errors else 200


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
    item = db.session.get(FollowUpItem, item_id)
    if item is None or item.plan_id != plan.id:
        abort(404)
    audit.record(
        "follow_up_item.delete",
        item,
        plan=plan.id,
        subject=item_subject(item),
        form=item.form.value,
    )
    plan.items.remove(item)
    db.session.commit()
    flash(_("Punkten är borttagen."), "success")
    return redirect(url_for("admin.plan", plan_id=plan.id))


@bp.post("/uppfoljningsplaner/<int:plan_id>/kopiera")
def plan_copy_previous(plan_id: int):
    plan = policy.load(FollowUpPlan, plan_id, Action.REVIEW)
    previous = db.session.scalar(
        sa.select(FollowUpPlan)
        .where(FollowUpPlan.committee_id == plan.committee_id, FollowUpPlan.year < plan.year)
        .order_by(FollowUpPlan.year.desc())
    )
    if previous is None:
        flash(_("Det finns ingen tidigare plan för nämnden."), "error")
        return redirect(url_for("admin.plan", plan_id=plan.id))
    copied = copy_items(previous, plan)
    audit.record(
        "follow_up_plan.copy",
        plan,
        source=previous.id,
        copied_items=copied,
        actor=current_user._get_current_object(),
    )
    db.session.commit()
    flash(
        _("%(n)d punkter har kopierats från planen för %(year)d.", n=copied, year=previous.year),
        "success",
    )
    return redirect(url_for("admin.plan", plan_id=plan.id))


@bp.get("/uppfoljningsplaner/<int:plan_id>/uppfoljningsplan.docx")
def plan_docx(plan_id: int):
    from portal.documents.follow_up_plan import follow_up_plan_docx

    plan = policy.load(FollowUpPlan, plan_id)
    name = f"uppfoljningsplan-{plan.committee.code}-{plan.year}.docx"
    return Response(
        follow_up_plan_docx(plan),
        mimetype="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )
