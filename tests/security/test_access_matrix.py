"""The access-control matrix: every URL rule × method × role, on own and foreign objects.

Each rule's parameters are filled twice: with the "own" objects (org A, committee X) and
with the "foreign" ones (org B, committee Y). The expected outcome of every call is in
:data:`TABLE`; a rule that is not in it fails :func:`test_every_rule_is_in_the_table`.
Refused POSTs must leave every table row as it was.
"""

from __future__ import annotations

import pytest

from tests.security.conftest import ROLES, changed, client_for, fingerprint, url_for_rule

# "METHOD rule" → expected outcome per role, in the order of ROLES:
#   anonymous, provider user A, provider admin A, reviewer X, publisher (X and Y), admin.
# One string when own and foreign objects give the same, else (own, foreign).
# Codes: an HTTP status, "login" (redirect to the login page), "ok" (a POST that was
# accepted for processing: any answer but a refusal, a login redirect or a server error).
TABLE: dict[str, str | tuple[str, str]] = {
    "GET /": "200 200 200 200 200 200",
    "GET /<municipality>": "308 308 308 308 308 308",
    "GET /api/v1/": "200 200 200 200 200 200",
    "GET /api/v1/committees": "200 200 200 200 200 200",
    "GET /api/v1/comparisons": "200 200 200 200 200 200",
    "GET /api/v1/comparisons/<int:request_id>": "200 200 200 200 200 200",
    "GET /api/v1/comparisons/<int:request_id>.csv": "200 200 200 200 200 200",
    "GET /api/v1/openapi.json": "200 200 200 200 200 200",
    "GET /api/v1/providers": "200 200 200 200 200 200",
    "GET /api/v1/providers.csv": "200 200 200 200 200 200",
    "GET /api/v1/providers/<int:provider_id>": "200 200 200 200 200 200",
    "GET /api/v1/publications": "200 200 200 200 200 200",
    "GET /api/v1/publications.csv": "200 200 200 200 200 200",
    "GET /api/v1/publications/<int:publication_id>": "200 200 200 200 200 200",
    "GET /api/v1/service-areas": "200 200 200 200 200 200",
    "GET /aterstall/<token>": "200 200 200 200 200 200",
    "POST /aterstall/<token>": "ok ok ok ok ok ok",
    "GET /favicon.ico": "200 200 200 200 200 200",
    "GET /flode.atom": "200 200 200 200 200 200",
    "GET /glomt-losenord": "200 200 200 200 200 200",
    "POST /glomt-losenord": "ok ok ok ok ok ok",
    "GET /handlaggare/": "login 404 404 200 200 200",
    "GET /handlaggare/anvandare": "login 404 404 404 404 200",
    "GET /handlaggare/jobb": "login 404 404 404 404 200",
    "POST /handlaggare/jobb/<int:failure_id>/kor-igen": "login 404 404 404 404 ok",
    "POST /handlaggare/jobb/epost/<int:mail_id>/kor-igen": "login 404 404 404 404 ok",
    "GET /handlaggare/jobb/<int:failure_id>/kor-igen": "login 404 404 404 404 303",
    "GET /handlaggare/jobb/epost/<int:mail_id>/kor-igen": "login 404 404 404 404 303",
    "GET /handlaggare/anvandare/<int:staff_id>": "login 404 404 404 404 200",
    "POST /handlaggare/anvandare/<int:staff_id>": "login 404 404 404 404 ok",
    # The buttons' addresses opened with GET lead back to the page of the button (303).
    "GET /handlaggare/anvandare/<int:staff_id>/aktivera": "login 404 404 404 404 303",
    "POST /handlaggare/anvandare/<int:staff_id>/aktivera": "login 404 404 404 404 ok",
    "GET /handlaggare/anvandare/<int:staff_id>/inaktivera": "login 404 404 404 404 303",
    "POST /handlaggare/anvandare/<int:staff_id>/inaktivera": "login 404 404 404 404 ok",
    "GET /handlaggare/anvandare/<int:staff_id>/nollstall-tvafaktor": "login 404 404 404 404 303",
    "POST /handlaggare/anvandare/<int:staff_id>/nollstall-tvafaktor": "login 404 404 404 404 ok",
    "GET /handlaggare/anvandare/<int:staff_id>/skicka-lank": "login 404 404 404 404 303",
    "POST /handlaggare/anvandare/<int:staff_id>/skicka-lank": "login 404 404 404 404 ok",
    "GET /handlaggare/anvandare/ny": "login 404 404 404 404 200",
    "POST /handlaggare/anvandare/ny": "login 404 404 404 404 ok",
    "GET /handlaggare/anvandare/tvafaktor": "login 404 404 404 404 303",
    "POST /handlaggare/anvandare/tvafaktor": "login 404 404 404 404 ok",
    "GET /handlaggare/arenden": "login 404 404 200 200 200",
    "GET /handlaggare/arenden/<int:submission_id>": (
        "login 404 404 200 200 200",
        "login 404 404 404 200 200",
    ),
    # A decision form's address opened with GET leads to the case (303), not 405.
    "GET /handlaggare/arenden/<int:submission_id>/<slug>": (
        "login 404 404 303 303 303",
        "login 404 404 404 303 303",
    ),
    "POST /handlaggare/arenden/<int:submission_id>/<slug>": (
        "login 404 404 ok 404 ok",
        "login 404 404 404 404 ok",
    ),
    "GET /handlaggare/arsrapport": "login 404 404 200 200 200",
    "GET /handlaggare/arsrapport.docx": "login 404 404 200 200 200",
    "GET /handlaggare/avtal": "login 404 404 200 200 200",
    "GET /handlaggare/avtal/<int:agreement_id>": (
        "login 404 404 200 200 200",
        "login 404 404 404 200 200",
    ),
    "GET /handlaggare/avtal/<int:agreement_id>/andra": (
        "login 404 404 200 404 200",
        "login 404 404 404 404 200",
    ),
    "POST /handlaggare/avtal/<int:agreement_id>/andra": (
        "login 404 404 ok 404 ok",
        "login 404 404 404 404 ok",
    ),
    "GET /handlaggare/avtal/<int:agreement_id>/iakttagelser/ny": (
        "login 404 404 200 404 200",
        "login 404 404 404 404 200",
    ),
    "POST /handlaggare/avtal/<int:agreement_id>/iakttagelser/ny": (
        "login 404 404 ok 404 ok",
        "login 404 404 404 404 ok",
    ),
    "GET /handlaggare/avtal/ny": "login 404 404 200 404 200",
    "POST /handlaggare/avtal/ny": "login 404 404 ok 404 ok",
    "GET /handlaggare/begaranden": "login 404 404 200 200 200",
    "GET /handlaggare/begaranden/<int:request_id>": (
        "login 404 404 200 200 200",
        "login 404 404 404 200 200",
    ),
    "GET /handlaggare/begaranden/<int:request_id>/brev.docx": (
        "login 404 404 200 200 200",
        "login 404 404 404 200 200",
    ),
    "GET /handlaggare/begaranden/<int:request_id>/brev/<int:provider_id>.docx": (
        "login 404 404 200 200 200",
        "login 404 404 404 200 200",
    ),
    "GET /handlaggare/begaranden/<int:request_id>/forlang": (
        "login 404 404 303 303 303",
        "login 404 404 404 303 303",
    ),
    "POST /handlaggare/begaranden/<int:request_id>/forlang": (
        "login 404 404 ok 404 ok",
        "login 404 404 404 404 ok",
    ),
    "GET /handlaggare/begaranden/ny": "login 404 404 200 404 200",
    "POST /handlaggare/begaranden/ny": "login 404 404 ok 404 ok",
    "GET /handlaggare/bilagor/<int:attachment_id>": (
        "login 404 404 200 200 200",
        "login 404 404 404 200 200",
    ),
    "GET /handlaggare/iakttagelser": "login 404 404 200 200 200",
    "GET /handlaggare/logg": "login 404 404 404 404 200",
    "GET /handlaggare/namnder": "login 404 404 200 200 200",
    "GET /handlaggare/namnder/<int:committee_id>/andra": "login 404 404 404 404 200",
    "POST /handlaggare/namnder/<int:committee_id>/andra": "login 404 404 404 404 ok",
    "GET /handlaggare/namnder/ny": "login 404 404 404 404 200",
    "POST /handlaggare/namnder/ny": "login 404 404 404 404 ok",
    "GET /handlaggare/publicering": "login 404 404 200 200 200",
    "GET /handlaggare/publicering/<int:submission_id>": "login 404 404 404 200 200",
    "POST /handlaggare/publicering/<int:submission_id>": "login 404 404 404 ok ok",
    # To the publish page for a publisher, to the case for a reviewer who may see it.
    "GET /handlaggare/publicering/<int:submission_id>/bilagor/<int:attachment_id>/maskad": (
        "login 404 404 303 303 303",
        "login 404 404 404 303 303",
    ),
    "POST /handlaggare/publicering/<int:submission_id>/bilagor/<int:attachment_id>/maskad": "login 404 404 404 ok ok",  # noqa: E501
    "GET /handlaggare/publicering/<int:submission_id>/maskade/<int:copy_id>/ta-bort": (
        "login 404 404 303 303 303",
        "login 404 404 404 303 303",
    ),
    "POST /handlaggare/publicering/<int:submission_id>/maskade/<int:copy_id>/ta-bort": "login 404 404 404 ok ok",  # noqa: E501
    "GET /handlaggare/publiceringar": "login 404 404 200 200 200",
    "GET /handlaggare/publiceringar/<int:publication_id>": (
        "login 404 404 200 200 200",
        "login 404 404 404 200 200",
    ),
    "POST /handlaggare/publiceringar/<int:publication_id>": "login 404 404 404 ok ok",
    "GET /handlaggare/uppfoljningsplaner": "login 404 404 200 200 200",
    "GET /handlaggare/uppfoljningsplaner/<int:plan_id>": (
        "login 404 404 200 200 200",
        "login 404 404 404 200 200",
    ),
    "POST /handlaggare/uppfoljningsplaner/<int:plan_id>": (
        "login 404 404 ok 404 ok",
        "login 404 404 404 404 ok",
    ),
    "GET /handlaggare/uppfoljningsplaner/<int:plan_id>/kopiera": (
        "login 404 404 303 303 303",
        "login 404 404 404 303 303",
    ),
    "POST /handlaggare/uppfoljningsplaner/<int:plan_id>/kopiera": (
        "login 404 404 ok 404 ok",
        "login 404 404 404 404 ok",
    ),
    "GET /handlaggare/uppfoljningsplaner/<int:plan_id>/punkter/<int:item_id>": (
        "login 404 404 200 404 200",
        "login 404 404 404 404 200",
    ),
    "POST /handlaggare/uppfoljningsplaner/<int:plan_id>/punkter/<int:item_id>": (
        "login 404 404 ok 404 ok",
        "login 404 404 404 404 ok",
    ),
    "GET /handlaggare/uppfoljningsplaner/<int:plan_id>/punkter/<int:item_id>/ta-bort": (
        "login 404 404 303 303 303",
        "login 404 404 404 303 303",
    ),
    "POST /handlaggare/uppfoljningsplaner/<int:plan_id>/punkter/<int:item_id>/ta-bort": (
        "login 404 404 ok 404 ok",
        "login 404 404 404 404 ok",
    ),
    "GET /handlaggare/uppfoljningsplaner/<int:plan_id>/punkter/ny": (
        "login 404 404 200 404 200",
        "login 404 404 404 404 200",
    ),
    "POST /handlaggare/uppfoljningsplaner/<int:plan_id>/punkter/ny": (
        "login 404 404 ok 404 ok",
        "login 404 404 404 404 ok",
    ),
    "GET /handlaggare/uppfoljningsplaner/<int:plan_id>/uppfoljningsplan.docx": (
        "login 404 404 200 200 200",
        "login 404 404 404 200 200",
    ),
    "GET /handlaggare/uppfoljningsplaner/ny": "login 404 404 200 404 200",
    "POST /handlaggare/uppfoljningsplaner/ny": "login 404 404 ok 404 ok",
    "GET /handlaggare/utforare": "login 404 404 200 200 200",
    "GET /handlaggare/utforare/<int:provider_id>": "login 404 404 200 200 200",
    "GET /handlaggare/utforare/<int:provider_id>/andra": "login 404 404 200 404 200",
    "POST /handlaggare/utforare/<int:provider_id>/andra": "login 404 404 ok 404 ok",
    "GET /handlaggare/utforare/ny": "login 404 404 200 404 200",
    "POST /handlaggare/utforare/ny": "login 404 404 ok 404 ok",
    "GET /handlaggare/verksamhetsomraden": "login 404 404 200 200 200",
    "GET /handlaggare/verksamhetsomraden/<int:area_id>/andra": "login 404 404 404 404 200",
    "POST /handlaggare/verksamhetsomraden/<int:area_id>/andra": "login 404 404 404 404 ok",
    "GET /handlaggare/verksamhetsomraden/ny": "login 404 404 404 404 200",
    "POST /handlaggare/verksamhetsomraden/ny": "login 404 404 404 404 ok",
    "GET /healthz": "200 200 200 200 200 200",
    "GET /jamfor": "200 200 200 200 200 200",
    "GET /jamfor/<int:request_id>": "200 200 200 200 200 200",
    "GET /jamfor/<int:request_id>.csv": "200 200 200 200 200 200",
    "GET /konto/losenord": "login 200 200 200 200 200",
    "POST /konto/losenord": "login ok ok ok ok ok",
    "GET /konto/tvafaktor": "login 404 404 200 200 200",
    "POST /konto/tvafaktor": "login 404 404 ok ok ok",
    "GET /logga-in": "200 302 302 302 302 302",
    "POST /logga-in": "ok ok ok ok ok ok",
    "GET /logga-in/kod": "login login login login login login",
    "POST /logga-in/kod": "login login login login login login",
    "POST /logga-ut": "ok ok ok ok ok ok",
    "GET /om": "200 200 200 200 200 200",
    "GET /oppna-data": "200 200 200 200 200 200",
    "GET /publicerat/<int:publication_id>": "200 200 200 200 200 200",
    "GET /publicerat/<int:publication_id>/dokument/<int:document_id>": "200 200 200 200 200 200",
    "GET /readyz": "200 200 200 200 200 200",
    "GET /sok": "200 200 200 200 200 200",
    "POST /sprak/<code>": "ok ok ok ok ok ok",
    "GET /static/<path:filename>": "200 200 200 200 200 200",
    "GET /tillganglighet": "200 200 200 200 200 200",
    "GET /utforare": "200 200 200 200 200 200",
    "GET /utforare/": "login 200 200 404 404 404",
    "GET /utforare/<int:provider_id>": "200 200 200 200 200 200",
    "GET /utforare/arenden": "login 200 200 404 404 404",
    "GET /utforare/arenden/<int:submission_id>": (
        "login 200 200 404 404 404",
        "login 404 404 404 404 404",
    ),
    "GET /utforare/arenden/<int:submission_id>/begaran.docx": (
        "login 200 200 404 404 404",
        "login 404 404 404 404 404",
    ),
    "GET /utforare/arenden/<int:submission_id>/kvitto/<int:number>": (
        "login 200 200 404 404 404",
        "login 404 404 404 404 404",
    ),
    "GET /utforare/arenden/<int:submission_id>/kvitto/<int:number>.docx": (
        "login 200 200 404 404 404",
        "login 404 404 404 404 404",
    ),
    "GET /utforare/arenden/<int:submission_id>/svar": (
        "login 200 200 404 404 404",
        "login 404 404 404 404 404",
    ),
    "POST /utforare/arenden/<int:submission_id>/svar": (
        "login ok ok 404 404 404",
        "login 404 404 404 404 404",
    ),
    "GET /utforare/arenden/<int:submission_id>/filer/status": (
        "login 200 200 404 404 404",
        "login 404 404 404 404 404",
    ),
    "GET /utforare/arenden/<int:submission_id>/kontrollera": (
        "login 303 303 404 404 404",
        "login 404 404 404 404 404",
    ),
    "GET /utforare/arenden/<int:submission_id>/skicka-in": (
        "login 303 303 404 404 404",
        "login 404 404 404 404 404",
    ),
    "POST /utforare/arenden/<int:submission_id>/skicka-in": (
        "login ok ok 404 404 404",
        "login 404 404 404 404 404",
    ),
    "POST /utforare/arenden/<int:submission_id>/ta-tillbaka": (
        "login ok ok 404 404 404",
        "login 404 404 404 404 404",
    ),
    "GET /utforare/arenden/<int:submission_id>/versioner/<int:number>": (
        "login 200 200 404 404 404",
        "login 404 404 404 404 404",
    ),
    "GET /utforare/atgardsplaner/ny": "login 200 200 404 404 404",
    "POST /utforare/atgardsplaner/ny": "login ok ok 404 404 404",
    "GET /utforare/avvikelser/ny": "login 200 200 404 404 404",
    "POST /utforare/avvikelser/ny": "login ok ok 404 404 404",
    "GET /utforare/filer/<int:attachment_id>": (
        "login 200 200 404 404 404",
        "login 404 404 404 404 404",
    ),
    "GET /utforare/inbjudan/<token>": "200 409 409 409 409 409",
    "POST /utforare/inbjudan/<token>": "ok 409 409 409 409 409",
    "GET /utforare/organisation": "login 404 200 404 404 404",
    "GET /utforare/organisation/bjud-in": "login 404 200 404 404 404",
    "POST /utforare/organisation/bjud-in": "login 404 ok 404 404 404",
    "POST /utforare/organisation/inbjudningar/<int:invitation_id>/aterkalla": (
        "login 404 ok 404 404 404",
        "login 404 404 404 404 404",
    ),
    "POST /utforare/organisation/inbjudningar/<int:invitation_id>/skicka-igen": (
        "login 404 ok 404 404 404",
        "login 404 404 404 404 404",
    ),
    "POST /utforare/organisation/kollegor/<int:user_id>/aktivera": (
        "login 404 ok 404 404 404",
        "login 404 404 404 404 404",
    ),
    "POST /utforare/organisation/kollegor/<int:user_id>/inaktivera": (
        "login 404 ok 404 404 404",
        "login 404 404 404 404 404",
    ),
}

