"""A's exports, documents and API hold nothing of B; B's mails link to B's site only.

Two municipalities with a full world each (:mod:`tests.tenancy.across`); B's committees,
areas, registration numbers and files carry words nothing of A uses. Requests run as a
server runs them (:class:`~tests.tenancy.across.ServerLikeClient`: an empty context, the
body read after the request ended), so a streamed export that lost its municipality's
scope shows here.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from portal.dates import today
from tests.tenancy.across import (
    A_BASE,
    B_BASE,
    REFUSED,
    body_text,
    changed,
    csrf_from_page,
    filled_form,
    fingerprint,
    mails_of,
    markers_in,
    open_site,
    outcome,
    says_nothing,
    urls,
)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
LINK = re.compile(r"https?://[^\s<>\"')]+")


@pytest.fixture(scope="module")
def site(database_url, tmp_path_factory):
    yield from open_site(database_url, tmp_path_factory)


# --- 4. exports and documents of A ----------------------------------------------------------


def _a_urls(site) -> list[str]:
    """Every GET rule filled with A's objects, each staff list as CSV too and filtered by
    B's rows, and the yearly report (page, CSV, .docx) of the committee that has the shared
    organisation's cases."""
    b = site.b
    # Every filter of the staff lists, naming B's rows.
    b_filters = (
        f"namnd={b['committee_id']}&omrade={b['area_id']}&begaran={b['request_id']}"
        f"&utforare={site.ids.shared}&avtal={b['agreement_id']}&id={b['submission_id']}"
    )
    out = []
    for _method, rule, url in urls(site.app, site.home, site.a):
        if rule.endpoint in ("static", "auth.logout_view"):
            continue
        out.append(url)
        if rule.rule.startswith("/handlaggare/") and not rule.arguments and "." not in rule.rule:
            out += [f"{url}?format=csv", f"{url}?{b_filters}", f"{url}?{b_filters}&format=csv"]
    report = f"namnd={site.a['committee_id']}&ar={today().year}"
    out += [
        f"/handlaggare/arsrapport?{report}&format=csv",
        f"/handlaggare/arsrapport.docx?{report}",
        "/api/v1/publications?q=publicerad&per_page=100",
        "/api/v1/providers?per_page=100",
        "/api/v1/publications?municipality=provby",
        "/sok?q=publicerad",
        f"/utforare/{site.ids.shared}",
    ]
    return out


def test_no_page_export_document_or_api_answer_of_a_holds_bs_data(site):
    """As A's administrator (every staff page, list and document of A), the shared
    organisation's user (its pages, receipts and letters) and the public (pages, feed,
    API, CSV): no answer of A's site names B's committees, registration numbers, areas,
    files or B itself."""
    clients = {
        role: site.client(A_BASE, email, server_like=True)
        for role, email in (
            ("admin", site.a["users"]["admin"].email),
            ("shared_user", site.ids.s_user.email),
            ("anonymous", None),
        )
    }
    wrong, kinds = [], {"csv": 0, "csv with A's cases": 0, "docx": 0}
    for url in _a_urls(site):
        path = urlsplit(url).path
        if path.startswith(("/handlaggare", "/konto")):
            roles = ("admin",)  # the others are sent to the login page or get 404
        elif path.startswith("/utforare/") and not re.fullmatch(r"/utforare/\d+", path):
            roles = ("shared_user",)
        else:
            roles = tuple(clients)
        for role in roles:
            response = clients[role].get(A_BASE + url)
            got = outcome(response)
            if got.startswith("5"):
                wrong.append(f"{url} as {role}: {got}")
                continue
            if got != "200":
                continue
            kind, content = response.mimetype, body_text(response)
            if kind == "text/csv":
                kinds["csv"] += 1
                kinds["csv with A's cases"] += "VON 20" in content
            elif kind == DOCX:
                kinds["docx"] += 1
            if found := markers_in(content):
                wrong.append(f"{url} as {role} ({kind}): B's {found}")
    assert not wrong, "\n".join(wrong)
    # The crawl read real exports, streamed with A's rows in them, and documents.
    assert kinds["csv"] >= 10 and kinds["csv with A's cases"] >= 3 and kinds["docx"] >= 5, kinds


def test_the_shared_organisations_documents_of_a_name_a_only(site):
    """The shared organisation's request letter and receipt of A, and A's letter to it,
    name A's committee and number, never B's (the organisation's own data spans both)."""
    a = site.a
    shared = site.client(A_BASE, site.ids.s_user.email, server_like=True)
    admin = site.client(A_BASE, a["users"]["admin"].email, server_like=True)
    documents = (
        (shared, f"/utforare/arenden/{a['submission_id']}/begaran.docx"),
        (shared, f"/utforare/arenden/{a['submission_id']}/kvitto/1.docx"),
        (admin, f"/handlaggare/begaranden/{a['request_id']}/brev.docx"),
        (admin, f"/handlaggare/begaranden/{a['request_id']}/brev/{site.ids.shared}.docx"),
    )
    for client, url in documents:
        response = client.get(A_BASE + url)
        assert response.status_code == 200 and response.mimetype == DOCX, url
        content = body_text(response)
        assert "VON 20" in content and not markers_in(content), url


