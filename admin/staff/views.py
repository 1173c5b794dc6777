"""Staff accounts, for administrators: the list, a new account, and one account's page.

Each view loads (through the policy: administrators only, 404 for everyone else, and
404 for a provider account, which is its organisation's own), parses the form and calls
one operation of :mod:`admin.staff.operations` in :func:`portal.transactions.committed`;
a refusal comes back on the form field it names, or as a message.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from admin.blueprint import bp
from admin.lists import csv_response, paginate, rows_of, wants_csv
from admin.staff import operations, queries
from admin.staff.forms import NewStaffAccountForm, StaffAccountForm
from portal import form_keys, policy
from portal.extensions import db
from portal.models import Committee, User
from portal.policy import Action
from portal.transactions import committed


def _actor() -> User:
    return current_user._get_current_object()


def _staff_account(staff_id: int) -> User:
    user = policy.load(User, staff_id, Action.ADMINISTER)
    if not user.role.is_staff:
        abort(404)  # a provider account is its organisation's own
    return user


def _back(user: User):
    return redirect(url_for("admin.staff_user", staff_id=user.id), 303)


@bp.get("/anvandare")
def staff_users():
    policy.require(Action.ADMINISTER)
    f = queries.filters()
    select = queries.staff_accounts(f)
    if wants_csv():
        return csv_response("anvandare", queries.COLUMNS, rows_of(select, queries.row))
    return render_template(
        "admin/staff_users.html",
        page=paginate(select),
        f=f,
        committees=db.session.scalars(sa.select(Committee).order_by(Committee.name)).all(),
        totp_required=operations.staff_totp_required(),
        without_app=queries.without_app(),
    )


@bp.post("/anvandare/tvafaktor")
def staff_two_factor():
    policy.require(Action.ADMINISTER)
    wanted = request.form.get("krav")
    if wanted not in ("ja", "nej"):
        flash(_("Välj om tvåfaktorsinloggning ska krävas."), "error")
        return redirect(url_for("admin.staff_users"), 303)
    with committed():
        changed = operations.require_staff_totp(_actor(), wanted == "ja")
    if not changed:
        message = _("Inställningen var redan sparad så.")
    elif wanted == "ja":
        message = _(
            "Tvåfaktorsinloggning krävs av all personal. Den som inte har kopplat en app för "
            "engångskoder gör det innan hen kan fortsätta i Insyn."
        )
    else:
        message = _("Tvåfaktorsinloggning är frivillig för personalen.")
    flash(message, "success")
    return redirect(url_for("admin.staff_users"), 303)


def _show_refusal(form, refusal: operations.Refused) -> None:
    """The refusal on the form field it names, else as a message at the top."""
    if refusal.field is not None:
        form[refusal.field].errors.append(str(refusal.message))
    else:
        flash(str(refusal.message), "error")


def _created(user: User, created_now: bool):
    if created_now:
        message = _(
            "Kontot är skapat. %(email)s har fått ett e-postmeddelande med en länk för "
            "att välja lösenord.",
            email=user.email,
        )
        flash(message, "success")
    else:  # the form was posted twice: the first post made the account
        flash(_("Kontot för %(email)s är redan skapat.", email=user.email), "info")
    return _back(user)


@bp.route("/anvandare/ny", methods=["GET", "POST"])
def staff_user_new():
    policy.require(Action.ADMINISTER)
    form = NewStaffAccountForm().offering()
    if form.validate_on_submit():
        with committed(flash_refusal=False) as done:
            user, created_now = operations.create(_actor(), email=form.email.data, **form.values())
        if done:
            return _created(user, created_now)
        _show_refusal(form, done.refusal)
    status = 422 if form.errors else 200
    page = render_template("admin/staff_user_new.html", form=form, form_key=form_keys.for_form())
    return page, status


@bp.route("/anvandare/<int:staff_id>", methods=["GET", "POST"])
def staff_user(staff_id: int):
    user = _staff_account(staff_id)
    form = StaffAccountForm(obj=user).offering()
    if not form.is_submitted():
        form.committees.data = sorted(user.committee_ids)
    if form.validate_on_submit():
        with committed(flash_refusal=False) as done:
            changed = operations.update(_actor(), user, **form.values())
        if done:
            flash(_("Ändringarna är sparade.") if changed else _("Inget var ändrat."), "success")
            return _back(user)
        _show_refusal(form, done.refusal)
    status = 422 if form.errors else 200
    return render_template("admin/staff_user.html", user=user, form=form), status


@bp.post("/anvandare/<int:staff_id>/inaktivera")
def staff_user_deactivate(staff_id: int):
    user = _staff_account(staff_id)
    with committed() as done:
        operations.deactivate(_actor(), user)
    if done:
        message = _(
            "%(who)s är inaktiverad. Hens inloggningar är avslutade och kontot kan inte logga "
            "in. Det hen har gjort finns kvar.",
            who=str(user),
        )
        flash(message, "success")
    return _back(user)


@bp.post("/anvandare/<int:staff_id>/aktivera")
def staff_user_reactivate(staff_id: int):
    user = _staff_account(staff_id)
    with committed():
        operations.reactivate(_actor(), user)
    flash(_("%(who)s är aktiv igen och kan logga in.", who=str(user)), "success")
    return _back(user)


@bp.post("/anvandare/<int:staff_id>/nollstall-tvafaktor")
def staff_user_reset_two_factor(staff_id: int):
    user = _staff_account(staff_id)
    with committed() as done:
        changed = operations.reset_two_factor(_actor(), user)
    if done and changed:
        message = _(
            "Tvåfaktorsinloggningen för %(who)s är nollställd och hens inloggningar är "
            "avslutade. Vid nästa inloggning kopplar hen en ny app.",
            who=str(user),
        )
        flash(message, "success")
    elif done:
        flash(_("%(who)s har ingen app för engångskoder kopplad.", who=str(user)), "info")
    return _back(user)


@bp.post("/anvandare/<int:staff_id>/skicka-lank")
def staff_user_resend_link(staff_id: int):
    user = _staff_account(staff_id)
    with committed() as done:
        operations.resend_welcome(_actor(), user)
    if done:
        message = _(
            "En ny länk för att välja lösenord är skickad till %(email)s.", email=user.email
        )
        flash(message, "success")
    return _back(user)


# The addresses of the buttons above, opened with GET (a reload, a bookmark, the language
# switch): the page the button is on, with nothing done; never 405.
@bp.get("/anvandare/tvafaktor")
def staff_two_factor_page():
    policy.require(Action.ADMINISTER)
    return redirect(url_for("admin.staff_users"), 303)


@bp.get("/anvandare/<int:staff_id>/inaktivera")
@bp.get("/anvandare/<int:staff_id>/aktivera")
@bp.get("/anvandare/<int:staff_id>/nollstall-tvafaktor")
@bp.get("/anvandare/<int:staff_id>/skicka-lank")
def staff_user_action_page(staff_id: int):
    return _back(_staff_account(staff_id))
