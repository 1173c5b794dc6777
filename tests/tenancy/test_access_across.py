"""Nothing of one municipality is reached from another's site ("must not happen", issue 12).

Municipality A (Exempelby, ``http://insyn.test``) and B (Provby, ``http://provby.insyn.test``;
both also at ``http://riks.insyn.test/<slug>/``) each hold a full world
(:mod:`tests.tenancy.across`). Staff of A cannot sign in on B's site and are anonymous
there with A's cookie; signed in at A, every route filled with B's ids is 404 (or the
login page) and no post changes a row of B; an organisation serving both sees each
municipality's own on its site, one serving A alone sees nothing of B.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal import tenancy
from portal.dates import today
from portal.extensions import db
from portal.models import Provider
from tests.conftest import text_of
from tests.security.conftest import ROLES
from tests.tenancy.across import (
    A_BASE,
    A_MARKERS,
    B_BASE,
    B_DATA,
    B_MARKERS,
    NATIONAL_BASE,
    REFUSED,
    TENANT_ARGUMENTS,
    changed,
    client_at,
    cross_references,
    csrf_from_page,
    filled_form,
    fingerprint,
    mails_of,
    markers_in,
    open_site,
    outcome,
    says_nothing,
    sign_in,
    text,
    urls,
)

STAFF = ("reviewer_x", "publisher", "admin")
A_PREFIX = f"{NATIONAL_BASE}/exempelby"
B_PREFIX = f"{NATIONAL_BASE}/provby"
# The shared organisation's cases in each world that its users may open.
PROVIDER_CASES = ("submission_id", "draft_id", "approved_id", "deviation_id")
DECISION_SLUGS = ("begar-komplettering", "godkann", "avsla", "avsluta", "forlang")


@pytest.fixture(scope="module")
def site(database_url, tmp_path_factory):
    yield from open_site(database_url, tmp_path_factory)


# --- 1. staff of A on B's site -------------------------------------------------------------


def test_staff_of_a_cannot_sign_in_on_b_and_fail_as_an_unknown_account_does(site):
    """On B's host (each role) and B's path prefix: the same answer as for an address with
    no account, and no session; a reset link asked for there is sent nowhere. The same
    credentials work on A's site, and B's staff are refused there alike."""
    app, wrong = site.app, []
    for base, roles in ((B_BASE, STAFF), (B_PREFIX, ("reviewer_x",))):
        unknown = sign_in(app.test_client(), base, "ingen-sadan@insyn.example")
        expected = text_of(unknown).replace("ingen-sadan@insyn.example", "<e-post>")
        assert unknown.status_code == 401
        for role in roles:
            email = site.a["users"][role].email
            client = app.test_client()
            response = sign_in(client, base, email)
            if response.status_code != 401:
                wrong.append(f"{base}: A's {role}: {response.status_code}")
            elif text_of(response).replace(email, "<e-post>") != expected:
                wrong.append(f"{base}: A's {role} is refused unlike an unknown account")
            if (got := outcome(client.get(f"{base}/handlaggare/"))) != "login":
                wrong.append(f"{base}: A's {role} reached B's staff start page: {got}")
            csrf = csrf_from_page(client, f"{base}/glomt-losenord")
            client.post(f"{base}/glomt-losenord", data={"csrf_token": csrf, "email": email})
    mailed = [m.recipient for m in (*mails_of(site.home), *mails_of(site.other))]
    if reset := {site.a["users"][role].email for role in STAFF} & set(mailed):
        wrong.append(f"reset links asked for on B's site were sent to {reset}")
    assert outcome(site.client(A_BASE, site.a["users"]["admin"].email).get(A_BASE + "/")) == "200"
    response = sign_in(app.test_client(), A_BASE, site.b["users"]["admin"].email)
    if response.status_code != 401:
        wrong.append(f"{A_BASE}: B's admin: {response.status_code}")
    assert not wrong, "\n".join(wrong)


def test_a_session_of_a_is_anonymous_on_b(site):
    """A's cookie carried by hand to B's host (a browser keeps host-only cookies apart), and
    the one cookie that the path prefixes of the national host share (a browser sends it
    to both): A's staff are signed out in B, and their posts there change nothing."""
    app, b = site.app, site.b
    before = fingerprint(site.other)
    b_pages = (
        "/handlaggare/",
        "/handlaggare/arenden",
        f"/handlaggare/arenden/{b['submission_id']}",
        f"/handlaggare/bilagor/{b['attachment_id']}",
        "/konto/losenord",
    )
    wrong = []
    for role in STAFF:
        email = site.a["users"][role].email
        at_a = site.client(A_BASE, email)
        assert outcome(at_a.get(f"{A_BASE}/handlaggare/")) == "200"
        carried = app.test_client()
        cookie = at_a.get_cookie("session", domain="insyn.test")
        carried.set_cookie("session", cookie.value, domain="provby.insyn.test")

        prefixed = client_at(app, A_PREFIX, email)
        shared = prefixed.get_cookie("session", domain="riks.insyn.test")
        assert shared is not None and shared.path == "/", "one cookie for both prefixes"
        assert outcome(prefixed.get(f"{A_PREFIX}/handlaggare/")) == "200"

        for client, base, signed_in, a_base in (
            (carried, B_BASE, at_a, A_BASE),
            (prefixed, B_PREFIX, prefixed, A_PREFIX),
        ):
            csrf = csrf_from_page(signed_in, f"{a_base}/konto/losenord")
            for page in b_pages:
                if (got := outcome(client.get(base + page))) != "login":
                    wrong.append(f"{base}{page} as A's {role}: {got}")
            # Signed out there: B's login page offers its form, not a start page.
            if (got := outcome(client.get(f"{base}/logga-in"))) != "200":
                wrong.append(f"{base}/logga-in as A's {role}: {got}")
            for path, form in (
                (f"/handlaggare/arenden/{b['submission_id']}/godkann", {"comment": "x"}),
                ("/konto/losenord", {"current": "x", "password": "y" * 20, "confirm": "y" * 20}),
                ("/handlaggare/anvandare/tvafaktor", {"required": "1"}),
            ):
                got = outcome(client.post(base + path, data={"csrf_token": csrf, **form}))
                if got != "login":
                    wrong.append(f"POST {base}{path} as A's {role}: {got}")
    assert not wrong, "\n".join(wrong)
    assert not changed(before, fingerprint(site.other))


# --- 2. B's ids on A's site ----------------------------------------------------------------


def _signed_in_at_a(site) -> dict:
    """Clients on A's site for the signed-in roles of the access matrix (tests/security):
    A's staff, and as "org A" the organisation that serves both, whose side of B's world
    holds the cases (its users could reach them on B's site: the strongest test)."""
    emails = {role: site.a["users"][role].email for role in STAFF}
    emails.update(user_a=site.ids.s_user.email, admin_a=site.ids.s_admin.email)
    return {role: site.client(A_BASE, emails[role]) for role in ROLES if role != "anonymous"}


def _each_decision(calls):
    for method, rule, url in calls:
        if rule.endpoint in ("admin.decide", "admin.decide_page"):
            for slug in DECISION_SLUGS:
                yield method, rule, re.sub(r"/godkann$", f"/{slug}", url)
        else:
            yield method, rule, url


def _form(csrf: str) -> dict:
    """A form that passes the usual validators, so that only access control can stop it."""
    return {
        "csrf_token": csrf,
        "reason": "Skäl",
        "comment": "Kommentar",
        "question": "Komplettera, tack.",
        "deadline": (today() + timedelta(days=30)).isoformat(),
        "name": "Namn",
        "title": "Titel",
        "summary": "Sammanfattning",
        "role": "reviewer",
        "responsible": "Någon",
        "interval": "Löpande",
    }


def _by_query(values: dict) -> list[str]:
    """Pages that take a municipality's row from their query string."""
    year = today().year
    return [
        f"/utforare/atgardsplaner/ny?avvikelse={values['deviation_id']}",
        f"/utforare/arenden?av={values['staff_id']}",
        f"/handlaggare/arsrapport?namnd={values['committee_id']}&ar={year}",
        f"/handlaggare/arsrapport.docx?namnd={values['committee_id']}&ar={year}",
    ]


# A's own objects reach every rule that names a row for at least one role of A (so that
# B's 404s come from B's ids), except: public downloads need files scanned clean, and
# these worlds are made without a scanner.
NOT_REACHED_WITHOUT_SCANNER = {"/publicerat/<int:publication_id>/dokument/<int:document_id>"}


def test_every_page_of_a_with_bs_ids_is_404(site):
    """Every GET rule, filled with B's objects, as every role of A: a rule that names a row
    of B is 404 (or the login page); no page of A shows B's data or fails."""
    clients = _signed_in_at_a(site)
    wrong = []
    calls = [*_each_decision(urls(site.app, site.other, site.b))]
    calls += [("GET", None, url) for url in _by_query(site.b)]
    for _method, rule, url in calls:
        if rule is not None and rule.endpoint == "static":
            continue
        names_b_rows = rule is None or bool(set(rule.arguments) & TENANT_ARGUMENTS)
        # Pages that name no row of B (national rows, or none) are A's own pages: one
        # staff and one provider role look for B's data in them (the export tests crawl
        # A's pages as every role).
        roles = clients if names_b_rows else ("admin", "admin_a")
        for role in roles:
            client = clients[role]
            response = client.get(A_BASE + url)
            got = outcome(response)
            if got != "login" and says_nothing(client, A_BASE, url, response):
                continue
            if got.startswith("5") or (names_b_rows and got not in REFUSED):
                wrong.append(f"GET {url} as {role}: {got}")
            elif got == "200" and (found := markers_in(text(response))):
                wrong.append(f"GET {url} as {role}: B's {found} on A's page")
    # The same rules with A's own objects: each is reached by some role of A.
    for _method, rule, url in urls(site.app, site.home, site.a):
        if rule.rule in NOT_REACHED_WITHOUT_SCANNER or not set(rule.arguments) & TENANT_ARGUMENTS:
            continue
        order = ("user_a", "admin_a") if url.startswith("/utforare") else STAFF[::-1]
        if all(outcome(clients[role].get(A_BASE + url)) in REFUSED for role in order):
            wrong.append(f"GET {url} (A's own objects) is refused to every role: test is void")
    assert not wrong, "\n".join(wrong)


def test_no_post_on_a_with_bs_ids_changes_b(site):
    """Every POST rule that names a row of B, with B's ids, a valid form and the CSRF token
    of A's page, as every role of A: 404 (or the login page), and B's rows, read in B's
    scope, are as they were."""
    clients = _signed_in_at_a(site)
    calls = list(
        _each_decision(urls(site.app, site.other, site.b, methods=("POST",), tenant_only=True))
    )
    assert len(calls) > 25
    before = fingerprint(site.other)
    assert sum(count for count, _digest in before.values()) > 100  # B has rows to lose
    wrong = []
    for role, client in clients.items():
        form = _form(csrf_from_page(client, f"{A_BASE}/konto/losenord"))
        for _method, _rule, url in calls:
            got = outcome(client.post(A_BASE + url, data=form))
            if got not in REFUSED:
                wrong.append(f"POST {url} as {role}: {got}")
                if changes := changed(before, after := fingerprint(site.other)):
                    wrong.append(f"POST {url} as {role} changed B's {changes}")
                    before = after
        if changes := changed(before, after := fingerprint(site.other)):
            wrong.append(f"the posts as {role} changed B's {changes}")
            before = after
    assert not wrong, "\n".join(wrong)


def test_an_address_of_bs_staff_cannot_become_an_account_of_a(site):
    """One address is one login in the whole installation: A's administrator is refused
    (the form again, 422), learns nothing of B, and B's account stays as it was."""
    before = fingerprint(site.other)
    admin = site.client(A_BASE, site.a["users"]["admin"].email)
    page = admin.get(f"{A_BASE}/handlaggare/anvandare/ny").get_data(as_text=True)
    email = site.b["users"]["reviewer_x"].email
    form = filled_form(page, {"email": email, "name": "Ny i A", "role": "reviewer"})
    response = admin.post(f"{A_BASE}/handlaggare/anvandare/ny", data=form)
    assert response.status_code == 422, response.status_code
    assert not markers_in(text(response))
    assert not changed(before, fingerprint(site.other))


def _choosing(site, world: dict, name: str) -> dict[str, dict]:
    """Forms that choose a committee, area or agreement, filled with ``world``'s rows
    (names made unique by ``name``), by path."""
    return {
        "/handlaggare/verksamhetsomraden/ny": {
            "committee_id": world["committee_id"],
            "name": f"Område {name}",
        },
        "/handlaggare/uppfoljningsplaner/ny": {
            "committee_id": world["committee_id"],
            "year": {"b": 2031, "a": 2032}[name],
        },
        "/handlaggare/avtal/ny": {
            "committee_id": world["committee_id"],
            "service_area_id": world["area_id"],
            "provider_id": site.ids.shared,
            "reference": f"AVT-NY-{name}",
            "starts_on": "2026-01-01",
            "yearly_value_sek": "1000",
        },
        "/handlaggare/anvandare/ny": {
            "committees": [world["committee_id"]],
            "email": f"ny-{name}@insyn.example",
            "name": "Ny",
            "role": "reviewer",
        },
        "/utforare/avvikelser/ny": {"agreement_id": world["agreement_id"]},
    }


def test_forms_of_a_that_name_bs_rows_make_nothing_that_points_into_b(site):
    """Each form of A that chooses a committee, area or agreement, posted as a browser
    posts it (its own defaults and keys) with B's rows chosen: nothing of A points at B's
    rows, B's rows are as they were. The same form with A's own rows is accepted."""
    clients = {
        "/handlaggare": site.client(A_BASE, site.a["users"]["admin"].email),
        "/utforare": site.client(A_BASE, site.ids.s_user.email),
    }
    before = fingerprint(site.other)
    wrong = []
    for world, name in ((site.b, "b"), (site.a, "a")):
        for path, values in _choosing(site, world, name).items():
            client = clients["/" + path.split("/")[1]]
            page = client.get(A_BASE + path).get_data(as_text=True)
            response = client.post(A_BASE + path, data=filled_form(page, values))
            got = outcome(response)
            if name == "a" and got not in ("302", "303"):
                wrong.append(f"{path} with A's own rows: {got} (the form is not filled right)")
            elif name == "b" and (got.startswith("5") or markers_in(text(response))):
                wrong.append(f"{path} with B's rows: {got} {markers_in(text(response))}")
    assert not wrong, "\n".join(wrong)
    assert cross_references() == []
    assert not changed(before, fingerprint(site.other))


def test_a_cannot_rename_an_organisation_that_serves_b_alone(site):
    """A national organisation is kept by the municipalities it is registered with: staff of
    A neither see its edit page nor change it with a post."""
    admin = site.client(A_BASE, site.a["users"]["admin"].email)
    url = f"{A_BASE}/handlaggare/utforare/{site.b['org_a']}/andra"
    assert admin.get(url).status_code == 404
    own = f"{A_BASE}/handlaggare/utforare/{site.a['org_a']}/andra"
    form = filled_form(admin.get(own).get_data(as_text=True), {"name": "Omdöpt i Exempelby"})
    assert admin.post(url, data=form).status_code == 404
    db.session.commit()
    with tenancy.use(site.other):
        name = db.session.get(Provider, site.b["org_a"]).name
        db.session.rollback()
    assert name != "Omdöpt i Exempelby"


# --- 3. provider organisations ----------------------------------------------------------


@pytest.mark.parametrize("prefixes", [False, True], ids=["own hosts", "path prefixes"])
def test_an_organisation_serving_both_sees_each_municipalitys_own_on_its_site(site, prefixes):
    """Its user, signed in on each host (or once, on the path prefixes: one cookie, one
    national account), sees on each site that municipality's cases and documents, and the
    other's are 404."""
    a_base, b_base = (A_PREFIX, B_PREFIX) if prefixes else (A_BASE, B_BASE)
    wrong = []
    for base, mine, theirs, foreign, own in (
        (a_base, site.a, site.b, B_MARKERS, "VON 20"),
        (b_base, site.b, site.a, A_MARKERS, "LODJ 20"),
    ):
        client = site.client(a_base if prefixes else base, site.ids.s_user.email)
        for page in ("/utforare/", "/utforare/arenden"):
            body = text(client.get(base + page))
            if own not in body:
                wrong.append(f"{base}{page}: its own cases are missing")
            if found := markers_in(body, foreign):
                wrong.append(f"{base}{page}: the other's {found}")
        for name in PROVIDER_CASES:
            response = client.get(f"{base}/utforare/arenden/{mine[name]}")
            if (got := outcome(response)) != "200":
                wrong.append(f"{base}: own case {name}: {got}")
            elif found := markers_in(text(response), foreign):
                wrong.append(f"{base}: own case {name} shows the other's {found}")
        letter = client.get(f"{base}/utforare/arenden/{mine['submission_id']}/begaran.docx")
        if letter.status_code != 200:
            wrong.append(f"{base}: own request letter: {letter.status_code}")
        for path in (
            *(f"/utforare/arenden/{theirs[name]}" for name in PROVIDER_CASES),
            f"/utforare/arenden/{theirs['submission_id']}/begaran.docx",
            f"/utforare/arenden/{theirs['submission_id']}/kvitto/1",
            f"/utforare/arenden/{theirs['submission_id']}/versioner/1",
            f"/utforare/filer/{theirs['attachment_id']}",
        ):
            if (got := outcome(client.get(base + path))) != "404":
                wrong.append(f"{base}{path} (the other's): {got}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    ("base", "signed_in_at", "roles"),
    [(B_BASE, B_BASE, ("user_a", "admin_a")), (B_PREFIX, A_PREFIX, ("user_a",))],
    ids=["own host", "path prefix, signed in at A's"],
)
def test_an_organisation_serving_a_alone_sees_nothing_on_bs_site(site, base, signed_in_at, roles):
    """Its users (national accounts) may be signed in on B's site, where their pages list
    nothing, of B or of A, and B's cases and their own case of A are 404."""
    wrong = []
    for role in roles:
        client = site.client(signed_in_at, site.a["users"][role].email)
        for _method, rule, url in urls(site.app, site.other, site.b):
            if not rule.rule.startswith("/utforare/") or rule.arguments:
                continue
            response = client.get(base + url)
            got = outcome(response)
            if got.startswith("5"):
                wrong.append(f"{url} as {role}: {got}")
            elif found := markers_in(text(response), B_DATA + A_MARKERS):
                wrong.append(f"{url} as {role}: {found}")
        cases = [site.b[name] for name in PROVIDER_CASES]
        cases += [site.b["alone_submission_id"], site.a["alone_submission_id"]]
        for submission_id in cases:
            got = outcome(client.get(f"{base}/utforare/arenden/{submission_id}"))
            if got != "404":
                wrong.append(f"case {submission_id} as {role}: {got}")
    # On A's site the organisation has its case.
    at_a = site.client(A_BASE, site.a["users"]["user_a"].email)
    assert outcome(at_a.get(f"{A_BASE}/utforare/arenden/{site.a['alone_submission_id']}")) == "200"
    assert not wrong, "\n".join(wrong)
