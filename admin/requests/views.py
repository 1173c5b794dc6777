"""The information request pages: a new request (with its field-list editor), the list,
one request with its answers, a later deadline for everyone still waiting, the letters.

Each view loads through the policy, parses the form and calls one operation of
:mod:`admin.requests.operations` inside :func:`portal.transactions.committed`. A new
request's form carries a one-time key (:mod:`portal.form_keys`): posted twice, it sends
the request once and the second post shows the request already sent.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from admin.blueprint import bp
from admin.lists import csv_response, int_arg, paginate, rows_of, wants_csv
from admin.requests import exports, fields, operations, queries
from admin.requests.forms import ExtendRequestForm, RequestForm
from admin.scoping import my_committees
from portal import form_keys, policy, workflow
from portal.dates import today
from portal.extensions import db
from portal.models import Agreement, Committee, InformationRequest, ReviewState, User
from portal.policy import Action
from portal.transactions import committed


def _actor() -> User:
    return current_user._get_current_object()


def _request_form(form: RequestForm, preview=None, status: int = 200):
    page = render_template(
        "admin/request_form.html", form=form, preview=preview, form_key=form_keys.for_form()
    )
    return page, status


def _start(form: RequestForm) -> None:
    """A new form: due in 30 days; opened from an agreement (?avtal=), to its provider."""
    form.deadline.data = today() + timedelta(days=30)
    agreement = db.session.get(Agreement, int_arg("avtal") or 0)
    if agreement is not None and policy.can(current_user, Action.REVIEW, agreement):
        form.recipients.data = "agreement"
        form.committee_id.data = agreement.committee_id
        form.agreement_id.data = agreement.id
    fields.tick_new_rows(form)


def _issued(info_request: InformationRequest, created_now: bool, recipients: int):
    if created_now:
        message = _(
            "Begäran %(number)s är skickad till %(count)d utförare.",
            number=info_request.registration_number,
            count=recipients,
        )
        flash(message, "success")
    else:  # a double click, or the post sent again
        number = info_request.registration_number
        flash(_("Begäran %(number)s är redan skickad.", number=number), "info")
    return redirect(url_for("admin.request", request_id=info_request.id))


@bp.route("/begaranden/ny", methods=["GET", "POST"])
def request_new():
    policy.require(Action.REVIEW)
    form = RequestForm()
    if not form.is_submitted():
        _start(form)
        return _request_form(form)
    action = request.form.get("action", "issue")
    if action == "add_rows":
        fields.add_rows(form)
        return _request_form(form)
    if not form.validate():
        return _request_form(form, status=422)
    providers = queries.recipients_of(form)
    if not providers:
        no_one = _("Det finns inga utförare med gällande avtal att skicka begäran till.")
        form.recipients.errors.append(no_one)
        return _request_form(form, status=422)
    if action == "preview":
        return _request_form(form, preview=providers)
    policy.require(Action.REVIEW, db.session.get(Committee, form.committee_id.data))
    with committed() as done:
        info_request, created_now = operations.issue_request(form, providers, _actor())
    if not done:
        return _request_form(form, status=422)
    return _issued(info_request, created_now, len(providers))


@bp.get("/begaranden")
def requests():
    f = queries.filters()
    select = queries.requests_of(f)
    if wants_csv():
        return csv_response("begaranden", exports.list_columns(), rows_of(select, exports.list_row))
    page = paginate(select)
    return render_template(
        "admin/requests.html",
        page=page,
        f=f,
        progress=queries.progress([r.id for r in page.items]),
        committees=my_committees(),
        S=ReviewState,
    )


def _render_request(info_request, extend_form: ExtendRequestForm | None = None, status=200):
    """One request's page; ``extend_form`` when the extension form is shown again."""
    if extend_form is None:
        extend_form = ExtendRequestForm(formdata=None)
        extend_form.deadline.data = max(info_request.deadline, today()) + timedelta(days=14)
    submissions = queries.answers_to(info_request)
    return render_template(
        "admin/request.html",
        r=info_request,
        submissions=submissions,
        waiting=[s for s in submissions if s.state in workflow.EDITABLE],
        extend_form=extend_form,
        successor=queries.successor(info_request),
        today=today(),
    ), status


@bp.get("/begaranden/<int:request_id>", endpoint="request")
def request_page(request_id: int):
    info_request = policy.load(InformationRequest, request_id)
    if wants_csv():
        return exports.answers_csv(info_request, queries.answers_to(info_request))
    return _render_request(info_request)


@bp.get("/begaranden/<int:request_id>/forlang")
def request_extend_page(request_id: int):
    """The extension form's address opened with GET (a reload after an error): the request."""
    policy.load(InformationRequest, request_id)
    return redirect(url_for("admin.request", request_id=request_id) + "#extend-heading", 303)


@bp.post("/begaranden/<int:request_id>/forlang")
def request_extend(request_id: int):
    info_request = policy.load(InformationRequest, request_id, Action.REVIEW)
    form = ExtendRequestForm()
    if not form.validate_on_submit():
        return _render_request(info_request, form, 422)
    with committed() as done:
        extended = operations.extend_deadline(
            info_request, _actor(), form.deadline.data, form.reason.data
        )
    if not done:
        return _render_request(info_request, form, 422)
    message = _(
        "Svarstiden är förlängd till %(date)s för %(count)d utförare.",
        date=form.deadline.data.isoformat(),
        count=len(extended),
    )
    flash(message, "success")
    return redirect(url_for("admin.request", request_id=info_request.id))


@bp.get("/begaranden/<int:request_id>/brev.docx")
@bp.get("/begaranden/<int:request_id>/brev/<int:provider_id>.docx")
def request_letter(request_id: int, provider_id: int | None = None):
    from portal.documents.request_letter import request_letter as letter

    info_request = policy.load(InformationRequest, request_id)
    provider = None
    if provider_id is not None:
        provider = queries.recipient(info_request, provider_id)
        if provider is None:
            abort(404)
    name = exports.letter_name(info_request, provider.org_number if provider else None)
    return Response(
        letter(info_request, provider),
        mimetype=exports.DOCX,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )
