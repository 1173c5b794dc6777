"""Information requests (begäran om information): create, follow, extend, letters."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from admin import labels
from admin.answers import answers_of
from admin.blueprint import bp
from admin.fields import record_id
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
from admin.scoping import committee_choices, in_my_committees, my_committees
from portal import policy, workflow
from portal.dates import today
from portal.extensions import db
from portal.models import (
    Agreement,
    Committee,
    CreationKey,
    FieldType,
    InformationRequest,
    Provider,
    RequestField,
    ReviewState,
    ServiceArea,
    Submission,
    SubmissionKind,
)
from portal.policy import Action
from portal.workflow import staff_state_label

MAX_FIELDS = 60
RECIPIENTS = [
    ("agreement", _l("En utförare (via avtal)")),
    ("service_area", _l("Alla utförare inom ett verksamhetsområde")),
    ("committee", _l("Alla utförare med avtal med nämnden")),
]


class FieldRowForm(Form):
    label = StringField(_l("Uppgift"), validators=[Length(max=300)])
    help_text = StringField(_l("Hjälptext"), validators=[Length(max=2000)])
    type = SelectField(_l("Typ av svar"), choices=labels.choices(labels.FIELD_TYPE))
    unit = StringField(_l("Enhet"), validators=[Length(max=30)])
    required = BooleanField(_l("Obligatorisk"), default=True)
    for_publication = BooleanField(_l("Svaret är avsett att publiceras"), default=True)


class RequestForm(FlaskForm):
    committee_id = SelectField(_l("Nämnd"), coerce=record_id)
    title = StringField(_l("Rubrik"), validators=[DataRequired(), Length(max=300)])
    kind = SelectField(_l("Vad som begärs"), choices=labels.choices(labels.KIND))
    instructions = TextAreaField(
        _l("Instruktioner till utförarna"),
        validators=[Length(max=10000)],
        description=_l("Till exempel vilken period uppgifterna avser och hur de ska lämnas."),
    )
    deadline = DateField(_l("Svara senast"), validators=[DataRequired()])
    recipients = RadioField(
        _l("Mottagare"), choices=labels.select(RECIPIENTS), default="service_area"
    )
    agreement_id = SelectField(_l("Avtal"), coerce=record_id, validators=[Optional()])
    service_area_id = SelectField(
        _l("Verksamhetsområde"), coerce=record_id, validators=[Optional()]
    )
    recurs_yearly = BooleanField(
        _l("Återkommer varje år"),
        description=_l(
            "Bara för en begäran via avtal. Nästa års begäran skapas automatiskt med samma "
            "uppgifter och svarsdag ett år senare, så länge avtalet gäller."
        ),
    )
    fields = FieldList(FormField(FieldRowForm), min_entries=3, max_entries=MAX_FIELDS)

    def validate_deadline(self, field) -> None:
        if field.data and field.data <= today():
            raise ValidationError(_l("Svarsdagen måste vara efter i dag."))

    def validate_recurs_yearly(self, field) -> None:
        if field.data and self.recipients.data != "agreement":
            raise ValidationError(_l("En återkommande begäran måste gälla ett avtal."))

    def validate_agreement_id(self, field) -> None:
        if self.recipients.data == "agreement":
            agreement = db.session.get(Agreement, field.data or 0)
            if agreement is None or agreement.committee_id != self.committee_id.data:
                raise ValidationError(_l("Välj ett avtal som nämnden har."))

    def validate_service_area_id(self, field) -> None:
        if self.recipients.data == "service_area":
            area = db.session.get(ServiceArea, field.data or 0)
            if area is None or area.committee_id != self.committee_id.data:
                raise ValidationError(_l("Välj ett verksamhetsområde som hör till nämnden."))

    def validate_fields(self, field) -> None:
        if not self.filled_rows():
            raise ValidationError(_l("Ange minst en uppgift som utförarna ska lämna."))

    def filled_rows(self) -> list[FieldRowForm]:
        return [row.form for row in self.fields if (row.form.label.data or "").strip()]


def active_agreements(committee_id: int, on=None):
    on = on or today()
    return sa.select(Agreement).where(
        Agreement.committee_id == committee_id,
        Agreement.starts_on <= on + timedelta(days=366),
        sa.or_(Agreement.ends_on.is_(None), Agreement.ends_on >= on),
    )


def recipients_of(form: RequestForm) -> list[Provider]:
    """The providers a request as described by ``form`` goes to, one each."""
    if form.recipients.data == "agreement":
        agreement = db.session.get(Agreement, form.agreement_id.data or 0)
        return [agreement.provider] if agreement else []
    agreements = active_agreements(form.committee_id.data)
    if form.recipients.data == "service_area":
        agreements = agreements.where(Agreement.service_area_id == form.service_area_id.data)
    provider_ids = agreements.with_only_columns(Agreement.provider_id).distinct()
    return list(
        db.session.scalars(
            sa.select(Provider).where(Provider.id.in_(provider_ids)).order_by(Provider.name)
        )
    )


def _setup(form: RequestForm) -> None:
    form.committee_id.choices = committee_choices(Action.REVIEW)
    committees = [c.value for c in form.committee_id.choices]
    agreements = db.session.scalars(
        sa.select(Agreement)
        .join(Agreement.provider)
        .where(Agreement.committee_id.in_(committees or [-1]))
        .where(sa.or_(Agreement.ends_on.is_(None), Agreement.ends_on >= today()))
        .order_by(Provider.name, Agreement.reference)
    ).all()
    form.agreement_id.choices = labels.select(
        [(0, _("Välj avtal"))]
        + [(a.id, f"{a.provider.name}, {a.reference} ({a.service_area.name})") for a in agreements]
    )
    areas = db.session.scalars(
        sa.select(ServiceArea)
        .where(ServiceArea.committee_id.in_(committees or [-1]))
        .order_by(ServiceArea.name)
    ).all()
    form.service_area_id.choices = labels.select(
        [(0, _("Välj verksamhetsområde"))]
        + [(a.id, f"{a.name} ({a.committee.code})") for a in areas]
    )


def _build(form: RequestForm) -> InformationRequest:
    agreement = (
        db.session.get(Agreement, form.agreement_id.data)
        if form.recipients.data == "agreement"
        else None
    )
    area_id = (
        agreement.service_area_id
        if agreement
        else form.service_area_id.data
        if form.recipients.data == "service_area"
        else None
    )
    fields = []
    for position, row in enumerate(form.filled_rows(), 1):
        field_type = FieldType(row.type.data)
        fields.append(
            RequestField(
                position=position,
                label=row.label.data.strip(),
                help_text=(row.help_text.data or "").strip(),
                type=field_type,
                unit=(row.unit.data or "").strip()
                if field_type == FieldType.NUMBER
                else ("%" if field_type == FieldType.PERCENTAGE else ""),
                required=bool(row.required.data),
                for_publication=bool(row.for_publication.data),
            )
        )
    return InformationRequest(
        committee=db.session.get(Committee, form.committee_id.data),
        title=form.title.data.strip(),
        instructions=(form.instructions.data or "").strip(),
        kind=SubmissionKind(form.kind.data),
        deadline=form.deadline.data,
        service_area_id=area_id or None,
        agreement=agreement,
        recurs_yearly=bool(form.recurs_yearly.data) and agreement is not None,
        fields=fields,
    )


_FORM_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")


def one_time_key() -> str:
    """The one-time key of a form that creates something (kept while the form is re-shown):
    a second post of the same form finds what the first created instead of creating more."""
    key = request.form.get("form_key", "")
    return key if _FORM_KEY.fullmatch(key) else secrets.token_urlsafe(24)


def submission_of_this_form() -> Submission | None:
    """The submission an earlier post of this very form created, if one did."""
    key = request.form.get("form_key", "")
    known = db.session.get(CreationKey, key) if _FORM_KEY.fullmatch(key) else None
    return db.session.get(Submission, known.submission_id) if known is not None else None


def remember_this_form(submission: Submission) -> None:
    """Tie this form's key to ``submission``; IntegrityError when another post was first."""
    key = request.form.get("form_key", "")
    if _FORM_KEY.fullmatch(key):
        db.session.add(CreationKey(key=key, submission_id=submission.id))
        db.session.flush()


def _request_form(form: RequestForm, preview=None):
    return render_template(
        "admin/request_form.html", form=form, preview=preview, form_key=one_time_key()
    )


def _issued_by_this_form() -> InformationRequest | None:
    answer = submission_of_this_form()
    return answer.request if answer is not None else None


def _already_issued(issued: InformationRequest):
    flash(_("Begäran %(number)s är redan skickad.", number=issued.registration_number), "info")
    return redirect(url_for("admin.request", request_id=issued.id))


@bp.route("/begaranden/ny", methods=["GET", "POST"])
def request_new():
    policy.require(Action.REVIEW)
    form = RequestForm()
    _setup(form)
    if not form.is_submitted():
        form.deadline.data = today() + timedelta(days=30)
        agreement = db.session.get(Agreement, int_arg("avtal") or 0)
        if agreement is not None and policy.can(current_user, Action.REVIEW, agreement):
            form.recipients.data = "agreement"
            form.committee_id.data = agreement.committee_id
            form.agreement_id.data = agreement.id
        for row in form.fields:
            row.form.required.data = True
            row.form.for_publication.data = True
    action = request.form.get("action", "issue")
    preview = None
    if form.is_submitted() and action == "add_rows":
        for _i in range(3):
            if len(form.fields) < MAX_FIELDS:
                form.fields.append_entry({"required": True, "for_publication": True})
        return _request_form(form)
    if form.validate_on_submit():
        providers = recipients_of(form)
        if not providers:
            form.recipients.errors.append(
                _("Det finns inga utförare med gällande avtal att skicka begäran till.")
            )
        elif action == "preview":
            preview = providers
        else:
            issued = _issued_by_this_form()
            if issued is not None:  # a double click, or the post sent again
                return _already_issued(issued)
            info_request = _build(form)
            policy.require(Action.REVIEW, info_request)
            try:
                answers = workflow.issue_request(info_request, providers, current_user)
                remember_this_form(answers[0])
            except workflow.WorkflowError as exc:
                db.session.rollback()
                flash(str(exc.message), "error")
                return _request_form(form), 422
            except IntegrityError:  # the same form's other post was first
                db.session.rollback()
                issued = _issued_by_this_form()
                if issued is None:
                    raise
                return _already_issued(issued)
            db.session.commit()
            flash(
                _(
                    "Begäran %(number)s är skickad till %(count)d utförare.",
                    number=info_request.registration_number,
                    count=len(providers),
                ),
                "success",
            )
            return redirect(url_for("admin.request", request_id=info_request.id))
    status = 422 if form.errors else 200
    return _request_form(form, preview), status


