"""Staff accounts managed by administrators: the list, a new account (its owner chooses the
password from a mailed link), role and committees, deactivation, the two-factor reset and
the rule that requires two-factor login, every change audited; and the refusals."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyotp
import pytest
import sqlalchemy as sa
from itsdangerous import TimestampSigner

from admin.staff import operations
from portal.extensions import db
from portal.models import AuditEvent, OutboundMail, Role, Setting, User
from tests import factories
from tests.browser import AXE_OPTIONS
from tests.conftest import text_of, thread_context
from tests.factories import PASSWORD

LIST = "/handlaggare/anvandare"
NEW = "/handlaggare/anvandare/ny"
NEW_PASSWORD = "Tre gröna äpplen i korgen"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "staff-users"


@pytest.fixture
def app_config(app_config, request):
    if "chromium" in request.fixturenames:
        # As in production: with a scanner (without one, staff pages carry a banner).
        app_config["CLAMD_URL"] = request.getfixturevalue("clamd_url")
    return app_config


def page(user: User) -> str:
    return f"/handlaggare/anvandare/{user.id}"


def events(action: str) -> list[AuditEvent]:
    return db.session.scalars(
        sa.select(AuditEvent).filter_by(action=action).order_by(AuditEvent.id)
    ).all()


def mails_to(address: str) -> list[OutboundMail]:
    return db.session.scalars(
        sa.select(OutboundMail).filter_by(recipient=address).order_by(OutboundMail.id)
    ).all()


def link_in(mail: OutboundMail) -> str:
    return re.search(r"http://insyn\.test(/aterstall/\S+)", mail.body).group(1)


def signed_in_with_app(app, user: User):
    """A client signed in by password and a code from the user's app (set up here)."""
    if user.totp_secret is None:
        user.totp_secret = pyotp.random_base32()
        db.session.commit()
    client = app.test_client()
    client.post("/logga-in", data={"email": user.email, "password": PASSWORD})
    done = client.post("/logga-in/kod", data={"code": pyotp.TOTP(user.totp_secret).now()})
    assert done.status_code == 302 and done.location.endswith("/handlaggare/"), done.location
    return client


def new_account(client, email="ny.handlaggare@kommun.example", **values) -> object:
    data = {
        "email": email,
        "name": "Nora Ny",
        "role": "reviewer",
        "form_key": "nyckel-" + "a" * 20,
        **values,
    }
    return client.post(NEW, data=data)


# --- who may ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["reviewer_x", "publisher", "admin_a", "user_a"])
def test_only_administrators_reach_the_pages(w, browser, who):
    client = browser(getattr(w, who))
    target = w.reviewer_x2
    for url in (LIST, NEW, page(target), f"{LIST}?format=csv"):
        assert client.get(url).status_code == 404, url
    for url in (
        NEW,
        page(target),
        f"{page(target)}/inaktivera",
        f"{page(target)}/aktivera",
        f"{page(target)}/nollstall-tvafaktor",
        f"{page(target)}/skicka-lank",
        f"{LIST}/tvafaktor",
    ):
        response = client.post(url, data={"krav": "ja", "role": "admin", "name": "X"})
        assert response.status_code == 404, url
    db.session.expire_all()
    assert db.session.get(User, target.id).active
    assert db.session.get(User, target.id).role == Role.REVIEWER
    assert Setting.of("require_staff_totp") is None
    if who in ("reviewer_x", "publisher"):
        assert 'href="/handlaggare/anvandare"' not in client.get("/handlaggare/").get_data(
            as_text=True
        )


def test_provider_accounts_are_not_staff_accounts(w, browser):
    client = browser(w.admin)
    assert client.get(page(w.user_a)).status_code == 404
    assert client.post(f"{page(w.admin_a)}/inaktivera", data={}).status_code == 404
    assert w.user_a.email not in text_of(client.get(LIST))
    db.session.expire_all()
    assert db.session.get(User, w.admin_a.id).active


# --- the list -----------------------------------------------------------------------------


