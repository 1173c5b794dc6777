"""The organisation: provider admins invite colleagues, deactivate them and see who sent what.

An invitation is a row of its own (:class:`~portal.models.Invitation`), listed as invited
until it is accepted or withdrawn. For an address without an account the mail has a signed
link (valid ``INVITATION_MAX_AGE``) that makes the account, once. For an address that
already has an account (another organisation's, the municipality's staff's, a deactivated
one) the mail tells the account holder so instead, and nothing changes in the account.
Whether an address has an account is not the inviter's to learn: the answer, the page, the
resend and the withdrawal are the same either way.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal import audit, mail, policy
from portal.auth.forms import NewPasswordForm
from portal.auth.passwords import hash_password
from portal.auth.session import end_all_sessions, start_session
from portal.auth.tokens import invitation_payload, invitation_token
from portal.extensions import db
from portal.models import AuditAction, Invitation, Role, Submission, SubmissionVersion, User
from portal.models.base import MAX_ID, utcnow
from portal.policy import Action
from portal.provider import bp
from portal.provider.forms import InviteForm
from portal.urls import external_url


def _colleague(user_id: int) -> User:
    return policy.load(User, user_id, Action.MANAGE_COLLEAGUES)


@bp.get("/organisation")
def organisation():
    policy.require(Action.MANAGE_COLLEAGUES)
    # Accounts made when inviting, before migration 0010, are listed as invitations.
    waiting_accounts = sa.select(Invitation.user_id).where(
        Invitation.provider_id == current_user.provider_id,
        Invitation.user_id.is_not(None),
        Invitation.pending_clause(),
    )
    colleagues = db.session.scalars(
        sa.select(User)
        .where(
            User.provider_id == current_user.provider_id,
            sa.or_(User.password_hash.is_not(None), User.id.not_in(waiting_accounts)),
        )
        .order_by(User.active.desc(), User.name, User.email)
    ).all()
    invitations = db.session.scalars(
        sa.select(Invitation)
        .where(Invitation.provider_id == current_user.provider_id, Invitation.pending_clause())
        .order_by(Invitation.created_at, Invitation.id)
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
        invitations=invitations,
        sent=sent,
        counts=counts,
        now=utcnow(),
        max_age=current_app.config["INVITATION_MAX_AGE"],
    )


def _account_for(email: str) -> User | None:
    """The account whose login is ``email`` (however its case was stored), if any."""
    return db.session.scalar(
        sa.select(User).where(sa.func.lower(User.email) == email).order_by(User.id).limit(1)
    )


def _waiting_account(invitation: Invitation) -> User | None:
    """The account an invitation from before migration 0010 made when inviting, while it
    still waits for its password."""
    user = invitation.user
    if invitation.pending and user is not None and user.password_hash is None and user.active:
        return user
    return None


def _pending_invitation(email: str) -> Invitation | None:
    return db.session.scalar(
        sa.select(Invitation)
        .where(
            Invitation.provider_id == current_user.provider_id,
            Invitation.email == email,
            Invitation.pending_clause(),
        )
        .limit(1)
    )


def _own_invitation(invitation_id: int) -> Invitation:
    """One of the organisation's invitations, or 404 (as for what does not exist)."""
    policy.require(Action.MANAGE_COLLEAGUES)
    invitation = db.session.get(Invitation, invitation_id) if 0 < invitation_id <= MAX_ID else None
    if invitation is None:
        abort(404)
    policy.require(Action.MANAGE_COLLEAGUES, invitation.provider)
    return invitation