REFUSED = {"login", "401", "403", "404", "405", "409", "410"}


def calls(app):
    """Every (method, rule) of the app, HEAD and OPTIONS aside."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, rule


def expected(key: str, side: str) -> list[str]:
    entry = TABLE[key]
    own, foreign = (entry, entry) if isinstance(entry, str) else entry
    return (own if side == "own" else foreign).split()


def outcome(response) -> str:
    response.get_data()
    response.close()
    if response.status_code in (302, 303) and "/logga-in" in (response.location or ""):
        return "login"
    return str(response.status_code)


def test_every_rule_is_in_the_table(app):
    keys = {f"{method} {rule.rule}" for method, rule in calls(app)}
    missing = sorted(keys - set(TABLE))
    assert not missing, "rules missing from TABLE (add their expected outcomes):\n" + "\n".join(
        missing
    )
    assert not set(TABLE) - keys, f"TABLE names rules the app no longer has: {set(TABLE) - keys}"
    for key in TABLE:
        for side in ("own", "foreign"):
            assert len(expected(key, side)) == len(ROLES), key


def test_foreign_objects_are_404_for_provider_and_committee_roles(app):
    """The table itself keeps the promise: org B's and committee Y's objects are 404 (never
    403, never data) for org A's users and committee X's reviewer."""
    for key, entry in TABLE.items():
        if isinstance(entry, str):
            continue
        foreign = expected(key, "foreign")
        for role in ("user_a", "admin_a", "reviewer_x"):
            assert foreign[ROLES.index(role)] in ("404", "login"), (key, role)


def test_matrix(app, world):
    """Every call as every role; refused POSTs change nothing, accepted ones are last."""
    clients = {role: client_for(app, world, role) for role in ROLES}
    wrong, accepted_posts = [], []
    for method, rule in calls(app):
        key = f"{method} {rule.rule}"
        if key not in TABLE:
            continue  # reported by test_every_rule_is_in_the_table
        for side in ("own", "foreign"):
            url = url_for_rule(rule, getattr(world, side))
            for role, want in zip(ROLES, expected(key, side), strict=True):
                if method == "POST" and want == "ok":
                    accepted_posts.append((key, side, role, url))
                    continue
                client = clients[role]
                before = fingerprint() if method == "POST" else None
                got = outcome(client.open(url, method=method, data=_form(client, method)))
                if got != want:
                    wrong.append(f"{key} [{side}] as {role}: {got}, expected {want}")
                if before is not None:
                    after = fingerprint()
                    if changed(before, after):
                        wrong.append(
                            f"{key} [{side}] as {role} ({got}) changed {changed(before, after)}"
                        )
    # Logging out last, so the other accepted posts still run signed in.
    accepted_posts.sort(key=lambda call: call[0] == "POST /logga-ut")
    done = set()
    for key, side, role, url in accepted_posts:
        client = clients[role]
        got = outcome(client.open(url, method="POST", data=_form(client, "POST")))
        # An earlier accepted post may have decided or removed the object (409, 404 then).
        later = (key, side) in done and got in ("404", "409")
        done.add((key, side))
        if (got in REFUSED and not later) or got.startswith("5"):
            wrong.append(f"{key} [{side}] as {role}: {got}, expected it accepted")
    assert not wrong, "\n".join(wrong)


def _form(client, method: str) -> dict | None:
    """A form that fills the usual fields, with a valid CSRF token (a refusal must come from
    access control, not from the token)."""
    if method != "POST":
        return None
    return {"csrf_token": client.csrf_token(), "reason": "Skäl", "comment": "x"}


@pytest.mark.parametrize("role", ["user_a", "admin_a"])
def test_provider_roles_never_see_org_b_data(app, world, role):
    """Beyond status codes: org B's name and files appear on no provider page of org A."""
    client = client_for(app, world, role)
    for method, rule in calls(app):
        if method != "GET" or not rule.rule.startswith("/utforare/") or rule.arguments:
            continue
        body = client.get(rule.rule).get_data(as_text=True)
        assert "Org B AB" not in body and "b-godkand" not in body, rule.rule


OTHER_METHODS = ("PUT", "PATCH", "DELETE")


@pytest.mark.parametrize("role", ["anonymous", "admin"])
def test_methods_a_rule_does_not_take_are_405_and_change_nothing(app, world, role):
    """The matrix calls each rule with its own methods; every other one is refused (405, not a
    login redirect or a page), for nobody and for the most privileged role alike."""
    client = client_for(app, world, role)
    wrong = []
    before = fingerprint()
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        url = url_for_rule(rule, world.own)
        for method in OTHER_METHODS:
            if method in rule.methods:
                wrong.append(f"{method} {rule.rule}: the app takes {method}; add it to TABLE")
                continue
            data = {"csrf_token": client.csrf_token(), "reason": "Skäl"}
            got = outcome(client.open(url, method=method, data=data))
            if got != "405":
                wrong.append(f"{method} {rule.rule} as {role}: {got}")
    assert not changed(before, fingerprint())
    assert not wrong, "\n".join(wrong)