def test_list_with_search_filters_and_csv(w, browser):
    w.publisher.totp_secret = pyotp.random_base32()
    w.reviewer_y.active = False
    db.session.commit()
    client = browser(w.admin)
    start = client.get("/handlaggare/").get_data(as_text=True)
    assert 'href="/handlaggare/anvandare"' in start  # in the staff navigation
    listing = text_of(client.get(LIST))
    for staff in (w.reviewer_x, w.reviewer_y, w.publisher, w.admin):
        assert staff.email in listing
    assert "Handläggare" in listing and "Publicerare" in listing and "Administratör" in listing
    assert "Inaktiverad" in listing and "Senast inloggad" in listing and "Tvåfaktor" in listing
    assert w.committee_x.name in listing

    assert w.reviewer_x.email not in text_of(client.get(f"{LIST}?q={w.publisher.email}"))
    assert w.publisher.email in text_of(client.get(f"{LIST}?q={w.publisher.email}"))
    by_role = text_of(client.get(f"{LIST}?roll=publisher"))
    assert w.publisher.email in by_role and w.reviewer_x.email not in by_role
    by_committee = text_of(client.get(f"{LIST}?namnd={w.committee_y.id}"))
    assert w.reviewer_y.email in by_committee and w.reviewer_x.email not in by_committee
    gone = text_of(client.get(f"{LIST}?status=inaktiverade"))
    assert w.reviewer_y.email in gone and w.reviewer_x.email not in gone
    with_app = text_of(client.get(f"{LIST}?tvafaktor=pa"))
    assert w.publisher.email in with_app and w.reviewer_x.email not in with_app

    csv = client.get(f"{LIST}?format=csv&roll=publisher")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    body = csv.get_data().decode("utf-8-sig")
    assert w.publisher.email in body and w.reviewer_x.email not in body
    assert "Publicerare" in body


# --- a new account ------------------------------------------------------------------------


def test_new_account_chooses_its_own_password_from_the_mailed_link(app, w, browser):
    client = browser(w.admin)
    form = client.get(NEW).get_data(as_text=True)
    assert 'type="password"' not in form  # the administrator never types a password
    assert 'name="form_key"' in form
    response = new_account(
        client,
        email=" Nora.Ny@Kommun.example ",
        committees=[str(w.committee_x.id), str(w.committee_y.id)],
    )
    assert response.status_code == 303
    user = db.session.scalar(sa.select(User).filter_by(email="nora.ny@kommun.example"))
    assert response.location.endswith(page(user))
    assert user.role == Role.REVIEWER and user.name == "Nora Ny"
    assert user.committee_ids == {w.committee_x.id, w.committee_y.id}
    assert user.password_hash is None and user.active
    (created,) = events("user.create")
    assert created.actor_id == w.admin.id and created.object_id == user.id
    assert created.detail["role"] == "reviewer"
    assert created.detail["committees"] == sorted([w.committee_x.code, w.committee_y.code])
    shown = text_of(client.get(response.location))
    assert "Har inte valt lösenord än" in shown and "nora.ny@kommun.example" in shown

    (mail,) = mails_to(user.email)
    assert "Hej Nora Ny!" in mail.body and "handläggare" in mail.body
    assert "7 dagar" in mail.body
    link = link_in(mail)
    newcomer = app.test_client()
    assert "Välj lösenord" in text_of(newcomer.get(link))
    chosen = newcomer.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert chosen.status_code == 302 and chosen.location.endswith("/logga-in")
    assert events("auth.password_chosen")
    newcomer.login(user, NEW_PASSWORD)
    assert newcomer.get("/handlaggare/").status_code == 200
    # The link works once.
    again = app.test_client().get(link)
    assert again.status_code == 302 and "glomt-losenord" in again.location


def test_new_account_link_lives_as_long_as_an_invitation_not_an_hour(app, w, browser, monkeypatch):
    new_account(browser(w.admin))
    user = db.session.scalar(sa.select(User).filter_by(email="ny.handlaggare@kommun.example"))
    link = link_in(mails_to(user.email)[0])

    def days_later(days: int) -> None:
        now = int(time.time()) + days * 24 * 3600
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: now)

    days_later(2)  # a reset link would be dead by now
    assert "Välj lösenord" in text_of(app.test_client().get(link))
    days_later(8)
    assert app.test_client().get(link).status_code == 302


def test_a_double_post_makes_one_account(w, browser):
    client = browser(w.admin)
    first = new_account(client)
    second = new_account(client)  # the same form, its key and all, once more
    assert first.status_code == second.status_code == 303
    user = db.session.scalar(sa.select(User).filter_by(email="ny.handlaggare@kommun.example"))
    assert second.location.endswith(page(user))
    assert "Kontot för ny.handlaggare@kommun.example är redan skapat." in text_of(
        client.get(second.location)
    )
    assert len(events("user.create")) == 1
    assert len(mails_to(user.email)) == 1


def test_a_double_post_at_the_same_moment_makes_one_account(pg_app):
    w = factories.world()
    clients = []
    for _ in range(2):
        client = pg_app.test_client()
        client.login(w.admin)
        clients.append(client)
    tokens = [c.csrf_token() for c in clients]
    barrier = threading.Barrier(2)

    def post(i):
        with thread_context(pg_app):
            barrier.wait()
            try:
                return new_account(clients[i], csrf_token=tokens[i])
            finally:
                db.session.remove()

    with ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(post, range(2)))
    assert [r.status_code for r in responses] == [303, 303]
    db.session.expire_all()
    accounts = db.session.scalars(
        sa.select(User).filter_by(email="ny.handlaggare@kommun.example")
    ).all()
    assert len(accounts) == 1
    assert all(r.location.endswith(page(accounts[0])) for r in responses)
    assert len(events("user.create")) == 1
    assert len(mails_to(accounts[0].email)) == 1


def test_an_address_with_an_account_is_refused_with_a_clear_message(w, browser):
    client = browser(w.admin)
    staff = new_account(client, email=w.reviewer_x.email.upper(), form_key="annan-" + "b" * 20)
    assert staff.status_code == 422
    assert f"{w.reviewer_x.email} har redan ett konto i Insyn" in text_of(staff)
    provider = new_account(client, email=w.user_a.email, form_key="tredje-" + "c" * 20)
    assert provider.status_code == 422
    assert "som utförarkonto hos Org A AB" in text_of(provider)
    db.session.expire_all()
    assert db.session.get(User, w.reviewer_x.id).name == w.reviewer_x.name
    assert not events("user.create")
    assert not mails_to(w.reviewer_x.email)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"email": "inte-en-adress"}, "Ange en giltig e-postadress."),
        ({"email": ""}, "Ange e-postadressen."),
        ({"name": ""}, "Ange namnet."),
        ({"role": "provider_admin"}, "Behörighet"),
        ({"role": ""}, "Välj behörighet."),
        ({"committees": "999999"}, "Nämnder"),
    ],
)
def test_new_account_form_is_checked(w, browser, values, message):
    response = new_account(browser(w.admin), **values)
    assert response.status_code == 422
    assert message in text_of(response)
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 8


# --- changing an account ------------------------------------------------------------------


def test_role_and_committees_change_audited(w, browser):
    client = browser(w.admin)
    target = w.reviewer_x2
    form = text_of(client.get(page(target)))
    assert target.email in form and "Namn, behörighet och nämnder" in form
    response = client.post(
        page(target),
        data={"name": "Ny Namn", "role": "publisher", "committees": [str(w.committee_y.id)]},
    )
    assert response.status_code == 303
    db.session.expire_all()
    user = db.session.get(User, target.id)
    assert user.role == Role.PUBLISHER and user.name == "Ny Namn"
    assert user.committee_ids == {w.committee_y.id}
    (event,) = events("user.update")
    assert event.actor_id == w.admin.id and event.object_id == target.id
    assert event.detail["changes"]["role"] == ["reviewer", "publisher"]
    assert event.detail["changes"]["committees"] == [["VON"], ["KFN"]]
    # The new role holds at the user's next page: the publisher's, no longer the reviewer's.
    moved = browser(user)
    assert moved.get("/handlaggare/begaranden/ny").status_code == 404
    # Saving the same again changes nothing and writes no event.
    client.post(
        page(target),
        data={"name": "Ny Namn", "role": "publisher", "committees": [str(w.committee_y.id)]},
    )
    assert len(events("user.update")) == 1


def test_an_administrator_cannot_change_their_own_role(w, browser):
    client = browser(w.admin)
    factories.user(Role.ADMIN)
    db.session.commit()
    response = client.post(page(w.admin), data={"name": "Admin", "role": "reviewer"})
    assert response.status_code == 422
    assert "Du kan inte ändra din egen behörighet" in text_of(response)
    db.session.expire_all()
    assert db.session.get(User, w.admin.id).role == Role.ADMIN
    assert not events("user.update")
    # The name and committees of one's own account may change.
    assert client.post(page(w.admin), data={"name": "Ada", "role": "admin"}).status_code == 303


# --- deactivation -------------------------------------------------------------------------


def test_deactivation_ends_the_sessions_at_once_and_reactivation_lets_in_again(app, w, browser):
    admin = browser(w.admin)
    target = browser(w.reviewer_x2)
    assert target.get("/handlaggare/").status_code == 200
    response = admin.post(f"{page(w.reviewer_x2)}/inaktivera", data={})
    assert response.status_code == 303
    assert "är inaktiverad" in text_of(admin.get(response.location))
    out = target.get("/handlaggare/")
    assert out.status_code == 302 and "/logga-in" in out.location
    refused = app.test_client().post(
        "/logga-in", data={"email": w.reviewer_x2.email, "password": PASSWORD}
    )
    assert refused.status_code == 401
    (event,) = events("user.deactivate")
    assert event.object_id == w.reviewer_x2.id and event.actor_id == w.admin.id
    assert "Inaktiverad" in text_of(admin.get(f"{LIST}?status=inaktiverade"))

    admin.post(f"{page(w.reviewer_x2)}/aktivera", data={})
    assert events("user.reactivate")
    browser(w.reviewer_x2)  # logs in again


def test_an_administrator_cannot_deactivate_themselves(w, browser):
    client = browser(w.admin)
    assert "Inaktivera kontot" not in text_of(client.get(page(w.admin)))
    response = client.post(f"{page(w.admin)}/inaktivera", data={})
    assert response.status_code == 303
    assert "Du kan inte inaktivera dig själv" in text_of(client.get(response.location))
    db.session.expire_all()
    assert db.session.get(User, w.admin.id).active
    assert not events("user.deactivate")


def test_the_last_active_administrator_stays(app, w):
    """An administrator removed meanwhile (by another administrator, a moment earlier) cannot
    then remove the only one left: neither by deactivation nor by a new role."""
    other = factories.user(Role.ADMIN)
    w.admin.active = False  # as the other administrator just did
    db.session.commit()
    with pytest.raises(operations.Refused, match="minst en aktiv administratör"):
        operations.deactivate(w.admin, other)
    with pytest.raises(operations.Refused, match="minst en aktiv administratör"):
        operations.update(w.admin, other, name="x", role=Role.REVIEWER, committees=[])
    db.session.rollback()
    assert db.session.get(User, other.id).active and other.role == Role.ADMIN
    # Another administrator may go while one stays.
    w.admin.active = True
    db.session.commit()
    assert operations.deactivate(w.admin, other)


def test_two_administrators_removing_each_other_at_once_leave_one(pg_app):
    w = factories.world()
    second = factories.user(Role.ADMIN)
    db.session.commit()
    pairs = [(w.admin, second), (second, w.admin)]
    clients = []
    for actor, _target in pairs:
        client = pg_app.test_client()
        client.login(actor)
        clients.append(client)
    tokens = [c.csrf_token() for c in clients]
    barrier = threading.Barrier(2)

    def press(i):
        with thread_context(pg_app):
            barrier.wait()
            try:
                return clients[i].post(
                    f"{page(pairs[i][1])}/inaktivera", data={"csrf_token": tokens[i]}
                )
            finally:
                db.session.remove()

    with ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(press, range(2)))
    # Both answered (the later one possibly signed out already by the first): no error.
    assert all(r.status_code in (302, 303) for r in responses), responses
    db.session.expire_all()
    active = db.session.scalars(
        sa.select(User).where(User.role == Role.ADMIN, User.active.is_(True))
    ).all()
    assert len(active) == 1
    assert len(events("user.deactivate")) == 1


# --- two-factor login ---------------------------------------------------------------------


def test_reset_two_factor_clears_the_app_and_ends_the_sessions(app, w):
    target = w.reviewer_x2
    target.totp_secret = pyotp.random_base32()
    db.session.add(Setting(key="require_staff_totp", value="1"))
    db.session.commit()
    admin = signed_in_with_app(app, w.admin)
    assert "Nollställ tvåfaktorsinloggningen" in text_of(admin.get(page(target)))

    response = admin.post(f"{page(target)}/nollstall-tvafaktor", data={})
    assert response.status_code == 303
    assert "är nollställd" in text_of(admin.get(response.location))
    db.session.expire_all()
    user = db.session.get(User, target.id)
    assert user.totp_secret is None and user.totp_pending_secret is None
    (event,) = events("user.totp_reset")
    assert event.object_id == target.id and event.actor_id == w.admin.id
    # At the next login the password is enough, and the app is set up again at once.
    again = app.test_client()
    again.login(user)
    first = again.get("/handlaggare/")
    assert first.status_code == 302 and first.location.endswith("/konto/tvafaktor")


def test_a_session_from_before_the_reset_is_over(app, w, browser):
    target = w.reviewer_x2
    signed_in = browser(target)
    target.totp_secret = pyotp.random_base32()
    db.session.commit()
    browser(w.admin).post(f"{page(target)}/nollstall-tvafaktor", data={})
    out = signed_in.get("/handlaggare/")
    assert out.status_code == 302 and "/logga-in" in out.location


def test_own_two_factor_is_not_reset_here(app, w):
    client = signed_in_with_app(app, w.admin)
    assert "Nollställ tvåfaktorsinloggningen" not in text_of(client.get(page(w.admin)))
    response = client.post(f"{page(w.admin)}/nollstall-tvafaktor", data={})
    assert "Din egen app för engångskoder byter du" in text_of(client.get(response.location))
    db.session.expire_all()
    assert db.session.get(User, w.admin.id).totp_secret is not None


def test_the_rule_requiring_two_factor_login_is_switched_on_the_page(app, w, browser):
    admin = signed_in_with_app(app, w.admin)
    reviewer = browser(w.reviewer_x)
    listing = text_of(admin.get(LIST))
    assert "Tvåfaktorsinloggning för personalen" in listing and "Frivillig nu" in listing
    assert "4 aktiva konton har ingen app kopplad." in listing
    on = admin.post(f"{LIST}/tvafaktor", data={"krav": "ja"})
    assert on.status_code == 303
    assert "Tvåfaktorsinloggning krävs av all personal" in text_of(admin.get(on.location))
    db.session.expire_all()
    assert Setting.of("require_staff_totp").value == "1"
    (event,) = events("setting.update")
    assert event.actor_id == w.admin.id
    assert event.detail == {"key": "require_staff_totp", "changes": ["0", "1"]}
    sent = reviewer.get("/handlaggare/")
    assert sent.status_code == 302 and sent.location.endswith("/konto/tvafaktor")
    # The same again changes nothing; what the page does not offer is refused; off again.
    admin.post(f"{LIST}/tvafaktor", data={"krav": "ja"})
    assert len(events("setting.update")) == 1
    refused = admin.post(f"{LIST}/tvafaktor", data={"krav": "kanske"})
    assert "Välj om tvåfaktorsinloggning ska krävas." in text_of(admin.get(refused.location))
    db.session.expire_all()
    assert Setting.of("require_staff_totp").value == "1"
    admin.post(f"{LIST}/tvafaktor", data={"krav": "nej"})
    db.session.expire_all()
    assert Setting.of("require_staff_totp").value == "0"
    assert len(events("setting.update")) == 2
    assert reviewer.get("/handlaggare/").status_code == 200


# --- the link to choose a password, again -------------------------------------------------


def test_a_new_link_for_an_account_without_a_password(w, browser):
    client = browser(w.admin)
    new_account(client)
    user = db.session.scalar(sa.select(User).filter_by(email="ny.handlaggare@kommun.example"))
    assert "Skicka en ny länk" in text_of(client.get(page(user)))
    response = client.post(f"{page(user)}/skicka-lank", data={})
    assert response.status_code == 303
    assert len(mails_to(user.email)) == 2
    assert events("user.welcome_resent")
    # Not for an account with a password: its owner uses "Glömt lösenord".
    refused = client.post(f"{page(w.reviewer_x)}/skicka-lank", data={})
    assert "Kontot har redan ett lösenord" in text_of(client.get(refused.location))
    assert not mails_to(w.reviewer_x.email)
    # Not for a deactivated account, and its earlier links stop working.
    client.post(f"{page(user)}/inaktivera", data={})
    refused = client.post(f"{page(user)}/skicka-lank", data={})
    assert "Kontot är inaktiverat" in text_of(client.get(refused.location))
    assert len(mails_to(user.email)) == 2
    assert client.application.test_client().get(link_in(mails_to(user.email)[0])).status_code == 302


# --- in a real browser --------------------------------------------------------------------


@pytest.mark.parametrize("width", [1280, 360])
def test_axe_finds_no_violations_on_the_staff_account_pages(chromium, axe, server, w, width):
    w.reviewer_x2.totp_secret = pyotp.random_base32()
    db.session.commit()
    context = chromium.new_context(viewport={"width": width, "height": 900}, locale="sv-SE")
    page_ = context.new_page()
    page_.goto(server + "/logga-in")
    page_.fill("#email", w.admin.email)
    page_.fill("#password", PASSWORD)
    page_.click("main button[type=submit]")
    page_.wait_for_url("**/handlaggare/")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems = {}

    def check(name: str) -> None:
        page_.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
        results = axe.run(page_, options=AXE_OPTIONS)
        assert len(results.response["passes"]) > 20, name
        if results.violations_count:
            problems[name] = results.generate_report()
        overflow = page_.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, (name, overflow)

    for name, path in {
        "list": LIST,
        "account": page(w.reviewer_x2),
        "own-account": page(w.admin),
        "new": NEW,
    }.items():
        assert page_.goto(server + path).status == 200, name
        check(name)
    # The new-account form with its messages, and the account made through it.
    page_.get_by_label("E-postadress", exact=True).fill(w.reviewer_x.email)
    page_.get_by_role("button", name="Skapa kontot").click()
    page_.wait_for_selector(".error-summary")
    check("new-with-errors")
    page_.get_by_label("E-postadress", exact=True).fill("nils.nilsson@kommun.example")
    page_.get_by_label("Namn", exact=True).fill("Nils Nilsson")
    page_.get_by_role("radio", name=re.compile("Publicerare")).check()
    page_.get_by_label(f"{w.committee_x.name} ({w.committee_x.code})").check()
    page_.get_by_role("button", name="Skapa kontot").click()
    page_.wait_for_url(re.compile(r".*/handlaggare/anvandare/\d+$"))
    assert "Kontot är skapat" in page_.inner_text("main")
    check("created")
    context.close()
    # The page where the new user chooses the password, from the mailed link.
    context = chromium.new_context(viewport={"width": width, "height": 900}, locale="sv-SE")
    page_ = context.new_page()
    assert page_.goto(server + link_in(mails_to("nils.nilsson@kommun.example")[0])).ok
    assert "nils.nilsson@kommun.example" in page_.inner_text("main")
    check("choose-password")
    context.close()
    assert not problems, "\n\n".join(f"{name}:\n{report}" for name, report in problems.items())


def test_a_form_without_its_key_is_never_taken_for_the_first_post(w, browser):
    """Without a one-time key there is no telling a double post from a second form: the
    second post is refused as an address with an account, and nothing is made twice."""
    client = browser(w.admin)
    assert new_account(client, form_key="").status_code == 303
    again = new_account(client, form_key="")
    assert again.status_code == 422
    assert "ny.handlaggare@kommun.example har redan ett konto i Insyn" in text_of(again)
    assert len(events("user.create")) == 1
    assert "form" not in events("user.create")[0].detail