def _mail_invitation(invitation: Invitation, account: User | None) -> None:
    """Mail the invited address: the link, or, when the address already has an account, a
    notice to the account holder. The two take the same steps; only the mail differs."""
    provider = invitation.provider
    subject = _l("Inbjudan till Insyn för %(provider)s", provider=provider.name)
    inviter = current_user.name or current_user.email
    if account is None or account is _waiting_account(invitation):
        token = invitation_token({"i": invitation.id, "e": invitation.email})
        mail.queue(
            invitation.email,
            subject,
            "invitation",
            name=invitation.name,
            provider=provider,
            inviter=inviter,
            link=external_url("provider.accept_invitation", token=token),
            days=current_app.config["INVITATION_MAX_AGE"] // 86400,
        )
        return
    # Recorded on the account, for the municipality's administrators: the inviter's own
    # trail (the invitation's events) is the same as for a new address.
    audit.record(
        AuditAction.USER_INVITE_EXISTING_ACCOUNT,
        account,
        email=invitation.email,
        provider=invitation.provider_id,
        invitation=invitation.id,
    )
    mail.queue(
        invitation.email,
        subject,
        "invitation_existing_account",
        user=account,
        provider=provider,
        inviter=inviter,
    )


@bp.route("/organisation/bjud-in", methods=["GET", "POST"])
def invite():
    policy.require(Action.MANAGE_COLLEAGUES)
    form = InviteForm()
    if form.validate_on_submit():
        email = form.email.data
        if _pending_invitation(email) is not None:
            form.email.errors.append(
                _(
                    "%(email)s är redan inbjuden. Du kan skicka inbjudan igen från sidan "
                    "Organisation och kollegor.",
                    email=email,
                )
            )
            return render_template("provider/invite.html", form=form), 422
        account = _account_for(email)
        if account is not None and account.provider_id == current_user.provider_id:
            form.email.errors.append(_("%(email)s finns redan i er organisation.", email=email))
            return render_template("provider/invite.html", form=form), 422
        now = utcnow()
        invitation = Invitation(
            provider_id=current_user.provider_id,
            email=email,
            name=form.name.data or "",
            role=Role(form.role.data),
            invited_by_id=current_user.id,
            created_at=now,
            last_sent_at=now,
            times_sent=1,
        )
        db.session.add(invitation)
        db.session.flush()
        audit.record(
            AuditAction.INVITATION_CREATE, invitation, email=email, role=invitation.role.value
        )
        _mail_invitation(invitation, account)
        db.session.commit()
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
    status = 422 if form.errors else 200
    return render_template("provider/invite.html", form=form), status


def _no_longer_pending(invitation: Invitation):
    flash(
        _("Inbjudan till %(email)s är redan använd eller återkallad.", email=invitation.email),
        "error",
    )
    return redirect(url_for("provider.organisation"), 303)


@bp.post("/organisation/inbjudningar/<int:invitation_id>/skicka-igen")
def resend_invitation(invitation_id: int):
    invitation = _own_invitation(invitation_id)
    if not invitation.pending:
        return _no_longer_pending(invitation)
    account = _account_for(invitation.email)
    if (
        account is not None
        and account.provider_id == invitation.provider_id
        and account is not _waiting_account(invitation)
    ):
        # Became a colleague some other way (an administrator made the account): already
        # on this page, nothing to learn.
        flash(_("%(email)s finns redan i er organisation.", email=invitation.email), "error")
        return redirect(url_for("provider.organisation"), 303)
    invitation.last_sent_at = utcnow()
    invitation.times_sent += 1
    audit.record(AuditAction.INVITATION_RESEND, invitation, email=invitation.email)
    _mail_invitation(invitation, account)
    db.session.commit()
    flash(_("En ny inbjudan är skickad till %(email)s.", email=invitation.email), "info")
    return redirect(url_for("provider.organisation"), 303)


