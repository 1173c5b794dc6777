"""Issue 10, item 7: a provider admin cannot tell which addresses have an account elsewhere.

Inviting a new address and inviting an address that already has an account (in another
organisation, of the municipality's staff, deactivated, spelled differently) must look the
same to the inviter: the answer, the organisation page, sending again, withdrawing, and
the work the server does. Only the person behind the address learns the difference, by
mail: a link for a new address, a notice for an account holder, whose account stays as it
was.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from portal.auth.tokens import invitation_token
from portal.extensions import db
from portal.models import Invitation, OutboundMail, Role, User
from tests.conftest import text_of

NAME = "Ny Kollega"
PASSWORD_NEW = "Vår-nya-kollega-2026-hemtjänst"
ORGANISATION = "/utforare/organisation"


def _invite(client, typed: str):
    return client.post(
        f"{ORGANISATION}/bjud-in", data={"email": typed, "name": NAME, "role": "provider_user"}
    )


def _normalised(html: str, address: str) -> str:
    """``html`` with what differs by design between two invitations replaced: the address the
    inviter typed, the invitation's id, and per-request tokens and times."""
    html = html.replace(address, "<ADDRESS>")
    html = re.sub(r"/inbjudningar/\d+/", "/inbjudningar/<ID>/", html)
    html = re.sub(r'(name="csrf_token"[^>]*value=")[^"]*"', r'\1<CSRF>"', html)
    html = re.sub(r'nonce="[^"]*"', 'nonce="<NONCE>"', html)
    return re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "<TIME>", html)


def _seen(response, address: str) -> dict:
    """What the inviter's browser gets: status, where it is sent, the page, the headers."""
    skip = {"set-cookie", "content-length", "content-security-policy"}
    return {
        "status": response.status_code,
        "location": response.location,
        "headers": sorted((k, v) for k, v in response.headers.items() if k.lower() not in skip),
        "body": _normalised(response.get_data(as_text=True), address),
    }


def _invitation_id(page_html: str) -> int:
    (ident,) = set(re.findall(r"/inbjudningar/(\d+)/skicka-igen", page_html))
    return int(ident)


def _inviter_view(client, typed: str, address: str) -> list[tuple[str, dict]]:
    """Invite ``typed``, look, send again, let the link expire, withdraw; what the inviter
    sees at each step. Ends with the organisation as it was (nothing pending)."""
    steps = []

    def look(step: str, response) -> None:
        steps.append((step, _seen(response, address)))

    invited = _invite(client, typed)
    look("invite", invited)
    page = client.get(ORGANISATION)
    look("organisation after invite", page)
    look("submissions after invite", client.get("/utforare/arenden"))
    ident = _invitation_id(page.get_data(as_text=True))
    look("invite again while pending", _invite(client, typed))
    look("resend", client.post(f"{ORGANISATION}/inbjudningar/{ident}/skicka-igen", data={}))
    look("organisation after resend", client.get(ORGANISATION))
    # The link of the latest mail has expired.
    invitation = db.session.get(Invitation, ident)
    invitation.last_sent_at -= timedelta(days=8)
    db.session.commit()
    look("organisation after expiry", client.get(ORGANISATION))
    look("withdraw", client.post(f"{ORGANISATION}/inbjudningar/{ident}/aterkalla", data={}))
    look("organisation after withdraw", client.get(ORGANISATION))
    look("withdraw again", client.post(f"{ORGANISATION}/inbjudningar/{ident}/aterkalla", data={}))
    look("resend after withdraw", client.post(f"{ORGANISATION}/inbjudningar/{ident}/skicka-igen"))
    look("organisation at the end", client.get(ORGANISATION))
    return steps


@pytest.fixture
def accounts(make, w):
    """Addresses that already have an account somewhere else than org A."""
    other_org = make.user(
        Role.PROVIDER_USER, provider_=w.org_b, email="anna.berg@org-b.example", name="Anna Berg"
    )
    staff = make.user(
        Role.REVIEWER, committees=[w.committee_x], email="lena.lind@kommun.example", name="Lena"
    )
    deactivated = make.user(
        Role.PROVIDER_USER, provider_=w.org_b, email="ove.ek@org-b.example", active=False
    )
    # Stored with capitals (an older account): still the same address.
    capitals = make.user(Role.PROVIDER_ADMIN, provider_=w.org_b, email="Per.Holm@Org-B.example")
    db.session.commit()
    return {
        "other_org": other_org,
        "staff": staff,
        "deactivated": deactivated,
        "capitals": capitals,
    }


def _state(user: User) -> tuple:
    db.session.refresh(user)
    return (
        user.email,
        user.provider_id,
        user.role,
        user.active,
        user.password_hash,
        user.session_version,
        user.name,
    )


# (what it is, what the inviter types, the address it is)
CASES = [
    ("new", "ny.person@example.se", "ny.person@example.se"),
    ("new, other spelling", "  Ny.Person2@EXAMPLE.se ", "ny.person2@example.se"),
    ("other organisation", "anna.berg@org-b.example", "anna.berg@org-b.example"),
    ("staff", "lena.lind@kommun.example", "lena.lind@kommun.example"),
    ("deactivated elsewhere", "ove.ek@org-b.example", "ove.ek@org-b.example"),
    ("other organisation, other spelling", " Anna.Berg@ORG-B.example\t", "anna.berg@org-b.example"),
    ("stored with capitals", "per.holm@org-b.example", "per.holm@org-b.example"),
]


def test_the_inviter_cannot_tell_new_addresses_from_accounts(client, w, accounts, smtp_server):
    before = {key: _state(user) for key, user in accounts.items()}
    users_before = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    client.login(w.admin_a)
    baseline = None
    for label, typed, address in CASES:
        smtp_server.clear()
        view = _inviter_view(client, typed, address)
        if baseline is None:
            baseline = view
            flash = "Inbjudan är skickad till <ADDRESS>. Länken gäller i 7 dagar."
            assert flash in baseline[1][1]["body"]
            assert "<ADDRESS>" in baseline[1][1]["body"].split("Inbjudna kollegor", 1)[1]
            assert "Länken har gått ut" in dict(baseline)["organisation after expiry"]["body"]
        else:
            for (step, seen), (_same, expected) in zip(view, baseline, strict=True):
                assert seen == expected, f"{label}: {step} differs from a new address"
        # Two mails to the address (invitation and resend), none on withdrawal.
        assert len(smtp_server.to(address)) == 2, label
        assert len(smtp_server.messages) == 2, label

    # Nothing happened to the accounts, and no account was made.
    assert {key: _state(user) for key, user in accounts.items()} == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == users_before


def _mails_to(address: str) -> list[OutboundMail]:
    return db.session.scalars(
        sa.select(OutboundMail).filter_by(recipient=address).order_by(OutboundMail.id)
    ).all()


def _link(body: str) -> str:
    (url,) = re.findall(r"https?://\S+/utforare/inbjudan/\S+", body)
    return urlsplit(url).path


@pytest.mark.parametrize(
    ("key", "says"),
    [
        ("other_org", "kontakta kommunen så flyttas ditt konto"),
        ("staff", "ett konto för kommunens medarbetare"),
        ("deactivated", "Ditt konto är inaktiverat."),
        ("capitals", "kontakta kommunen så flyttas ditt konto"),
    ],
)
def test_the_account_holder_is_told_and_nothing_moves(client, w, accounts, smtp_server, key, says):
    holder = accounts[key]
    before = _state(holder)
    client.login(w.admin_a)
    _invite(client, f"  {holder.email.upper()} ")
    ident = _invitation_id(client.get(ORGANISATION).get_data(as_text=True))
    client.post(f"{ORGANISATION}/inbjudningar/{ident}/skicka-igen", data={})
    notices = smtp_server.to(holder.email.lower())
    assert len(notices) == 2
    for notice in notices:
        assert notice.subject == "Inbjudan till Insyn för Org A AB"
        assert "Du har redan ett konto i Insyn" in notice.body and says in notice.body
        assert "/inbjudan/" not in notice.body and "lösenord" not in notice.body
        assert "får av integritetsskäl inte veta" in notice.body
    assert [m.sent_at is not None for m in _mails_to(holder.email.lower())] == [True, True]
    client.post(f"{ORGANISATION}/inbjudningar/{ident}/aterkalla", data={})
    assert len(smtp_server.to(holder.email.lower())) == 2  # withdrawing mails nobody
    assert _state(holder) == before


