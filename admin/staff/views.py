"""Staff accounts, for administrators: the list, a new account, and one account's page.

Each view loads (through the policy: administrators only, 404 for everyone else, and
404 for a provider account, which is its organisation's own), parses the form, calls
one operation of :mod:`admin.staff.operations` and commits once.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from admin import labels
from admin.blueprint import bp
from admin.info_requests import one_time_key
from admin.lists import arg, choice_arg, csv_response, int_arg, paginate, rows_of, search, wants_csv
from admin.staff import operations
from admin.staff.forms import NewStaffAccountForm, StaffAccountForm
from portal import policy
from portal.extensions import db
from portal.models import Committee, Role, User
from portal.models.user import user_committee
from portal.policy import Action

STATUS = {
    "aktiva": User.active.is_(True),
    "inaktiverade": User.active.is_(False),
    "utan-losenord": sa.and_(User.active.is_(True), User.password_hash.is_(None)),
}
TWO_FACTOR = {"pa": User.totp_secret.is_not(None), "av": User.totp_secret.is_(None)}


def _actor() -> User:
    return current_user._get_current_object()


def _staff_account(staff_id: int) -> User:
    user = policy.load(User, staff_id, Action.ADMINISTER)
    if not user.role.is_staff:
        abort(404)  # a provider account is its organisation's own
    return user


def _filters() -> dict:
    return {
        "q": arg("q"),
        "role": choice_arg("roll", operations.STAFF_ROLES),
        "committee": int_arg("namnd"),
        "status": choice_arg("status", STATUS),
        "two_factor": choice_arg("tvafaktor", TWO_FACTOR),
    }


def _select(f: dict):
    select = (
        sa.select(User)
        .where(User.role.in_(operations.STAFF_ROLES), search(f["q"], User.name, User.email))
        .options(selectinload(User.committees))
        .order_by(User.active.desc(), User.name, User.email)
    )
    if f["role"]:
        select = select.where(User.role == Role(f["role"]))
    if f["committee"]:
        select = select.where(
            User.id.in_(
                sa.select(user_committee.c.user_id).where(
                    user_committee.c.committee_id == f["committee"]
                )
            )
        )
    if f["status"]:
        select = select.where(STATUS[f["status"]])
    if f["two_factor"]:
        select = select.where(TWO_FACTOR[f["two_factor"]])
    return select


def _committees_of(user: User) -> str:
    return ", ".join(c.code for c in sorted(user.committees, key=lambda c: c.code))


@bp.get("/anvandare")
def staff_users():
    policy.require(Action.ADMINISTER)
    f = _filters()
    select = _select(f)
    if wants_csv():
        return csv_response(
            "anvandare",
            [
                _("Namn"),
                _("E-postadress"),
                _("Behörighet"),
                _("Nämnder"),
                _("Aktiv"),
                _("Tvåfaktorsinloggning"),
                _("Senast inloggad"),
                _("Skapad"),
            ],
            rows_of(
                select,
                lambda u: [
                    u.name,
                    u.email,
                    labels.name(labels.STAFF_ROLE, u.role),
                    _committees_of(u),
                    labels.name(labels.YES_NO, u.active),
                    labels.name(labels.YES_NO, u.totp_secret is not None),
                    u.last_login_at,
                    u.created_at,
                ],
            ),
        )
    without_app = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(User)
        .where(
            User.role.in_(operations.STAFF_ROLES),
            User.active.is_(True),
            User.totp_secret.is_(None),
        )
    )
    committees = db.session.scalars(sa.select(Committee).order_by(Committee.name)).all()
    return render_template(
        "admin/staff_users.html",
        page=paginate(select),
        f=f,
        committees=committees,
        totp_required=operations.staff_totp_required(),
        without_app=without_app,
    )


@bp.post("/anvandare/tvafaktor")
def staff_two_factor():
    policy.require(Action.ADMINISTER)
    wanted = request.form.get("krav")
    if wanted not in ("ja", "nej"):
        flash(_("Välj om tvåfaktorsinloggning ska krävas."), "error")
        return redirect(url_for("admin.staff_users"), 303)
    changed = operations.require_staff_totp(_actor(), wanted == "ja")
    db.session.commit()
    if wanted == "ja":
        message = _(
            "Tvåfaktorsinloggning krävs av all personal. Den som inte har kopplat en app för "
            "engångskoder gör det innan hen kan fortsätta i Insyn."
        )
    else:
        message = _("Tvåfaktorsinloggning är frivillig för personalen.")
    flash(message if changed else _("Inställningen var redan sparad så."), "success")
    return redirect(url_for("admin.staff_users"), 303)


def _offer_committees(form: StaffAccountForm) -> None:
    form.committees.choices = labels.select(
        (c.id, f"{c.name} ({c.code})")
        for c in db.session.scalars(sa.select(Committee).order_by(Committee.name))
    )


def _chosen_committees(form: StaffAccountForm) -> list[Committee]:
    ids = form.committees.data or []
    if not ids:
        return []
    return list(db.session.scalars(sa.select(Committee).where(Committee.id.in_(ids))))


def _refused(form, refused: operations.Refused) -> None:
    db.session.rollback()
    if refused.field is not None:
        form[refused.field].errors.append(str(refused.message))
    else:
        flash(str(refused.message), "error")


@bp.route("/anvandare/ny", methods=["GET", "POST"])
def staff_user_new():
    policy.require(Action.ADMINISTER)
    form = NewStaffAccountForm()
    _offer_committees(form)
    if form.validate_on_submit():
        try:
            user = operations.create(
                _actor(),
                email=form.email.data,
                name=form.name.data,
                role=Role(form.role.data),
                committees=_chosen_committees(form),
                form_key=one_time_key(),
            )
        except operations.AlreadyCreated as done:  # the form posted twice
            db.session.rollback()
            flash(_("Kontot för %(email)s är redan skapat.", email=done.user.email), "info")
            return redirect(url_for("admin.staff_user", staff_id=done.user.id), 303)
        except operations.Refused as refused:
            _refused(form, refused)
        else:
            db.session.commit()
            flash(
                _(
                    "Kontot är skapat. %(email)s har fått ett e-postmeddelande med en länk för "
                    "att välja lösenord.",
                    email=user.email,
                ),
                "success",
            )
            return redirect(url_for("admin.staff_user", staff_id=user.id), 303)
    status = 422 if form.errors else 200
    return render_template("admin/staff_user_new.html", form=form, form_key=one_time_key()), status


@bp.route("/anvandare/<int:staff_id>", methods=["GET", "POST"])
def staff_user(staff_id: int):
    user = _staff_account(staff_id)
    form = StaffAccountForm(obj=user)
    _offer_committees(form)
    if not form.is_submitted():
        form.committees.data = sorted(user.committee_ids)
    if form.validate_on_submit():
        try:
            changed = operations.update(
                _actor(),
                user,
                name=form.name.data,
                role=Role(form.role.data),
                committees=_chosen_committees(form),
            )
        except operations.Refused as refused:
            _refused(form, refused)
        else:
            db.session.commit()
            flash(
                _("Ändringarna är sparade.") if changed else _("Inget var ändrat."),
                "success",
            )
            return redirect(url_for("admin.staff_user", staff_id=user.id), 303)
    status = 422 if form.errors else 200
    return render_template("admin/staff_user.html", user=user, form=form), status


def _back(user: User):
    return redirect(url_for("admin.staff_user", staff_id=user.id), 303)


def _refusal(user: User, refused: operations.Refused):
    db.session.rollback()
    flash(str(refused.message), "error")
    return _back(user)


@bp.post("/anvandare/<int:staff_id>/inaktivera")
def staff_user_deactivate(staff_id: int):
    user = _staff_account(staff_id)
    try:
        operations.deactivate(_actor(), user)
    except operations.Refused as refused:
        return _refusal(user, refused)
    db.session.commit()
    flash(
        _(
            "%(who)s är inaktiverad. Hens inloggningar är avslutade och kontot kan inte logga "
            "in. Det hen har gjort finns kvar.",
            who=str(user),
        ),
        "success",
    )
    return _back(user)


@bp.post("/anvandare/<int:staff_id>/aktivera")
def staff_user_reactivate(staff_id: int):
    user = _staff_account(staff_id)
    operations.reactivate(_actor(), user)
    db.session.commit()
    flash(_("%(who)s är aktiv igen och kan logga in.", who=str(user)), "success")
    return _back(user)


@bp.post("/anvandare/<int:staff_id>/nollstall-tvafaktor")
def staff_user_reset_two_factor(staff_id: int):
    user = _staff_account(staff_id)
    try:
        changed = operations.reset_two_factor(_actor(), user)
    except operations.Refused as refused:
        return _refusal(user, refused)
    db.session.commit()
    if changed:
        flash(
            _(
                "Tvåfaktorsinloggningen för %(who)s är nollställd och hens inloggningar är "
                "avslutade. Vid nästa inloggning kopplar hen en ny app.",
                who=str(user),
            ),
            "success",
        )
    else:
        flash(_("%(who)s har ingen app för engångskoder kopplad.", who=str(user)), "info")
    return _back(user)


@bp.post("/anvandare/<int:staff_id>/skicka-lank")
def staff_user_resend_link(staff_id: int):
    user = _staff_account(staff_id)
    try:
        operations.resend_welcome(_actor(), user)
    except operations.Refused as refused:
        return _refusal(user, refused)
    db.session.commit()
    flash(
        _("En ny länk för att välja lösenord är skickad till %(email)s.", email=user.email),
        "success",
    )
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
