"""The registry's pages: committees and service areas (administrators keep them),
providers and agreements (reviewers keep them), each a list, a page and a form.

Each view loads through the policy, parses the form and calls one operation of
:mod:`admin.registry.operations` inside :func:`portal.transactions.committed`; a name or
number that is taken comes back as an error on its form field.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from admin.blueprint import bp, kronor
from admin.lists import arg, csv_response, int_arg, paginate, rows_of, wants_csv
from admin.registry import operations, queries
from admin.registry.forms import AgreementForm, CommitteeForm, ProviderForm, ServiceAreaForm
from admin.scoping import my_committees, my_service_areas
from portal import policy
from portal.dates import today
from portal.extensions import db
from portal.models import Agreement, Committee, Impact, Ownership, Provider, Route, ServiceArea
from portal.models.organisation import STRATEGIC_VALUE_HIGH_IMPACT_SEK, STRATEGIC_VALUE_SEK
from portal.policy import Action
from portal.transactions import committed


def strategic_rule() -> str:
    """The rule for strategic agreements, in the words staff see next to the flag."""
    return _(
        "Ett avtal är strategiskt när det årliga värdet är minst %(value)s, eller när "
        "påverkan är hög och det årliga värdet är minst %(high)s. Handläggaren kan "
        "göra avsteg från regeln i båda riktningarna, men måste då motivera avsteget.",
        value=kronor(STRATEGIC_VALUE_SEK),
        high=kronor(STRATEGIC_VALUE_HIGH_IMPACT_SEK),
    )


def _saved(form, save, *args):
    """Run the operation ``save`` with the form's values in one transaction; a taken
    name or number is shown on its field. The saved object, or None when refused."""
    saved = None
    with committed(flash_refusal=False) as done:
        saved = save(*args, **form.values())
    if isinstance(done.refusal, operations.Taken):
        form[done.refusal.field].errors.append(str(done.refusal.message))
    elif done.refusal is not None:
        flash(str(done.refusal.message), "error")
    return saved if done else None


# --- committees ---------------------------------------------------------------------------


@bp.get("/namnder")
def committees():
    term = arg("q")
    select = queries.committees(term)
    if wants_csv():
        return csv_response(
            "namnder", queries.COMMITTEE_COLUMNS, rows_of(select, queries.committee_row)
        )
    return render_template("admin/committees.html", page=paginate(select), q=term)


@bp.route("/namnder/ny", methods=["GET", "POST"])
@bp.route("/namnder/<int:committee_id>/andra", methods=["GET", "POST"])
def committee_form(committee_id: int | None = None):
    policy.require(Action.ADMINISTER)
    committee = db.get_or_404(Committee, committee_id) if committee_id else Committee()
    form = CommitteeForm(obj=committee)
    if form.validate_on_submit() and _saved(form, operations.save_committee, committee):
        flash(_("Nämnden är sparad."), "success")
        return redirect(url_for("admin.committees"))
    return render_template(
        "admin/form.html",
        form=form,
        heading=_("Ändra nämnd") if committee_id else _("Ny nämnd"),
        cancel=url_for("admin.committees"),
    )


# --- service areas ------------------------------------------------------------------------


@bp.get("/verksamhetsomraden")
def service_areas():
    term, committee_id = arg("q"), int_arg("namnd")
    select = queries.service_areas(term, committee_id)
    if wants_csv():
        return csv_response(
            "verksamhetsomraden",
            queries.SERVICE_AREA_COLUMNS,
            rows_of(select, queries.service_area_row),
        )
    return render_template(
        "admin/service_areas.html",
        page=paginate(select),
        q=term,
        committee_id=committee_id,
        committees=my_committees(),
    )


@bp.route("/verksamhetsomraden/ny", methods=["GET", "POST"])
@bp.route("/verksamhetsomraden/<int:area_id>/andra", methods=["GET", "POST"])
def service_area_form(area_id: int | None = None):
    policy.require(Action.ADMINISTER)
    area = db.get_or_404(ServiceArea, area_id) if area_id else ServiceArea()
    form = ServiceAreaForm(obj=area).offer_choices()
    if form.validate_on_submit() and _saved(form, operations.save_service_area, area):
        flash(_("Verksamhetsområdet är sparat."), "success")
        return redirect(url_for("admin.service_areas"))
    return render_template(
        "admin/form.html",
        form=form,
        heading=_("Ändra verksamhetsområde") if area_id else _("Nytt verksamhetsområde"),
        cancel=url_for("admin.service_areas"),
    )


# --- providers ----------------------------------------------------------------------------


@bp.get("/utforare")
def providers():
    f = queries.provider_filters()
    select = queries.providers(f)
    if wants_csv():
        return csv_response("utforare", queries.PROVIDER_COLUMNS, queries.provider_rows(select))
    page = db.paginate(select, page=int_arg("page") or 1, per_page=50, error_out=False)
    return render_template(
        "admin/providers.html",
        page=page,
        counts=queries.agreement_counts(page.items),
        q=f["q"],
        ownership=f["ownership"],
        area_id=f["area"],
        areas=my_service_areas(),
    )


@bp.get("/utforare/<int:provider_id>")
def provider(provider_id: int):
    provider = policy.load(Provider, provider_id)
    return render_template(
        "admin/provider.html",
        provider=provider,
        agreements=queries.agreements_of(provider),
        today=today(),
    )


@bp.route("/utforare/ny", methods=["GET", "POST"])
@bp.route("/utforare/<int:provider_id>/andra", methods=["GET", "POST"])
def provider_form(provider_id: int | None = None):
    if provider_id:
        provider = policy.load(Provider, provider_id, Action.REVIEW)
    else:
        policy.require(Action.REVIEW)
        provider = Provider(ownership=Ownership.PRIVATE)
    form = ProviderForm(obj=provider)
    if form.validate_on_submit() and (saved := _saved(form, operations.save_provider, provider)):
        flash(_("Utföraren är sparad."), "success")
        return redirect(url_for("admin.provider", provider_id=saved.id))
    return render_template(
        "admin/form.html",
        form=form,
        heading=_("Ändra %(name)s", name=provider.name) if provider_id else _("Ny utförare"),
        intro=_(
            "Utförare är gemensamma för alla nämnder: privata, idéburna, kommunala bolag "
            "och verksamhet i egen regi följs upp på samma sätt."
        ),
        cancel=url_for("admin.provider", provider_id=provider_id)
        if provider_id
        else url_for("admin.providers"),
    )


# --- agreements ---------------------------------------------------------------------------


@bp.get("/avtal")
def agreements():
    f = queries.agreement_filters()
    select = queries.agreements(f)
    if wants_csv():
        return csv_response(
            "avtal", queries.AGREEMENT_COLUMNS, rows_of(select, queries.agreement_row)
        )
    return render_template(
        "admin/agreements.html",
        page=paginate(select),
        f=f,
        committees=my_committees(),
        areas=my_service_areas(),
        rule=strategic_rule(),
        today=today(),
    )


@bp.get("/avtal/<int:agreement_id>")
def agreement(agreement_id: int):
    agreement = policy.load(Agreement, agreement_id)
    return render_template(
        "admin/agreement.html",
        agreement=agreement,
        **queries.agreement_history(agreement),
        rule=strategic_rule(),
        today=today(),
    )


@bp.route("/avtal/ny", methods=["GET", "POST"])
@bp.route("/avtal/<int:agreement_id>/andra", methods=["GET", "POST"])
def agreement_form(agreement_id: int | None = None):
    if agreement_id:
        agreement = policy.load(Agreement, agreement_id, Action.REVIEW)
    else:
        policy.require(Action.REVIEW)
        agreement = Agreement(
            starts_on=today(),
            impact=Impact.LOW,
            route=Route.CUSTOMER_CHOICE,
            provider_id=int_arg("utforare"),
        )
    form = AgreementForm.of(agreement)
    if form.validate_on_submit() and _saved(form, operations.save_agreement, agreement):
        flash(_("Avtalet är sparat."), "success")
        return redirect(url_for("admin.agreement", agreement_id=agreement.id))
    return render_template(
        "admin/form.html",
        form=form,
        heading=_("Ändra avtal %(ref)s", ref=agreement.reference)
        if agreement_id
        else _("Nytt avtal"),
        intro=strategic_rule(),
        cancel=url_for("admin.agreement", agreement_id=agreement_id)
        if agreement_id
        else url_for("admin.agreements"),
    )
