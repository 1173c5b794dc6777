"""Login, logout, password reset, password change and two-factor setup."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from portal import audit, mail
from portal.auth import bp, throttle, two_factor
from portal.auth.forms import (
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    NewPasswordForm,
    TotpForm,
    TotpSetupForm,
)
from portal.auth.passwords import hash_password, verify_password
from portal.auth.session import end_all_sessions, home_for, logout, start_session
from portal.auth.tokens import reset_token, user_from_reset_token, user_from_welcome_token
from portal.extensions import db, limiter
from portal.models import AuditAction, User
from portal.urls import external_url, safe_redirect_target

LOGIN_FAILED = _l("Fel e-postadress eller lösenord.")
GENERIC_RESET = _l(
    "Om adressen hör till ett konto har vi skickat en länk för att välja nytt lösenord. "
    "Länken gäller i en timme."
)


def _failed(response) -> bool:
    return response.status_code != 302


def _next(default: str | None) -> str | None:
    return safe_redirect_target(request.args.get("next"), default)


# Failed current-password checks of a signed-in user (password change, two-factor setup).
_password_checks = limiter.shared_limit(
    "10 per 15 minutes",
    scope="password-check",
    key_func=throttle.signed_in_user,
    methods=["POST"],
    deduct_when=_failed,
)


@bp.route("/logga-in", methods=["GET", "POST"])
@limiter.limit("20 per 5 minutes", methods=["POST"], deduct_when=_failed)
@limiter.limit(
    "5 per 15 minutes", key_func=throttle.address_and_client, methods=["POST"], deduct_when=_failed
)
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        throttle.slow_down(email)
        user = db.session.scalar(db.select(User).filter_by(email=email))
        password_ok = verify_password(user.password_hash if user else None, form.password.data)
        if user is not None and password_ok and user.active:
            if user.totp_secret:
                session["pending_2fa"] = [user.id, user.session_version]
                return redirect(url_for("auth.login_code", next=_next(None)))
            start_session(user)
            return redirect(_next(home_for(user)))
        throttle.count_failure(email)
        audit.record(AuditAction.AUTH_LOGIN_FAILED, actor=None, email=email)
        db.session.commit()
        flash(str(LOGIN_FAILED), "error")
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@bp.route("/logga-in/kod", methods=["GET", "POST"])
@limiter.limit("10 per 5 minutes", methods=["POST"], deduct_when=_failed)
def login_code():
    pending = session.get("pending_2fa")
    user = db.session.get(User, pending[0]) if pending else None
    if user is None or user.session_version != pending[1] or not user.totp_secret:
        return redirect(url_for("auth.login"))
    form = TotpForm()
    if form.validate_on_submit():
        if two_factor.accept_code(user, form.code.data):
            start_session(user)  # commits the used time step too
            return redirect(_next(home_for(user)))
        flash(_("Koden stämmer inte. Kontrollera klockan i din app och försök igen."), "error")
        return render_template("auth/login_code.html", form=form), 401
    return render_template("auth/login_code.html", form=form)


@bp.route("/logga-ut", methods=["POST"])
def logout_view():
    logout()
    flash(_("Du är utloggad."), "info")
    return redirect(url_for("public.index"))


@bp.route("/glomt-losenord", methods=["GET", "POST"])
@limiter.limit("10 per 15 minutes", methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = db.session.scalar(db.select(User).filter_by(email=email))
        # Both paths write and commit, and a job delivers the mail after the response: neither
        # the answer nor its timing tells whether the address has an account.
        if user is not None and user.active:
            link = external_url("auth.reset_password", token=reset_token(user))
            mail.queue(user.email, _l("Välj nytt lösenord i Insyn"), "password_reset", link=link)
            audit.record(AuditAction.AUTH_RESET_REQUESTED, user, actor=user)
        else:
            audit.record(AuditAction.AUTH_RESET_REQUESTED_UNKNOWN, actor=None, email=email)
        db.session.commit()
        flash(str(GENERIC_RESET), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/aterstall/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """A reset link, or the link of a new account (made by an administrator) to choose its
    first password: the same page, each token valid for its own time and once."""
    user = user_from_reset_token(token)
    first = user is None and (user := user_from_welcome_token(token)) is not None
    if user is None:
        flash(_("Länken är ogiltig eller för gammal. Begär en ny."), "error")
        return redirect(url_for("auth.forgot_password"))
    form = NewPasswordForm(email=user.email)
    if form.validate_on_submit():
        if first:
            _set_password(user, form.password.data, AuditAction.AUTH_PASSWORD_CHOSEN)
            flash(_("Lösenordet är valt. Logga in med det."), "info")
        else:
            _set_password(user, form.password.data, AuditAction.AUTH_PASSWORD_RESET)
            flash(_("Lösenordet är bytt. Logga in med det nya lösenordet."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form, first=first, user=user)


@bp.route("/konto/losenord", methods=["GET", "POST"])
@login_required
@_password_checks
def change_password():
    user = current_user._get_current_object()
    form = ChangePasswordForm(email=user.email)
    if form.validate_on_submit():
        if not verify_password(user.password_hash, form.current.data):
            form.current.errors.append(_("Det nuvarande lösenordet stämmer inte."))
        else:
            _set_password(user, form.password.data, AuditAction.AUTH_PASSWORD_CHANGED)
            start_session(user)
            flash(_("Lösenordet är bytt. Dina andra inloggningar har avslutats."), "info")
            return redirect(home_for(user))
    return render_template("auth/change_password.html", form=form)


def _set_password(user: User, password: str, action: AuditAction) -> None:
    user.password_hash = hash_password(password)
    end_all_sessions(user)
    audit.record(action, user, actor=user)
    db.session.commit()


@bp.route("/konto/tvafaktor", methods=["GET", "POST"])
@login_required
@_password_checks
def totp_setup():
    """Set up, or replace, the app for one-time codes: the current password is asked for
    either way, so a session left open cannot move someone's second factor."""
    user = current_user._get_current_object()
    if not user.role.is_staff:
        abort(404)
    secret = two_factor.candidate_secret(user)
    db.session.commit()
    form = TotpSetupForm()
    if form.validate_on_submit():
        if not verify_password(user.password_hash, form.current.data):
            form.current.errors.append(_("Det nuvarande lösenordet stämmer inte."))
        elif two_factor.accept_code(user, form.code.data, secret):
            replaced = user.totp_secret is not None
            user.totp_secret, user.totp_pending_secret = secret, None
            action = AuditAction.AUTH_TOTP_REPLACED if replaced else AuditAction.AUTH_TOTP_ENABLED
            audit.record(action, user, actor=user)
            db.session.commit()
            flash(_("Tvåfaktorsinloggning är aktiverad."), "info")
            return redirect(home_for(user))
        else:
            form.code.errors.append(_("Koden stämmer inte. Försök igen med nästa kod i appen."))
    uri = two_factor.provisioning_uri(user, secret)
    return render_template(
        "auth/totp_setup.html",
        form=form,
        secret=secret,
        uri=uri,
        replacing=user.totp_secret is not None,
    )


@bp.route("/sprak/<code>", methods=["POST"])
def set_language(code: str):
    if code in ("sv", "en"):
        session["lang"] = code
    return redirect(_next(url_for("public.index")))