def test_a_new_address_gets_a_link_that_withdrawal_ends(client, w, smtp_server):
    client.login(w.admin_a)
    _invite(client, "ny.person@example.se")
    ident = _invitation_id(client.get(ORGANISATION).get_data(as_text=True))
    client.post(f"{ORGANISATION}/inbjudningar/{ident}/skicka-igen", data={})
    first, second = smtp_server.to("ny.person@example.se")
    assert "Hej Ny Kollega!" in first.body and "gäller i 7 dagar" in second.body
    client.post(f"{ORGANISATION}/inbjudningar/{ident}/aterkalla", data={})
    client.post("/logga-ut", data={})
    for mail in (first, second):
        assert client.get(_link(mail.body)).status_code == 410
        refused = client.post(
            _link(mail.body), data={"password": PASSWORD_NEW, "confirm": PASSWORD_NEW}
        )
        assert refused.status_code == 410
    assert db.session.scalar(sa.select(User).filter_by(email="ny.person@example.se")) is None


def test_the_server_does_the_same_work_for_both(app, client, w, accounts, smtp_server):
    """The same statements for a new address and for an account elsewhere (timing, roughly):
    the account holder's path adds only its audit row, and the mail is sent the same way."""
    statements: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()))

    def work(typed: str) -> list[str]:
        statements.clear()
        sa.event.listen(db.engine, "before_cursor_execute", note)
        try:
            assert _invite(client, typed).status_code == 303
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", note)
        return list(statements)

    client.login(w.admin_a)
    new = work("ny.person@example.se")
    elsewhere = work("anna.berg@org-b.example")
    audit_insert = [s for s in elsewhere if s.startswith("INSERT INTO audit_event")]
    assert len(audit_insert) == 2 and sum(s in audit_insert for s in new) == 1
    elsewhere.remove(audit_insert[0])
    # (In whatever order the session flushes them.)
    assert sorted(elsewhere) == sorted(new)


def test_an_address_invited_by_two_organisations_joins_one(app, client, w, make, smtp_server):
    """Two organisations invite one new address; the first link accepted makes the account,
    the other organisation's link then tells its owner, and the account stays put."""
    admin_b = make.user(Role.PROVIDER_ADMIN, provider_=w.org_b)
    db.session.commit()
    client.login(w.admin_a)
    _invite(client, "dubbel@example.se")
    other = app.test_client()
    other.login(admin_b)
    _invite(other, "dubbel@example.se")
    mail_a, mail_b = smtp_server.to("dubbel@example.se")
    assert "Org A AB" in mail_a.subject and "Org B AB" in mail_b.subject

    invitee = app.test_client()
    joined = invitee.post(
        _link(mail_a.body), data={"password": PASSWORD_NEW, "confirm": PASSWORD_NEW}
    )
    assert joined.status_code == 303
    invitee.post("/logga-ut", data={})
    refused = invitee.get(_link(mail_b.body))
    assert refused.status_code == 409 and "Du har redan ett konto i Insyn" in text_of(refused)
    posted = invitee.post(
        _link(mail_b.body), data={"password": PASSWORD_NEW, "confirm": PASSWORD_NEW}
    )
    assert posted.status_code == 409
    account = db.session.scalar(sa.select(User).filter_by(email="dubbel@example.se"))
    assert account.provider_id == w.org_a.id
    # Org B's admin still sees an invitation waiting, as for anyone who has not answered.
    assert "dubbel@example.se" in text_of(other.get(ORGANISATION))
    # Org A's admin sees a colleague and no invitation.
    page = client.get(ORGANISATION).get_data(as_text=True)
    assert "Inga inbjudningar väntar på svar." in page and "dubbel@example.se" in page


def test_an_invitation_from_before_invitations_had_rows_still_works(client, w, make, smtp_server):
    """Migration 0010 turns each account invited the old way (no password yet) into an
    invitation that points at it; the link mailed then still works, once."""
    waiting = make.user(Role.PROVIDER_USER, provider_=w.org_a, email="gammal@org-a.example")
    waiting.password_hash = None
    invitation = Invitation(
        provider=w.org_a, email=waiting.email, role=waiting.role, invited_by=w.admin_a
    )
    invitation.user = waiting
    db.session.add(invitation)
    db.session.commit()
    token = invitation_token({"u": waiting.id, "p": w.org_a.id, "e": waiting.email})

    client.login(w.admin_a)
    page = client.get(ORGANISATION).get_data(as_text=True)
    colleagues, invited = page.split("Inbjudna kollegor", 1)
    assert "gammal@org-a.example" not in colleagues and "gammal@org-a.example" in invited
    client.post("/logga-ut", data={})

    assert client.get(f"/utforare/inbjudan/{token}").status_code == 200
    accepted = client.post(
        f"/utforare/inbjudan/{token}", data={"password": PASSWORD_NEW, "confirm": PASSWORD_NEW}
    )
    assert accepted.status_code == 303
    db.session.refresh(waiting)
    db.session.refresh(invitation)
    assert waiting.password_hash is not None and invitation.accepted_at is not None
    assert invitation.user_id == waiting.id
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(User).filter_by(email="gammal@org-a.example")
        )
        == 1
    )
    client.post("/logga-ut", data={})
    again = client.get(f"/utforare/inbjudan/{token}")
    assert again.status_code == 303 and "/logga-in" in again.location


