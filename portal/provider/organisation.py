"""The organisation: provider admins invite colleagues, deactivate them and see who sent what.

An invitation creates the account without a password; the signed link (valid
``INVITATION_MAX_AGE``) lets the colleague choose one, once. Until then the
colleague is listed as invited and gets no notifications.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal import audit, mail, policy
from portal.auth.forms import NewPasswordForm
from portal.auth.passwords import hash_password
from portal.auth.session import end_all_sessions, start_session
from portal.auth.tokens import invitation_payload, invitation_token
from portal.extensions import db
from portal.models import Role, Submission, SubmissionVersion, User
from portal.notifications import absolute_url
from portal.policy import Action
from portal.provider import bp
from portal.provider.forms import InviteForm

ROLE_LABELS = {
    Role.PROVIDER_USER: _l("Medarbetare"),
    Role.PROVIDER_ADMIN: _l("Administratör"),
}


def _colleague(user_id: int) -> User:
    return policy.load(User, user_id, Action.MANAGE_COLLEAGUES)


@bp.get("/organisation")
def organisation():
    policy.require(Action.MANAGE_COLLEAGUES)
    colleagues = db.session.scalars(
        sa.select(User)
        .where(User.provider_id == current_user.provider_id)
        .order_by(User.active.desc(), User.name, User.email)
    ).all()
    sent = db.session.execute(
        sa.select(SubmissionVersion, Submission)
        .join(Submission, SubmissionVersion.submission_id == Submission.id)
        .where(
            Submission.provider_id == current_user.provider_id,
            SubmissionVersion.submitted_at.is_not(None),
        )
        .order_by(SubmissionVersion.submitted_at.desc())
        .limit(50)
    ).all()
    counts = dict(
        db.session.execute(
            sa.select(SubmissionVersion.submitted_by_id, sa.func.count())
            .join(Submission, SubmissionVersion.submission_id == Submission.id)
            .where(Submission.provider_id == current_user.provider_id)
            .group_by(SubmissionVersion.submitted_by_id)
        ).all()
    )
    return render_template(
        "provider/organisation.html",
        colleagues=colleagues,
        sent=sent,
        counts=counts,
        role_labels=ROLE_LABELS,
    )


def _send_invitation(user: User) -> None:
    token = invitation_token({"u": user.id, "p": user.provider_id, "e": user.email})
    mail.queue(
        user.email,
        f"Inbjudan till Insyn för {user.provider.name}",
        "invitation",
        user=user,
        provider=user.provider,
        inviter=current_user.name or current_user.email,
        link=absolute_url("provider.accept_invitation", token=token),
        days=current_app.config["INVITATION_MAX_AGE"] // 86400,
    )


@bp.route("/organisation/bjud-in", methods=["GET", "POST"])
def invite():
    policy.require(Action.MANAGE_COLLEAGUES)
    form = InviteForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        existing = db.session.scalar(sa.select(User).filter_by(email=email))
        if existing is not None and existing.provider_id == current_user.provider_id:
            form.email.errors.append(_("%(email)s finns redan i er organisation.", email=email))
            return render_template("provider/invite.html", form=form), 422
        if existing is not None:
            # Whether an address has an account elsewhere is not the inviter's to learn: the
            # same answer as for a new address, and the account holder is told instead.
            audit.record(
                "user.invite_existing_account",
                existing,
                email=email,
                provider=current_user.provider_id,
            )
            mail.queue(
                email,
                f"Inbjudan till Insyn för {current_user.provider.name}",
                "invitation_existing_account",
                user=existing,
                provider=current_user.provider,
                inviter=current_user.name or current_user.email,
            )
            db.session.commit()
            return _invitation_sent(email)
        user = User(
            email=email,
            name=(form.name.data or "").strip(),
            role=Role(form.role.data),
            provider_id=current_user.provider_id,
            password_hash=None,
        )
        db.session.add(user)
        db.session.flush()
        audit.record("user.invite", user, email=email, role=user.role.value)
        _send_invitation(user)
        db.session.commit()
        return _invitation_sent(email)
    status = 422 if form.errors else 200
    return render_template("provider/invite.html", form=form), status


def _invitation_sent(email: str):
    days = current_app.config["INVITATION_MAX_AGE"] // 86400
    flash(
        _(
            "Inbjudan är skickad till %(email)s. Länken gäller i %(days)d dagar.",
            email=email,
            days=days,
        ),
        "info",
    )
    return redirect(url_for("provider.organisation"), 303)


@bp.post("/organisation/kollegor/<int:user_id>/ny-inbjudan")
def resend_invitation(user_id: int):
    user = _colleague(user_id)
    if user.password_hash is not None or not user.active:
        flash(_("%(email)s har redan ett konto som används.", email=user.email), "error")
        return redirect(url_for("provider.organisation"), 303)
    audit.record("user.invite_again", user, email=user.email)
    _send_invitation(user)
    db.session.commit()
    flash(_("En ny inbjudan är skickad till %(email)s.", email=user.email), "info")
    return redirect(url_for("provider.organisation"), 303)


@bp.post("/organisation/kollegor/<int:user_id>/inaktivera")
def deactivate(user_id: int):
    user = _colleague(user_id)
    if user.id == current_user.id:
        flash(_("Du kan inte inaktivera dig själv. Be en annan administratör göra det."), "error")
        return redirect(url_for("provider.organisation"), 303)
    if user.role == Role.PROVIDER_ADMIN and _active_admins() <= 1:
        flash(_("Organisationen måste ha minst en aktiv administratör."), "error")
        return redirect(url_for("provider.organisation"), 303)
    if user.active:
        user.active = False
        end_all_sessions(user)
        audit.record("user.deactivate", user, email=user.email)
        db.session.commit()
    flash(
        _(
            "%(who)s är inaktiverad och kan inte längre logga in. Det hen har skickat in finns "
            "kvar.",
            who=user.name or user.email,
        ),
        "info",
    )
    return redirect(url_for("provider.organisation"), 303)


def _active_admins() -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(User)
        .where(
            User.provider_id == current_user.provider_id,
            User.role == Role.PROVIDER_ADMIN,
            User.active.is_(True),
        )
    )


@bp.post("/organisation/kollegor/<int:user_id>/aktivera")
def reactivate(user_id: int):
    user = _colleague(user_id)
    if not user.active:
        user.active = True
        audit.record("user.reactivate", user, email=user.email)
        db.session.commit()
    flash(_("%(who)s är aktiv igen.", who=user.name or user.email), "info")
    return redirect(url_for("provider.organisation"), 303)


# Accepting an invitation (no login) --------------------------------------------------------


class AcceptForm(NewPasswordForm):
    pass


def _invited(token: str) -> User | None:
    payload = invitation_payload(token)
    if not isinstance(payload, dict):
        return None
    user = db.session.get(User, payload.get("u"))
    if (
        user is None
        or user.email != payload.get("e")
        or user.provider_id != payload.get("p")
        or not user.active
    ):
        return None
    return user


@bp.route("/inbjudan/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    user = _invited(token)
    if user is None:
        return render_template("provider/invitation_invalid.html"), 410
    if user.password_hash is not None:
        flash(_("Inbjudan är redan använd. Logga in med ditt lösenord."), "info")
        return redirect(url_for("auth.login"), 303)
    if current_user.is_authenticated and current_user.id != user.id:
        return render_template("provider/invitation_signed_in.html", invited=user), 409
    form = AcceptForm(email=user.email)
    if form.validate_on_submit():
        name = (request.form.get("name") or "").strip()[:200]
        user.name = name or user.name
        user.password_hash = hash_password(form.password.data)
        audit.record("user.invitation_accepted", user, actor=user)
        start_session(user)
        flash(_("Välkommen till Insyn, %(who)s!", who=user.name or user.email), "info")
        return redirect(url_for("provider.start"), 303)
    status = 422 if form.errors else 200
    return render_template("provider/accept_invitation.html", form=form, invited=user), status