# --- list ---------------------------------------------------------------------------------


def _requests_select():
    f = {
        "q": arg("q"),
        "committee": int_arg("namnd"),
        "kind": choice_arg("typ", SubmissionKind),
        "recurring": arg("aterkommande") == "ja",
        "open": choice_arg("status", ["oppna", "avslutade"]),
    }
    waiting = (
        sa.select(Submission.id)
        .where(
            Submission.request_id == InformationRequest.id,
            Submission.state.in_(
                [ReviewState.DRAFT, ReviewState.CLARIFICATION_REQUESTED, ReviewState.SUBMITTED]
            ),
        )
        .exists()
    )
    select = (
        sa.select(InformationRequest)
        .where(
            in_my_committees(InformationRequest.committee_id),
            search(f["q"], InformationRequest.registration_number, InformationRequest.title),
        )
        .order_by(InformationRequest.deadline.desc(), InformationRequest.id.desc())
    )
    if f["committee"]:
        select = select.where(InformationRequest.committee_id == f["committee"])
    if f["kind"]:
        select = select.where(InformationRequest.kind == SubmissionKind(f["kind"]))
    if f["recurring"]:
        select = select.where(InformationRequest.recurs_yearly.is_(True))
    if f["open"] == "oppna":
        select = select.where(waiting)
    elif f["open"] == "avslutade":
        select = select.where(~waiting)
    return select, f


def progress(request_ids: list[int]) -> dict[int, dict]:
    """Per request: how many answers there are in each state."""
    out: dict[int, dict] = {i: {} for i in request_ids}
    for request_id, state, count in db.session.execute(
        sa.select(Submission.request_id, Submission.state, sa.func.count())
        .where(Submission.request_id.in_(request_ids or [-1]))
        .group_by(Submission.request_id, Submission.state)
    ):
        out[request_id][state] = count
    return out


@bp.get("/begaranden")
def requests():
    select, f = _requests_select()
    if wants_csv():

        def row(r: InformationRequest) -> list:
            counts = progress([r.id])[r.id]
            return [
                r.registration_number,
                r.title,
                r.committee.name,
                labels.name(labels.KIND, r.kind),
                r.created_at,
                r.deadline,
                r.recurs_yearly,
                sum(counts.values()),
                counts.get(ReviewState.SUBMITTED, 0),
                counts.get(ReviewState.APPROVED, 0),
                counts.get(ReviewState.DRAFT, 0)
                + counts.get(ReviewState.CLARIFICATION_REQUESTED, 0),
            ]

        return csv_response(
            "begaranden",
            [
                _("Diarienummer"),
                _("Rubrik"),
                _("Nämnd"),
                _("Vad som begärs"),
                _("Skickad"),
                _("Svara senast"),
                _("Återkommande"),
                _("Mottagare"),
                _("Att granska"),
                _("Godkända"),
                _("Väntar på svar"),
            ],
            rows_of(select, row),
        )
    page = paginate(select)
    return render_template(
        "admin/requests.html",
        page=page,
        f=f,
        progress=progress([r.id for r in page.items]),
        committees=my_committees(),
        S=ReviewState,
    )


# --- one request --------------------------------------------------------------------------


class ExtendRequestForm(FlaskForm):
    deadline = DateField(_l("Ny svarsdag"), validators=[DataRequired()])
    reason = TextAreaField(
        _l("Skäl till förlängningen"), validators=[DataRequired(), Length(max=2000)]
    )