# --- 5. mail links ---------------------------------------------------------------------------


def test_bs_mails_link_to_bs_site_and_the_links_are_404_on_as(site):
    """A clarification asked for on B's site (and every mail of B's world: requests issued,
    receipts, decisions) links to B's host; each link opened on A's site by A's staff or by
    the organisation it was sent to is 404 (or the login page; a password link of B is
    "invalid", as a link that never existed)."""
    b = site.b
    case = b["submission_id"]
    reviewer = site.client(B_BASE, b["users"]["reviewer_x"].email)
    asked = reviewer.post(
        f"{B_BASE}/handlaggare/arenden/{case}/begar-komplettering",
        data={
            "csrf_token": csrf_from_page(reviewer, f"{B_BASE}/handlaggare/arenden/{case}"),
            "question": "Bifoga rutinen, tack.",
            "deadline": (today() + timedelta(days=20)).isoformat(),
        },
    )
    assert outcome(asked) in ("302", "303"), outcome(asked)

    b_mails = mails_of(site.other)
    clarification = [m for m in b_mails if m.subject.startswith("Komplettering begärd")]
    assert clarification, [m.subject for m in b_mails]
    assert f"{B_BASE}/utforare/arenden/{case}" in clarification[0].body
    assert not any(m.subject.startswith("Komplettering") for m in mails_of(site.home))

    wrong = []
    for mails, base in ((b_mails, B_BASE), (mails_of(site.home), A_BASE)):
        for mail in mails:
            for link in LINK.findall(mail.body):
                if not link.startswith(base + "/"):
                    wrong.append(f"mail {mail.subject!r} of {base}: {link}")
    paths = sorted({urlsplit(link).path for m in b_mails for link in LINK.findall(m.body)})
    assert paths
    at_a = {
        "admin": site.client(A_BASE, site.a["users"]["admin"].email),
        "shared_user": site.client(A_BASE, site.ids.s_user.email),
    }
    for path in paths:
        for role, client in at_a.items():
            response = client.get(A_BASE + path)
            got = outcome(response)
            if got not in REFUSED and not says_nothing(client, A_BASE, path, response):
                wrong.append(f"{path} of B's mail, opened on A's site as {role}: {got}")
    # The organisation it was sent to opens it on B's site.
    shared_at_b = site.client(B_BASE, site.ids.s_user.email)
    assert outcome(shared_at_b.get(f"{B_BASE}/utforare/arenden/{case}")) == "200"
    assert not wrong, "\n".join(wrong)


def test_the_welcome_link_of_bs_new_staff_does_nothing_on_as_site(site):
    """B's administrator makes a staff account: its mail links to B's host; on A's site the
    link shows no form for the account and a password sent there sets nothing."""
    admin = site.client(B_BASE, site.b["users"]["admin"].email)
    page = admin.get(f"{B_BASE}/handlaggare/anvandare/ny").get_data(as_text=True)
    values = {"email": "ny-i-lodjursnamnden@insyn.example", "name": "Ny", "role": "reviewer"}
    made = admin.post(f"{B_BASE}/handlaggare/anvandare/ny", data=filled_form(page, values))
    assert outcome(made) in ("302", "303"), outcome(made)
    (welcome,) = [m for m in mails_of(site.other) if m.recipient.startswith("ny-i-lodjur")]
    (link,) = [x for x in LINK.findall(welcome.body) if "/aterstall/" in x]
    assert link.startswith(f"{B_BASE}/aterstall/"), link
    path = urlsplit(link).path

    before = fingerprint(site.other)
    visitor = site.app.test_client()
    shown = visitor.get(A_BASE + path)
    # As for a link that is no link at all: "invalid or too old, ask for a new one".
    assert shown.status_code != 200, "A's site offers the form of B's account"
    assert says_nothing(visitor, A_BASE, path, shown)
    csrf = csrf_from_page(visitor, f"{A_BASE}/glomt-losenord")
    password = "Lodjuret sover i snön 2026"
    sent = visitor.post(
        A_BASE + path, data={"csrf_token": csrf, "password": password, "confirm": password}
    )
    assert outcome(sent) != "200" or "ny-i-lodjur" not in body_text(sent)
    assert not changed(before, fingerprint(site.other))
    # On B's site the link works.
    assert site.app.test_client().get(B_BASE + path).status_code == 200
