"""Every POST rule refuses a form without a CSRF token (400), even from a user who may
post it, and changes nothing. The JSON API is read-only and has no POST rule at all."""

from __future__ import annotations

from tests.security.conftest import ROLES, changed, client_for, fingerprint, url_for_rule
from tests.security.test_access_matrix import expected


def post_rules(app):
    return sorted(
        (r for r in app.url_map.iter_rules() if "POST" in r.methods), key=lambda r: r.rule
    )


def test_the_api_takes_no_posts(app):
    api = [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/")]
    assert api, "no API rules found"
    for rule in api:
        assert rule.methods - {"HEAD", "OPTIONS"} == {"GET"}, rule.rule


def test_every_post_without_a_token_is_400_and_changes_nothing(app, world):
    clients = {}
    rules = post_rules(app)
    assert len(rules) > 30
    refused = []
    for rule in rules:
        # The first role that may post here (on its own objects), as the matrix says; the
        # second login step (/logga-in/kod) has none: anonymous then.
        role = next(
            (
                r
                for r, want in zip(ROLES, expected(f"POST {rule.rule}", "own"), strict=True)
                if want == "ok"
            ),
            "anonymous",
        )
        client = clients.get(role) or clients.setdefault(role, client_for(app, world, role))
        url = url_for_rule(rule, world.own)
        before = fingerprint()
        response = client.post(
            url,
            data={"reason": "Skäl", "comment": "x", "email": "a@b.example", "password": "x" * 20},
            csrf=False,
        )
        body = response.get_data(as_text=True)
        if response.status_code != 400 or "säkerhetskod" not in body:
            refused.append(f"{rule.rule} as {role}: {response.status_code}")
        if changed(before, fingerprint()):
            refused.append(f"{rule.rule} as {role} changed {changed(before, fingerprint())}")
    assert not refused, "\n".join(refused)


def test_a_token_of_another_session_is_refused(app, world):
    """A token is bound to its session: one lifted from another browser does not work."""
    attacker = app.test_client()
    stolen = attacker.csrf_token()
    victim = client_for(app, world, "reviewer_x")
    victim.csrf_token()  # the victim's session has its own token
    before = fingerprint()
    url = f"/handlaggare/arenden/{world.own['submission_id']}/godkann"
    response = victim.post(url, data={"csrf_token": stolen, "comment": ""})
    assert response.status_code == 400
    assert not changed(before, fingerprint())
