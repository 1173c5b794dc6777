"""Provider admins invite colleagues (signed, expiring, single-use links) and deactivate them."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEvent, Invitation, Role, User
from tests.conftest import text_of
from tests.factories import PASSWORD

NEW_PASSWORD = "Vår-nya-kollega-2026-hemtjänst"


def invite(client, email="ny.kollega@org-a.example", role="provider_user", name="Ny Kollega"):
    return client.post(
        "/utforare/organisation/bjud-in", data={"email": email, "name": name, "role": role}
    )


def link_in(mail) -> str:
    (url,) = re.findall(r"https?://\S+/utforare/inbjudan/\S+", mail.body)
    return urlsplit(url).path


def invitation_to(email: str) -> Invitation:
    return db.session.scalar(sa.select(Invitation).filter_by(email=email))


def account_of(email: str) -> User | None:
    return db.session.scalar(sa.select(User).filter_by(email=email))


def test_invitation_is_mailed_accepted_and_used_once(client, w, smtp_server):
    client.login(w.admin_a)
    response = invite(client)
    assert response.status_code == 303
    invitation = invitation_to("ny.kollega@org-a.example")
    assert invitation.provider_id == w.org_a.id and invitation.role == Role.PROVIDER_USER
    assert invitation.pending and invitation.invited_by_id == w.admin_a.id
    assert account_of("ny.kollega@org-a.example") is None  # made when accepted
    page = text_of(client.get("/utforare/organisation"))
    assert "ny.kollega@org-a.example" in page and "Inbjuden, har inte valt lösenord än" in page

    (mail,) = smtp_server.to("ny.kollega@org-a.example")
    assert mail.subject == "Inbjudan till Insyn för Org A AB"
    assert "gäller i 7 dagar" in mail.body
    path = link_in(mail)
    client.post("/logga-ut", data={})

    form = client.get(path)
    assert form.status_code == 200 and "Org A AB" in text_of(form)
    weak = client.post(path, data={"name": "Nora", "password": "kort", "confirm": "kort"})
    assert weak.status_code == 422 and "minst 12 tecken" in text_of(weak)
    accepted = client.post(
        path, data={"name": "Nora Nyberg", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert accepted.status_code == 303 and accepted.location.endswith("/utforare/")
    assert "Välkommen till Insyn, Nora Nyberg!" in text_of(client.get("/utforare/"))
    invited = account_of("ny.kollega@org-a.example")
    assert invited.name == "Nora Nyberg" and invited.password_hash is not None
    assert invited.provider_id == w.org_a.id and invited.role == Role.PROVIDER_USER
    db.session.refresh(invitation)
    assert invitation.accepted_at is not None and invitation.user_id == invited.id

    # The link works once.
    client.post("/logga-ut", data={})
    again = client.get(path)
    assert again.status_code == 303 and "/logga-in" in again.location
    client.login(invited, NEW_PASSWORD)
    assert client.get("/utforare/").status_code == 200
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(
            AuditEvent.object_type == "user", AuditEvent.object_id == invited.id
        )
    ).all()
    assert "user.invitation_accepted" in actions
    assert (
        db.session.scalar(
            sa.select(AuditEvent.action).where(
                AuditEvent.object_type == "invitation", AuditEvent.object_id == invitation.id
            )
        )
        == "invitation.create"
    )


@pytest.fixture
def short_invitations(app_config):
    app_config["INVITATION_MAX_AGE"] = 1


def test_expired_invitation_is_refused(short_invitations, client, w, smtp_server):
    client.login(w.admin_a)
    invite(client)
    (mail,) = smtp_server.to("ny.kollega@org-a.example")
    client.post("/logga-ut", data={})
    time.sleep(2.1)  # the link was valid for one second
    response = client.get(link_in(mail))
    assert response.status_code == 410
    assert "Inbjudan gäller inte längre" in text_of(response)
    refused = client.post(link_in(mail), data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert refused.status_code == 410
    assert account_of("ny.kollega@org-a.example") is None


def test_tampered_or_revoked_invitation_is_refused(client, w, smtp_server):
    client.login(w.admin_a)
    invite(client)
    (mail,) = smtp_server.to("ny.kollega@org-a.example")
    path = link_in(mail)
    assert client.get(path[:-3] + "xyz").status_code == 410
    invitation = invitation_to("ny.kollega@org-a.example")
    client.post(f"/utforare/organisation/inbjudningar/{invitation.id}/aterkalla", data={})
    client.post("/logga-ut", data={})
    assert client.get(path).status_code == 410
    refused = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert refused.status_code == 410
    assert account_of("ny.kollega@org-a.example") is None


def test_resent_invitation(client, w, smtp_server):
    client.login(w.admin_a)
    invite(client)
    invitation = invitation_to("ny.kollega@org-a.example")
    client.post(f"/utforare/organisation/inbjudningar/{invitation.id}/skicka-igen", data={})
    assert len(smtp_server.to("ny.kollega@org-a.example")) == 2
    db.session.refresh(invitation)
    assert invitation.times_sent == 2


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("inte-en-adress", "Ange en giltig e-postadress."),
        ("", "Ange e-postadressen."),
    ],
)
def test_invitation_form_is_validated(client, w, email, message):
    client.login(w.admin_a)
    response = invite(client, email=email)
    assert response.status_code == 422 and message in text_of(response)


def test_existing_accounts_cannot_be_invited_again(client, w, smtp_server):
    client.login(w.admin_a)
    same_org = invite(client, email=w.user_a.email)
    assert same_org.status_code == 422 and "finns redan i er organisation" in text_of(same_org)
    # An account of another organisation: the inviter gets the same answer as for a new
    # address (no account enumeration), the account holder is told, nothing changes.
    users_before = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    for email in (w.user_b.email, "helt-ny@org-a.example"):
        response = invite(client, email=email)
        assert response.status_code == 303, text_of(response)[:300]
        assert response.location.endswith("/utforare/organisation")
        page = text_of(client.get(response.location))
        assert f"Inbjudan är skickad till {email}. Länken gäller i 7 dagar." in page
    (notice,) = smtp_server.to(w.user_b.email)
    assert "Du har redan ett konto i Insyn" in notice.body and "/inbjudan/" not in notice.body
    db.session.refresh(w.user_b)
    assert w.user_b.provider_id == w.org_b.id and w.user_b.password_hash is not None
    # Accounts are made when an invitation is accepted, never when inviting.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == users_before


def test_invited_admin_role(client, w, smtp_server):
    client.login(w.admin_a)
    invite(client, email="chef2@org-a.example", role="provider_admin")
    (mail,) = smtp_server.to("chef2@org-a.example")
    client.post("/logga-ut", data={})
    client.post(link_in(mail), data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert account_of("chef2@org-a.example").role == Role.PROVIDER_ADMIN


def test_deactivated_colleague_is_logged_out_and_can_be_reactivated(app, client, w):
    colleague = app.test_client()
    colleague.login(w.user_a)
    assert colleague.get("/utforare/").status_code == 200
    client.login(w.admin_a)
    response = client.post(f"/utforare/organisation/kollegor/{w.user_a.id}/inaktivera", data={})
    assert response.status_code == 303
    db.session.refresh(w.user_a)
    assert not w.user_a.active
    assert colleague.get("/utforare/").status_code == 302  # the session ended
    assert "Inaktiverad" in text_of(client.get("/utforare/organisation"))
    refused = colleague.post("/logga-in", data={"email": w.user_a.email, "password": PASSWORD})
    assert refused.status_code == 401
    client.post(f"/utforare/organisation/kollegor/{w.user_a.id}/aktivera", data={})
    db.session.refresh(w.user_a)
    assert w.user_a.active
    colleague.login(w.user_a)


def test_admin_cannot_lock_the_organisation_out(client, w):
    client.login(w.admin_a)
    client.post(f"/utforare/organisation/kollegor/{w.admin_a.id}/inaktivera", data={})
    db.session.refresh(w.admin_a)
    assert w.admin_a.active
    assert "Du kan inte inaktivera dig själv" in text_of(client.get("/utforare/organisation"))


def test_last_active_admin_stays(client, w, make):
    second = make.user(Role.PROVIDER_ADMIN, provider_=w.org_a)
    db.session.commit()
    client.login(second)
    client.post(f"/utforare/organisation/kollegor/{w.admin_a.id}/inaktivera", data={})
    db.session.refresh(w.admin_a)
    assert not w.admin_a.active
    client.post("/logga-ut", data={})
    third = make.user(Role.PROVIDER_USER, provider_=w.org_a)
    db.session.commit()
    client.login(second)
    # second is now the only active admin: cannot be deactivated by anyone (not even self).
    client.post(f"/utforare/organisation/kollegor/{second.id}/inaktivera", data={})
    db.session.refresh(second)
    assert second.active and third.active


def test_who_submitted_what(client, w, asked):
    from tests.provider.conftest import valid_form

    client.login(w.user_a)
    client.post(
        f"/utforare/arenden/{asked.id}/svar", data={**valid_form(asked), "action": "submit"}
    )
    client.post("/logga-ut", data={})
    client.login(w.admin_a)
    page = text_of(client.get("/utforare/organisation"))
    assert "Vem har skickat in vad" in page and "Kvalitetsredovisning 2026" in page
    assert w.user_a.email in page
    mine = text_of(client.get(f"/utforare/arenden?av={w.user_a.id}"))
    assert "Kvalitetsredovisning 2026" in mine
    theirs = text_of(client.get(f"/utforare/arenden?av={w.admin_a.id}"))
    assert "Kvalitetsredovisning 2026" not in theirs


def test_provider_users_cannot_manage_colleagues(client, w):
    client.login(w.user_a)
    assert client.get("/utforare/organisation").status_code == 404
    assert invite(client).status_code == 404
    assert (
        client.post(
            f"/utforare/organisation/kollegor/{w.admin_a.id}/inaktivera", data={}
        ).status_code
        == 404
    )
    assert "Organisation och kollegor" not in text_of(client.get("/utforare/"))


def test_invitation_opened_while_signed_in_as_someone_else(client, w, smtp_server):
    client.login(w.admin_a)
    invite(client)
    (mail,) = smtp_server.to("ny.kollega@org-a.example")
    response = client.get(link_in(mail))
    assert response.status_code == 409
    assert "Du är inloggad som någon annan" in text_of(response)