def _answers_csv(info_request: InformationRequest, submissions: list[Submission]) -> Response:
    fields = info_request.fields
    header = [
        _("Utförare"),
        _("Organisationsnummer"),
        _("Diarienummer"),
        _("Status"),
        _("Svara senast"),
        _("Inskickad"),
    ] + [f"{f.label} ({f.unit})" if f.unit else f.label for f in fields]

    def rows():
        for s in submissions:
            version = s.submitted_versions[-1] if s.submitted_versions else None
            by_key = {a.key: a for a in answers_of(s, version)} if version else {}
            values = []
            for f in fields:
                a = by_key.get(f.key)
                if a is None:
                    values.append("")
                elif f.type == FieldType.FILE:
                    values.append(", ".join(x.display_name for x in a.attachments))
                else:
                    raw = (version.answers or {}).get(f.key, "")
                    values.append(
                        labels.name(labels.YES_NO, raw) if f.type == FieldType.YES_NO else raw
                    )
            yield [
                s.provider.name,
                s.provider.org_number,
                s.registration_number,
                staff_state_label(s.state),
                s.deadline,
                s.submitted_at,
                *values,
            ]

    slug = re.sub(r"[^A-Za-z0-9]+", "-", info_request.registration_number).strip("-")
    return csv_response(f"svar-{slug}", header, rows())


@bp.get("/begaranden/<int:request_id>", endpoint="request")
def request_page(request_id: int):
    info_request = policy.load(InformationRequest, request_id)
    submissions = db.session.scalars(
        sa.select(Submission)
        .join(Submission.provider)
        .where(Submission.request_id == info_request.id)
        .options(joinedload(Submission.provider))
        .order_by(Provider.name)
    ).all()
    if wants_csv():
        return _answers_csv(info_request, submissions)
    return _render_request(info_request, submissions, _extend_form(info_request))


def _extend_form(info_request: InformationRequest, form: ExtendRequestForm | None = None):
    if form is None:
        form = ExtendRequestForm(formdata=None)
        form.deadline.data = max(info_request.deadline, today()) + timedelta(days=14)
    return form


def _render_request(info_request, submissions, extend_form, status: int = 200):
    successor = db.session.scalar(
        sa.select(InformationRequest).where(InformationRequest.previous_id == info_request.id)
    )
    waiting = [s for s in submissions if s.state in workflow.EDITABLE]
    return render_template(
        "admin/request.html",
        r=info_request,
        submissions=submissions,
        waiting=waiting,
        extend_form=extend_form,
        successor=successor,
        today=today(),
    ), status


@bp.get("/begaranden/<int:request_id>/forlang")
def request_extend_page(request_id: int):
    """The extension form's address opened with GET (a reload after an error): the request."""
    policy.load(InformationRequest, request_id)
    return redirect(url_for("admin.request", request_id=request_id) + "#extend-heading", 303)


@bp.post("/begaranden/<int:request_id>/forlang")
def request_extend(request_id: int):
    info_request = policy.load(InformationRequest, request_id, Action.REVIEW)
    form = ExtendRequestForm()
    submissions = db.session.scalars(
        sa.select(Submission).where(Submission.request_id == info_request.id)
    ).all()
    if not form.validate_on_submit():
        return _render_request(info_request, submissions, _extend_form(info_request, form), 422)
    try:
        extended = workflow.extend_request_deadline(
            info_request, current_user, form.deadline.data, form.reason.data.strip()
        )
    except workflow.WorkflowError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        info_request = policy.load(InformationRequest, request_id, Action.REVIEW)
        return _render_request(info_request, submissions, _extend_form(info_request, form), 422)
    db.session.commit()
    flash(
        _(
            "Svarstiden är förlängd till %(date)s för %(count)d utförare.",
            date=form.deadline.data.isoformat(),
            count=len(extended),
        ),
        "success",
    )
    return redirect(url_for("admin.request", request_id=info_request.id))


@bp.get("/begaranden/<int:request_id>/brev.docx")
@bp.get("/begaranden/<int:request_id>/brev/<int:provider_id>.docx")
def request_letter(request_id: int, provider_id: int | None = None):
    from portal.documents.request_letter import request_letter as letter

    info_request = policy.load(InformationRequest, request_id)
    provider = None
    if provider_id is not None:
        provider = db.session.scalar(
            sa.select(Provider)
            .join(Submission, Submission.provider_id == Provider.id)
            .where(Submission.request_id == info_request.id, Provider.id == provider_id)
        )
        if provider is None:
            abort(404)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", info_request.registration_number).strip("-")
    name = f"begaran-{slug}" + (f"-{provider.org_number}" if provider else "") + ".docx"
    return Response(
        letter(info_request, provider),
        mimetype="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )
