"""The registry: committees, service areas, providers and agreements."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, SelectField, StringField, TextAreaField, URLField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from admin import labels
from admin.blueprint import bp, kronor
from admin.fields import AmountField, record_id, valid_org_number
from admin.lists import (
    arg,
    choice_arg,
    csv_response,
    int_arg,
    paginate,
    rows_of,
    search,
    wants_csv,
)
from admin.records import save
from admin.scoping import committee_choices, in_my_committees, my_committees, my_service_areas
from portal import policy
from portal.dates import today
from portal.extensions import db
from portal.models import (
    Agreement,
    Committee,
    Finding,
    Impact,
    InformationRequest,
    Ownership,
    Provider,
    Route,
    ServiceArea,
    Submission,
)
from portal.models.organisation import STRATEGIC_VALUE_HIGH_IMPACT_SEK, STRATEGIC_VALUE_SEK
from portal.policy import Action


def strategic_rule() -> str:
    """The rule for strategic agreements, in the words staff see next to the flag."""
    return _(
        "Ett avtal är strategiskt när det årliga värdet är minst %(value)s, eller när "
        "påverkan är hög och det årliga värdet är minst %(high)s. Handläggaren kan "
        "göra avsteg från regeln i båda riktningarna, men måste då motivera avsteget.",
        value=kronor(STRATEGIC_VALUE_SEK),
        high=kronor(STRATEGIC_VALUE_HIGH_IMPACT_SEK),
    )


# --- committees ---------------------------------------------------------------------------


class CommitteeForm(FlaskForm):
    name = StringField(_l("Namn"), validators=[DataRequired(), Length(max=200)])
    code = StringField(
        _l("Kod i diarienummer"),
        validators=[DataRequired(), Length(min=2, max=12)],
        description=_l("Versaler, till exempel VON. Ingår i diarienumren (VON 2026/17)."),
    )
    # Contact details in the letterhead of the committee's documents (optional).
    postal_address = TextAreaField(
        _l("Postadress"),
        validators=[Length(max=300)],
        filters=[lambda v: "\n".join(filter(None, map(str.strip, (v or "").splitlines()))) or None],
        description=_l(
            "Står i sidfoten på nämndens brev och rapporter. En adressrad per rad, till "
            "exempel Box 123 och 123 45 Exempelby."
        ),
    )
    phone = StringField(
        _l("Telefon"),
        validators=[Optional(), Length(max=40)],
        filters=[lambda v: v.strip() if v else None],
    )
    email = EmailField(
        _l("E-post"),
        validators=[Optional(), Length(max=254)],
        filters=[lambda v: v.strip() if v else None],
    )

    def validate_email(self, field) -> None:
        if field.data and ("@" not in field.data or " " in field.data):
            raise ValidationError(_l("Ange en giltig e-postadress."))

    def validate_code(self, field) -> None:
        field.data = field.data.strip().upper()
        if not field.data.replace("-", "").isalnum():
            raise ValidationError(_l("Använd bara bokstäver och siffror."))


@bp.get("/namnder")
def committees():
    term = arg("q")
    select = (
        sa.select(Committee)
        .where(in_my_committees(Committee.id), search(term, Committee.name, Committee.code))
        .order_by(Committee.name)
    )
    if wants_csv():
        return csv_response(
            "namnder", [_("Namn"), _("Kod")], rows_of(select, lambda c: [c.name, c.code])
        )
    return render_template("admin/committees.html", page=paginate(select), q=term)


@bp.route("/namnder/ny", methods=["GET", "POST"])
@bp.route("/namnder/<int:committee_id>/andra", methods=["GET", "POST"])
def committee_form(committee_id: int | None = None):
    policy.require(Action.ADMINISTER)
    committee = db.get_or_404(Committee, committee_id) if committee_id else Committee()
    form = CommitteeForm(obj=committee)
    if form.validate_on_submit():
        clash = db.session.scalar(
            sa.select(Committee).where(
                sa.or_(Committee.code == form.code.data, Committee.name == form.name.data.strip()),
                Committee.id != (committee.id or 0),
            )
        )
        if clash is not None:
            form.code.errors.append(_("Det finns redan en nämnd med det namnet eller den koden."))
        else:
            committee.name, committee.code = form.name.data.strip(), form.code.data
            committee.postal_address, committee.phone, committee.email = (
                form.postal_address.data,
                form.phone.data,
                form.email.data,
            )
            save(committee, "committee.update" if committee_id else "committee.create")
            db.session.commit()
            flash(_("Nämnden är sparad."), "success")
            return redirect(url_for("admin.committees"))
    return render_template(
        "admin/form.html",
        form=form,
        heading=_("Ändra nämnd") if committee_id else _("Ny nämnd"),
        cancel=url_for("admin.committees"),
    )


# --- service areas ------------------------------------------------------------------------


class ServiceAreaForm(FlaskForm):
    name = StringField(_l("Namn"), validators=[DataRequired(), Length(max=200)])
    committee_id = SelectField(_l("Nämnd"), coerce=record_id)


@bp.get("/verksamhetsomraden")
def service_areas():
    term, committee_id = arg("q"), int_arg("namnd")
    select = (
        sa.select(ServiceArea)
        .join(ServiceArea.committee)
        .where(in_my_committees(ServiceArea.committee_id), search(term, ServiceArea.name))
        .order_by(ServiceArea.name)
    )
    if committee_id:
        select = select.where(ServiceArea.committee_id == committee_id)
    if wants_csv():
        return csv_response(
            "verksamhetsomraden",
            [_("Verksamhetsområde"), _("Nämnd")],
            rows_of(select, lambda a: [a.name, a.committee.name]),
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
    form = ServiceAreaForm(obj=area)
    form.committee_id.choices = committee_choices(Action.ADMINISTER)
    if form.validate_on_submit():
        name = form.name.data.strip()
        clash = db.session.scalar(
            sa.select(ServiceArea).where(ServiceArea.name == name, ServiceArea.id != (area.id or 0))
        )
        if clash is not None:
            form.name.errors.append(_("Det finns redan ett verksamhetsområde med det namnet."))
        else:
            area.name, area.committee_id = name, form.committee_id.data
            save(area, "service_area.update" if area_id else "service_area.create")
            db.session.commit()
            flash(_("Verksamhetsområdet är sparat."), "success")
            return redirect(url_for("admin.service_areas"))
    return render_template(
        "admin/form.html",
        form=form,
        heading=_("Ändra verksamhetsområde") if area_id else _("Nytt verksamhetsområde"),
        cancel=url_for("admin.service_areas"),
    )


# --- providers ----------------------------------------------------------------------------


class ProviderForm(FlaskForm):
    name = StringField(_l("Namn"), validators=[DataRequired(), Length(max=200)])
    org_number = StringField(
        _l("Organisationsnummer"),
        validators=[DataRequired(), valid_org_number],
        description=_l("Tio siffror, NNNNNN-NNNN. Enheter i egen regi har kommunens nummer."),
    )
    ownership = SelectField(_l("Driftform"), choices=labels.choices(labels.OWNERSHIP))
    email = EmailField(
        _l("E-post till utföraren"),
        validators=[Optional(), Length(max=254)],
        filters=[lambda v: v.strip() if v else None],
    )
    website = URLField(
        _l("Webbplats"),
        validators=[Optional(), Length(max=300)],
        filters=[lambda v: v.strip() if v else None],
    )
    description = TextAreaField(_l("Beskrivning"), validators=[Length(max=4000)])

    def validate_email(self, field) -> None:
        if field.data and ("@" not in field.data or " " in field.data):
            raise ValidationError(_l("Ange en giltig e-postadress."))

    def validate_website(self, field) -> None:
        if field.data and not field.data.startswith(("https://", "http://")):
            raise ValidationError(_l("Ange en adress som börjar med https://"))


def _providers_select():
    term, ownership = arg("q"), choice_arg("driftform", Ownership)
    agreements = (
        sa.select(sa.func.count(Agreement.id))
        .where(Agreement.provider_id == Provider.id, in_my_committees(Agreement.committee_id))
        .scalar_subquery()
    )
    select = (
        sa.select(Provider, agreements.label("agreements"))
        .where(search(term, Provider.name, Provider.org_number))
        .order_by(Provider.name, Provider.id)
    )
    if ownership:
        select = select.where(Provider.ownership == Ownership(ownership))
    area_id = int_arg("omrade")
    if area_id:
        select = select.where(
            Provider.agreements.any(
                sa.and_(
                    Agreement.service_area_id == area_id,
                    in_my_committees(Agreement.committee_id),
                )
            )
        )
    return select, term, ownership, area_id


@bp.get("/utforare")
def providers():
    select, term, ownership, area_id = _providers_select()
    if wants_csv():
        rows = (
            [
                p.name,
                p.org_number,
                labels.name(labels.OWNERSHIP, p.ownership),
                p.email,
                p.website,
                n,
            ]
            for p, n in db.session.execute(select)
        )
        return csv_response(
            "utforare",
            [
                _("Namn"),
                _("Organisationsnummer"),
                _("Driftform"),
                _("E-post"),
                _("Webbplats"),
                _("Antal avtal"),
            ],
            rows,
        )
    page = db.paginate(select, page=int_arg("page") or 1, per_page=50, error_out=False)
    # db.paginate with a multi-column select yields the first column only.
    counts = dict(
        db.session.execute(
            sa.select(Agreement.provider_id, sa.func.count())
            .where(
                Agreement.provider_id.in_([p.id for p in page.items]),
                in_my_committees(Agreement.committee_id),
            )
            .group_by(Agreement.provider_id)
        ).all()
    )
    return render_template(
        "admin/providers.html",
        page=page,
        counts=counts,
        q=term,
        ownership=ownership,
        area_id=area_id,
        areas=my_service_areas(),
    )


@bp.get("/utforare/<int:provider_id>")
def provider(provider_id: int):
    provider = policy.load(Provider, provider_id)
    agreements = db.session.scalars(
        sa.select(Agreement)
        .where(Agreement.provider_id == provider.id, in_my_committees(Agreement.committee_id))
        .order_by(Agreement.starts_on.desc())
    ).all()
    return render_template(
        "admin/provider.html", provider=provider, agreements=agreements, today=today()
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
    if form.validate_on_submit():
        form.populate_obj(provider)
        provider.ownership = Ownership(form.ownership.data)
        save(provider, "provider.update" if provider_id else "provider.create")
        db.session.commit()
        flash(_("Utföraren är sparad."), "success")
        return redirect(url_for("admin.provider", provider_id=provider.id))
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

OVERRIDE_CHOICES = [
    ("", _l("Enligt regeln")),
    ("yes", _l("Strategiskt, oavsett regeln")),
    ("no", _l("Inte strategiskt, oavsett regeln")),
]


class AgreementForm(FlaskForm):
    reference = StringField(
        _l("Avtalsnummer"),
        validators=[DataRequired(), Length(max=60)],
        description=_l("Nämndens referens för avtalet, auktorisationen eller uppdraget."),
    )
    provider_id = SelectField(_l("Utförare"), coerce=record_id)
    committee_id = SelectField(_l("Nämnd"), coerce=record_id)
    service_area_id = SelectField(_l("Verksamhetsområde"), coerce=record_id)
    route = SelectField(_l("Avtalsform"), choices=labels.choices(labels.ROUTE))
    starts_on = DateField(_l("Gäller från"), validators=[DataRequired()])
    ends_on = DateField(
        _l("Gäller till"),
        validators=[Optional()],
        description=_l("Lämna tomt om avtalet gäller tills vidare."),
    )
    yearly_value_sek = AmountField(_l("Årligt värde (kr)"), validators=[InputRequired()])
    impact = SelectField(
        _l("Påverkan"),
        choices=labels.choices(labels.IMPACT),
        description=_l("Hur stor påverkan verksamheten har på invånarna och nämndens mål."),
    )
    strategic_override = SelectField(
        _l("Strategiskt avtal"), choices=labels.select(OVERRIDE_CHOICES)
    )
    strategic_override_reason = TextAreaField(
        _l("Motivering till avsteg från regeln"), validators=[Length(max=2000)]
    )
    responsible_officer = StringField(_l("Avtalsansvarig"), validators=[Length(max=200)])
    quality_requirements = TextAreaField(
        _l("Väsentliga kvalitetskrav"),
        validators=[Length(max=10000)],
        description=_l("De krav som följs upp och redovisas i årsrapporten."),
    )

    def validate_ends_on(self, field) -> None:
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_l("Slutdatum kan inte vara före startdatum."))

    def validate_strategic_override_reason(self, field) -> None:
        if self.strategic_override.data and not (field.data or "").strip():
            raise ValidationError(_l("Motivera varför regeln inte ska gälla för avtalet."))

    def validate_service_area_id(self, field) -> None:
        area = db.session.get(ServiceArea, field.data) if field.data is not None else None
        if area is None or area.committee_id != self.committee_id.data:
            raise ValidationError(_l("Välj ett verksamhetsområde som hör till nämnden."))


def _agreements_select():
    f = {
        "q": arg("q"),
        "committee": int_arg("namnd"),
        "area": int_arg("omrade"),
        "route": choice_arg("avtalsform", Route),
        "impact": choice_arg("paverkan", Impact),
        "strategic": choice_arg("strategiskt", ["ja", "nej"]),
        "active": choice_arg("giltiga", ["ja", "nej"]),
        "provider": int_arg("utforare"),
    }
    select = (
        sa.select(Agreement)
        .join(Agreement.provider)
        .where(
            in_my_committees(Agreement.committee_id),
            search(f["q"], Agreement.reference, Provider.name, Agreement.responsible_officer),
        )
        .order_by(Provider.name, Agreement.reference)
    )
    if f["committee"]:
        select = select.where(Agreement.committee_id == f["committee"])
    if f["area"]:
        select = select.where(Agreement.service_area_id == f["area"])
    if f["provider"]:
        select = select.where(Agreement.provider_id == f["provider"])
    if f["route"]:
        select = select.where(Agreement.route == Route(f["route"]))
    if f["impact"]:
        select = select.where(Agreement.impact == Impact(f["impact"]))
    if f["active"]:
        active = sa.or_(Agreement.ends_on.is_(None), Agreement.ends_on >= today())
        select = select.where(active if f["active"] == "ja" else sa.not_(active))
    if f["strategic"]:
        select = select.where(strategic_condition(f["strategic"] == "ja"))
    return select, f


def strategic_condition(wanted: bool = True):
    """SQL for :attr:`Agreement.strategic` (override, else the rule)."""
    by_rule = sa.or_(
        Agreement.yearly_value_sek >= STRATEGIC_VALUE_SEK,
        sa.and_(
            Agreement.impact == Impact.HIGH,
            Agreement.yearly_value_sek >= STRATEGIC_VALUE_HIGH_IMPACT_SEK,
        ),
    )
    strategic = sa.or_(
        Agreement.strategic_override.is_(True),
        sa.and_(Agreement.strategic_override.is_(None), by_rule),
    )
    return strategic if wanted else sa.not_(strategic)


def _agreement_row(a: Agreement) -> list:
    return [
        a.reference,
        a.provider.name,
        a.provider.org_number,
        a.committee.name,
        a.service_area.name,
        labels.name(labels.ROUTE, a.route),
        a.starts_on,
        a.ends_on,
        Decimal(a.yearly_value_sek or 0),
        labels.name(labels.IMPACT, a.impact),
        a.strategic,
        "" if a.strategic_override is None else a.strategic_override_reason,
        a.responsible_officer,
        a.quality_requirements,
    ]


@bp.get("/avtal")
def agreements():
    select, f = _agreements_select()
    if wants_csv():
        return csv_response(
            "avtal",
            [
                _("Avtalsnummer"),
                _("Utförare"),
                _("Organisationsnummer"),
                _("Nämnd"),
                _("Verksamhetsområde"),
                _("Avtalsform"),
                _("Gäller från"),
                _("Gäller till"),
                _("Årligt värde (kr)"),
                _("Påverkan"),
                _("Strategiskt"),
                _("Motivering till avsteg"),
                _("Avtalsansvarig"),
                _("Väsentliga kvalitetskrav"),
            ],
            rows_of(select, _agreement_row),
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
    findings = db.session.scalars(
        sa.select(Finding)
        .where(Finding.agreement_id == agreement.id)
        .order_by(Finding.assessed_on.desc(), Finding.id.desc())
    ).all()
    requests = db.session.scalars(
        sa.select(InformationRequest)
        .where(InformationRequest.agreement_id == agreement.id)
        .order_by(InformationRequest.deadline.desc())
    ).all()
    submissions = db.session.scalars(
        policy.visible_submissions(current_user, sa.select(Submission))
        .where(
            sa.or_(
                Submission.agreement_id == agreement.id,
                Submission.finding_id.in_([f.id for f in findings] or [-1]),
            )
        )
        .order_by(Submission.created_at.desc())
        .limit(50)
    ).all()
    return render_template(
        "admin/agreement.html",
        agreement=agreement,
        findings=findings,
        requests=requests,
        submissions=submissions,
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
    form = AgreementForm(obj=agreement)
    if not form.is_submitted():
        form.strategic_override.data = {None: "", True: "yes", False: "no"}[
            agreement.strategic_override
        ]
    form.provider_id.choices = labels.select(
        (p.id, f"{p.name} ({p.org_number})")
        for p in db.session.scalars(sa.select(Provider).order_by(Provider.name))
    )
    form.committee_id.choices = committee_choices(Action.REVIEW)
    form.service_area_id.choices = labels.select(
        (a.id, f"{a.name} ({a.committee.code})") for a in my_service_areas(Action.REVIEW)
    )
    if form.validate_on_submit():
        clash = db.session.scalar(
            sa.select(Agreement.id).where(
                Agreement.committee_id == form.committee_id.data,
                Agreement.reference == form.reference.data.strip(),
                Agreement.id != (agreement.id or 0),
            )
        )
        if clash is not None:
            form.reference.errors.append(_("Nämnden har redan ett avtal med det numret."))
        else:
            # No autoflush: the policy check loads the committee, and an early flush
            # would leave nothing for the audit event's list of changes.
            with db.session.no_autoflush:
                _fill_agreement(agreement, form)
                policy.require(Action.REVIEW, agreement)
                save(agreement, "agreement.update" if agreement_id else "agreement.create")
            db.session.commit()
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


def _fill_agreement(agreement: Agreement, form: AgreementForm) -> None:
    agreement.reference = form.reference.data.strip()
    agreement.provider_id = form.provider_id.data
    agreement.committee_id = form.committee_id.data
    agreement.service_area_id = form.service_area_id.data
    agreement.route = Route(form.route.data)
    agreement.starts_on = form.starts_on.data
    agreement.ends_on = form.ends_on.data
    agreement.yearly_value_sek = form.yearly_value_sek.data
    agreement.impact = Impact(form.impact.data)
    override = {"": None, "yes": True, "no": False}[form.strategic_override.data]
    agreement.strategic_override = override
    agreement.strategic_override_reason = (
        form.strategic_override_reason.data.strip() if override is not None else None
    )
    agreement.responsible_officer = form.responsible_officer.data.strip()
    agreement.quality_requirements = form.quality_requirements.data.strip()
    if agreement.id:
        # Relationships loaded before the ids changed would otherwise shadow them.
        db.session.expire(agreement, ["provider", "committee", "service_area"])