@bp.post("/organisation/inbjudningar/<int:invitation_id>/aterkalla")
def withdraw_invitation(invitation_id: int):
    invitation = _own_invitation(invitation_id)
    if not invitation.pending:
        return _no_longer_pending(invitation)
    waiting = _waiting_account(invitation)
    if waiting is not None:
        # The account made when inviting (before 0010) must not be usable either.
        waiting.active = False
        end_all_sessions(waiting)
    invitation.withdrawn_at = utcnow()
    audit.record(AuditAction.INVITATION_WITHDRAW, invitation, email=invitation.email)
    db.session.commit()
    flash(
        _(
            "Inbjudan till %(email)s är återkallad. Länken i e-postmeddelandet fungerar inte "
            "längre.",
            email=invitation.email,
        ),
        "info",
    )
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
        audit.record(AuditAction.USER_DEACTIVATE, user, email=user.email)
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
        audit.record(AuditAction.USER_REACTIVATE, user, email=user.email)
        db.session.commit()
    flash(_("%(who)s är aktiv igen.", who=user.name or user.email), "info")
    return redirect(url_for("provider.organisation"), 303)


# Accepting an invitation (no login) --------------------------------------------------------


class AcceptForm(NewPasswordForm):
    pass


def _invitation_from_token(token: str) -> Invitation | None:
    """The invitation a link was mailed for, unless the link is forged, expired or withdrawn."""
    payload = invitation_payload(token)
    if not isinstance(payload, dict):
        return None
    ident = payload.get("i")
    legacy_user = payload.get("u")
    if isinstance(ident, int) and 0 < ident <= MAX_ID:
        invitation = db.session.get(Invitation, ident)
    elif isinstance(legacy_user, int) and 0 < legacy_user <= MAX_ID:
        # A link mailed before invitations had rows of their own (migration 0010).
        invitation = db.session.scalar(
            sa.select(Invitation)
            .where(
                Invitation.user_id == legacy_user,
                Invitation.provider_id == payload.get("p"),
            )
            .order_by(Invitation.id.desc())
            .limit(1)
        )
    else:
        return None
    if (
        invitation is None
        or invitation.email != str(payload.get("e", "")).lower()
        or invitation.withdrawn_at is not None
    ):
        return None
    return invitation


@bp.route("/inbjudan/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    invitation = _invitation_from_token(token)
    if invitation is None:
        return render_template("provider/invitation_invalid.html"), 410
    made_before = invitation.user  # set when accepted, or made when inviting (before 0010)
    if invitation.accepted_at is not None or (
        made_before is not None and made_before.password_hash is not None
    ):
        flash(_("Inbjudan är redan använd. Logga in med ditt lösenord."), "info")
        return redirect(url_for("auth.login"), 303)
    waiting = _waiting_account(invitation)
    if made_before is not None and waiting is None:
        return render_template("provider/invitation_invalid.html"), 410
    account = _account_for(invitation.email)
    if account is not None and account is not waiting:
        # Only the address's owner has the link: telling them is no leak.
        return render_template("provider/invitation_account_exists.html", invited=invitation), 409
    if current_user.is_authenticated:
        return render_template("provider/invitation_signed_in.html", invited=invitation), 409
    form = AcceptForm(email=invitation.email)
    if form.validate_on_submit():
        name = (request.form.get("name") or "").strip()[:200]
        user = waiting or User(
            email=invitation.email,
            role=invitation.role,
            provider_id=invitation.provider_id,
        )
        user.name = name or user.name or invitation.name
        user.password_hash = hash_password(form.password.data)
        invitation.accepted_at = utcnow()
        invitation.user = user
        db.session.add(user)
        try:
            db.session.flush()
        except sa.exc.IntegrityError:
            # The address got an account meanwhile (another invitation accepted at once).
            db.session.rollback()
            return render_template(
                "provider/invitation_account_exists.html", invited=invitation
            ), 409
        audit.record(
            AuditAction.USER_INVITATION_ACCEPTED, user, actor=user, invitation=invitation.id
        )
        start_session(user)
        flash(_("Välkommen till Insyn, %(who)s!", who=user.name or user.email), "info")
        return redirect(url_for("provider.start"), 303)
    status = 422 if form.errors else 200
    return render_template("provider/accept_invitation.html", form=form, invited=invitation), status