def test_withdrawing_an_old_style_invitation_closes_its_account(client, w, make):
    waiting = make.user(Role.PROVIDER_USER, provider_=w.org_a, email="gammal@org-a.example")
    waiting.password_hash = None
    invitation = Invitation(provider=w.org_a, email=waiting.email, role=waiting.role)
    invitation.user = waiting
    db.session.add(invitation)
    db.session.commit()
    token = invitation_token({"u": waiting.id, "p": w.org_a.id, "e": waiting.email})
    client.login(w.admin_a)
    client.post(f"{ORGANISATION}/inbjudningar/{invitation.id}/aterkalla", data={})
    db.session.refresh(waiting)
    assert not waiting.active
    client.post("/logga-ut", data={})
    assert client.get(f"/utforare/inbjudan/{token}").status_code == 410


def test_other_organisations_invitations_are_out_of_reach(client, w, make):
    invitation = Invitation(provider=w.org_b, email="x@example.se", role=Role.PROVIDER_USER)
    db.session.add(invitation)
    db.session.commit()
    client.login(w.admin_a)
    for action in ("skicka-igen", "aterkalla"):
        response = client.post(f"{ORGANISATION}/inbjudningar/{invitation.id}/{action}", data={})
        assert response.status_code == 404
    db.session.refresh(invitation)
    assert invitation.pending and invitation.times_sent == 1


def test_migration_turns_old_invitations_into_rows(app_config, tmp_path):
    """0010 gives each account invited the old way (no password, active) an invitation."""
    from flask_migrate import upgrade

    from portal import create_app

    url = f"sqlite:///{tmp_path / 'm.sqlite'}"
    app = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(revision="0010_invitations-1")
        rows = """
        INSERT INTO provider (id, name, org_number, ownership, description)
            VALUES (1, 'Org A AB', '556677-8899', 'private', '');
        INSERT INTO "user" (id, email, name, password_hash, role, provider_id, active,
                            session_version, created_at) VALUES
            (1, 'chef@org-a.example', 'Chef', 'x', 'provider_admin', 1, 1, 1,
             '2026-11-01 08:00:00+00:00'),
            (2, 'Vantar@Org-A.example', 'Väntar', NULL, 'provider_user', 1, 1, 1,
             '2026-11-02 08:00:00+00:00'),
            (3, 'stoppad@org-a.example', '', NULL, 'provider_user', 1, 0, 1,
             '2026-11-02 08:00:00+00:00');
        INSERT INTO audit_event (at, actor_id, actor_email, ip, action, object_type,
                                 object_id, detail) VALUES
            ('2026-11-02 08:00:00+00:00', 1, 'chef@org-a.example', '', 'user.invite', 'user',
             2, '{}'),
            ('2026-11-05 08:00:00+00:00', 1, 'chef@org-a.example', '', 'user.invite_again',
             'user', 2, '{}');
        """
        with db.engine.begin() as conn:
            for statement in rows.split(";"):
                if statement.strip():
                    conn.execute(sa.text(statement))
        upgrade()
        (invitation,) = db.session.scalars(sa.select(Invitation)).all()
        assert (invitation.email, invitation.name, invitation.role) == (
            "vantar@org-a.example",
            "Väntar",
            Role.PROVIDER_USER,
        )
        assert invitation.user_id == 2 and invitation.invited_by_id == 1
        assert invitation.pending and invitation.times_sent == 2
        assert invitation.last_sent_at.day == 5 and invitation.created_at.day == 2
        db.session.remove()
        db.engine.dispose()
