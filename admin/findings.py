"""Findings (iakttagelser) on agreements, and the action plans they require."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from wtforms import BooleanField, DateField, RadioField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from admin import labels
from admin.blueprint import bp
from admin.info_requests import one_time_key, remember_this_form, submission_of_this_form
from admin.lists import arg, choice_arg, csv_response, int_arg, paginate, rows_of, search, wants_csv
from admin.scoping import in_my_committees, my_committees
from portal import policy, workflow
from portal.dates import today
from portal.extensions import db
from portal.models import Agreement, Finding, Provider
from portal.policy import Action
from portal.workflow import staff_state_label


class FindingForm(FlaskForm):
    assessed_on = DateField(_l("Bedömningsdatum"), validators=[DataRequired()])
    meets_requirements = RadioField(
        _l("Uppfyller utföraren de väsentliga kvalitetskraven?"),
        choices=labels.select([("yes", _l("Ja")), ("no", _l("Nej"))]),
        validators=[InputRequired(message=_l("Välj ja eller nej."))],
    )
    deficiencies = TextAreaField(
        _l("Brister som har iakttagits"),
        validators=[Length(max=10000)],
        description=_l("Beskriv varje brist så att utföraren kan åtgärda den."),
    )
    goal_effect = TextAreaField(
        _l("Hur bristerna påverkar nämndens måluppfyllelse"), validators=[Length(max=10000)]
    )
    require_plan = BooleanField(_l("Utföraren ska lämna en åtgärdsplan"))
    plan_due = DateField(_l("Åtgärdsplanen ska lämnas senast"), validators=[Optional()])

    def validate_assessed_on(self, field) -> None:
        if field.data and field.data > today():
            raise ValidationError(_l("Bedömningen kan inte vara gjord i framtiden."))

    def validate_deficiencies(self, field) -> None:
        if self.meets_requirements.data == "no" and not (field.data or "").strip():
            raise ValidationError(_l("Beskriv bristerna när kraven inte uppfylls."))

    def validate_plan_due(self, field) -> None:
        if self.require_plan.data:
            if not field.data:
                raise ValidationError(_l("Ange när åtgärdsplanen ska lämnas."))
            if field.data <= today():
                raise ValidationError(_l("Datumet måste vara efter i dag."))


@bp.route("/avtal/<int:agreement_id>/iakttagelser/ny", methods=["GET", "POST"])
def finding_new(agreement_id: int):
    agreement = policy.load(Agreement, agreement_id, Action.REVIEW)
    form = FindingForm()
    if not form.is_submitted():
        form.assessed_on.data = today()
        form.plan_due.data = today() + timedelta(days=30)
    if form.validate_on_submit():
        earlier = submission_of_this_form()
        if earlier is not None:  # a double click: the plan (and its finding) exist already
            return _already_recorded(agreement)
        finding = Finding(
            agreement=agreement,
            assessed_on=form.assessed_on.data,
            meets_requirements=form.meets_requirements.data == "yes",
            deficiencies=(form.deficiencies.data or "").strip(),
            goal_effect=(form.goal_effect.data or "").strip(),
            action_plan_due=form.plan_due.data if form.require_plan.data else None,
        )
        try:
            plan = workflow.record_finding(finding, current_user)
            if plan is not None:
                remember_this_form(plan)
        except workflow.WorkflowError as exc:
            db.session.rollback()
            flash(str(exc.message), "error")
            return _finding_form(form, agreement), 422
        except IntegrityError:  # the same form's other post was first
            db.session.rollback()
            if submission_of_this_form() is None:
                raise
            return _already_recorded(agreement)
        db.session.commit()
        if plan is not None:
            flash(
                _(
                    "Iakttagelsen är registrerad och en åtgärdsplan är begärd av %(name)s.",
                    name=agreement.provider.name,
                ),
                "success",
            )
        else:
            flash(_("Iakttagelsen är registrerad."), "success")
        return redirect(url_for("admin.agreement", agreement_id=agreement.id))
    status = 422 if form.errors else 200
    return _finding_form(form, agreement), status


def _finding_form(form, agreement: Agreement):
    return render_template(
        "admin/finding_form.html", form=form, agreement=agreement, form_key=one_time_key()
    )


def _already_recorded(agreement: Agreement):
    flash(_("Iakttagelsen är redan registrerad och åtgärdsplanen begärd."), "info")
    return redirect(url_for("admin.agreement", agreement_id=agreement.id))


def _findings_select():
    f = {
        "q": arg("q"),
        "committee": int_arg("namnd"),
        "meets": choice_arg("uppfyller", ["ja", "nej"]),
        "year": int_arg("ar"),
    }
    select = (
        sa.select(Finding)
        .join(Finding.agreement)
        .join(Agreement.provider)
        .where(
            in_my_committees(Agreement.committee_id),
            search(f["q"], Provider.name, Agreement.reference, Finding.deficiencies),
        )
        .options(joinedload(Finding.agreement).joinedload(Agreement.provider))
        .order_by(Finding.assessed_on.desc(), Finding.id.desc())
    )
    if f["committee"]:
        select = select.where(Agreement.committee_id == f["committee"])
    if f["meets"]:
        select = select.where(Finding.meets_requirements.is_(f["meets"] == "ja"))
    if f["year"] and 1900 < f["year"] < 3000:
        select = select.where(
            Finding.assessed_on >= date(f["year"], 1, 1),
            Finding.assessed_on <= date(f["year"], 12, 31),
        )
    return select, f


def _plan_status(finding: Finding) -> str:
    return ", ".join(
        f"{p.registration_number or ''} {staff_state_label(p.state)}".strip()
        for p in finding.action_plans
    )


@bp.get("/iakttagelser")
def findings():
    select, f = _findings_select()
    if wants_csv():
        return csv_response(
            "iakttagelser",
            [
                _("Bedömd"),
                _("Avtal"),
                _("Utförare"),
                _("Nämnd"),
                _("Verksamhetsområde"),
                _("Kraven uppfylls"),
                _("Brister"),
                _("Påverkan på måluppfyllelse"),
                _("Åtgärdsplan senast"),
                _("Åtgärdsplanens status"),
            ],
            rows_of(
                select,
                lambda x: [
                    x.assessed_on,
                    x.agreement.reference,
                    x.agreement.provider.name,
                    x.agreement.committee.name,
                    x.agreement.service_area.name,
                    x.meets_requirements,
                    x.deficiencies,
                    x.goal_effect,
                    x.action_plan_due,
                    _plan_status(x),
                ],
            ),
        )
    return render_template(
        "admin/findings.html",
        page=paginate(select),
        f=f,
        committees=my_committees(),
        year_options=[(y, y) for y in range(today().year, today().year - 6, -1)],
    )
