"""Fuzzing every form with hypothesis: random text with NUL, control characters, unicode
and long strings. No 500, no stack trace, nothing stored with NUL, nothing changed by a
refused form. (The JSON API is fuzzed by schemathesis in tests/public/test_api.py.)"""

from __future__ import annotations

from html.parser import HTMLParser

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.extensions import db
from portal.models import Submission
from tests.security.conftest import changed, client_for

# (who, page with the form); {name} is filled from the world's own objects.
FORMS = [
    ("anonymous", "/logga-in"),
    ("anonymous", "/glomt-losenord"),
    ("anonymous", "/aterstall/{reset_token}"),
    ("anonymous", "/utforare/inbjudan/{token}"),
    ("user_a", "/konto/losenord"),
    ("user_a", "/utforare/arenden/{draft_id}/svar"),
    ("user_a", "/utforare/avvikelser/ny"),
    ("user_a", "/utforare/atgardsplaner/ny"),
    ("admin_a", "/utforare/organisation/bjud-in"),
    ("reviewer_x", "/handlaggare/begaranden/ny"),
    ("reviewer_x", "/handlaggare/utforare/ny"),
    ("reviewer_x", "/handlaggare/avtal/ny"),
    ("reviewer_x", "/handlaggare/avtal/{agreement_id}/iakttagelser/ny"),
    ("reviewer_x", "/handlaggare/uppfoljningsplaner/ny"),
    ("reviewer_x", "/handlaggare/begaranden/{request_id}"),
    ("publisher", "/handlaggare/publicering/{approved_id}"),
    ("admin", "/handlaggare/namnder/ny"),
    ("admin", "/handlaggare/verksamhetsomraden/ny"),
    ("reviewer_x", "/handlaggare/arenden/{submission_id}"),
    ("reviewer_x", "/handlaggare/begaranden/{draft_request_id}"),  # extending the deadline
    ("reviewer_x", "/handlaggare/avtal/{agreement_id}/andra"),
    ("reviewer_x", "/handlaggare/utforare/{provider_id}/andra"),
    ("reviewer_x", "/handlaggare/uppfoljningsplaner/{plan_id}"),
    ("reviewer_x", "/handlaggare/uppfoljningsplaner/{plan_id}/punkter/ny"),
    ("reviewer_x", "/handlaggare/uppfoljningsplaner/{plan_id}/punkter/{item_id}"),
    ("reviewer_x", "/konto/tvafaktor"),
    ("publisher", "/handlaggare/publiceringar/{publication_id}"),
    ("admin", "/handlaggare/namnder/{committee_id}/andra"),
    ("admin", "/handlaggare/verksamhetsomraden/{area_id}/andra"),
    ("admin", "/handlaggare/anvandare/ny"),
    ("admin", "/handlaggare/anvandare/{staff_id}"),
    # Last: its form may require two-factor login of all staff, after which a staff member
    # without an app is sent to set one up before any other page.
    ("admin", "/handlaggare/anvandare"),
]

# POST rules no page above offers a form with input for, and why they need no fuzzing: they
# take nothing but the CSRF token (tests/security/test_csrf.py), or the same form as a rule
# that is fuzzed.
NOT_FUZZED = {
    "/logga-ut": "no input",
    "/sprak/<code>": "no input (the code is in the URL, tested in the matrix)",
    "/utforare/arenden/<int:submission_id>/ta-tillbaka": "no input",
    "/handlaggare/jobb/<int:failure_id>/kor-igen": "no input (a button; the id is in the URL)",
    "/handlaggare/jobb/epost/<int:mail_id>/kor-igen": "no input (a button; the id is in the URL)",
    "/utforare/arenden/<int:submission_id>/skicka-in": (
        "hidden fields of the check page only (lock_version, pii_confirmed); what it sends "
        "is the draft saved through /svar, which is fuzzed"
    ),
    "/utforare/organisation/kollegor/<int:user_id>/aktivera": "no input",
    "/utforare/organisation/kollegor/<int:user_id>/inaktivera": "no input",
    "/utforare/organisation/inbjudningar/<int:invitation_id>/skicka-igen": "no input",
    "/utforare/organisation/inbjudningar/<int:invitation_id>/aterkalla": "no input",
    "/handlaggare/uppfoljningsplaner/<int:plan_id>/punkter/<int:item_id>/ta-bort": "no input",
    "/handlaggare/uppfoljningsplaner/<int:plan_id>/kopiera": "no input",
    "/handlaggare/anvandare/<int:staff_id>/aktivera": "no input",
    "/handlaggare/anvandare/<int:staff_id>/inaktivera": "no input",
    "/handlaggare/anvandare/<int:staff_id>/nollstall-tvafaktor": "no input",
    "/handlaggare/anvandare/<int:staff_id>/skicka-lank": "no input",
    "/logga-in/kod": "the same code form as /konto/tvafaktor",
    "/utforare/atgardsplaner/ny": "needs a submitted deviation or a finding the world has "
    "not; its draft, once made, is the answer form fuzzed above",
}

EXAMPLES = 10
# The provider's forms (answer, deviation, action plan) keep the draft even when some answers
# need correcting (422), so that nothing typed is lost.
DRAFT_KEPT = {"submission", "submission_version"}

nasty = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=200),
    st.sampled_from(
        [
            "\x00",
            "a\x00b",
            "\r\n",
            "\x1b[31m",
            "\u202e",
            "<script>x</script>",
            "' OR 1=1 --",
            "{{7*7}}",
            "../../etc/passwd",
            "-1",
            "0",
            "1e309",
            "2026-13-45",
            "9" * 40,
            "å" * 5000,
            "\ud7ff\ue000",
        ]
    ),
)


class FormFields(HTMLParser):
    """The POST forms of a page: action → {field name: a value the page offers}."""

    def __init__(self):
        super().__init__()
        self.forms: dict[str, dict[str, str]] = {}
        self._form: dict[str, str] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self._form = self.forms.setdefault(a.get("action") or "", {})
        elif self._form is None or not a.get("name") or a.get("type") == "file":
            return
        elif tag in ("input", "textarea"):
            if a.get("type") in ("checkbox", "radio") and a["name"] in self._form:
                return
            self._form[a["name"]] = a.get("value") or ""
        elif tag == "select":
            self._select = a["name"]
            self._form.setdefault(a["name"], "")
        elif tag == "option" and self._select and not self._form[self._select]:
            self._form[self._select] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def forms_of(client, url: str) -> dict[str, dict[str, str]]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    parser = FormFields()
    parser.feed(response.get_data(as_text=True))
    return parser.forms


def counts() -> dict[str, int]:
    """Rows per table (the audit trail aside)."""
    with db.engine.connect() as conn:
        return {
            t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
            for t in db.metadata.sorted_tables
            if t.name != "audit_event"
        }


def rows_with_nul() -> list[str]:
    """Text columns holding a NUL (read back in Python: SQLite's LIKE stops at a NUL)."""
    found = []
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, sa.String | sa.Text)]
            for row in conn.execute(sa.select(*columns)) if columns else ():
                found += [
                    f"{table.name}.{c.name}"
                    for c, value in zip(columns, row, strict=True)
                    if isinstance(value, str) and "\x00" in value
                ]
    return found


def fuzz(client, target: str, values) -> None:
    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(values)
    def post(data):
        before = counts()
        response = client.post(target, data={**data, "csrf_token": client.csrf_token()})
        body = response.get_data(as_text=True)
        assert response.status_code < 500, (target, response.status_code, data)
        assert "Traceback" not in body and 'File "' not in body, target
        if response.status_code >= 400:
            grown = changed(before, counts())
            allowed = DRAFT_KEPT if target.startswith("/utforare/") else set()
            assert set(grown) <= allowed, (target, response.status_code, grown)

    post()


def test_every_form_takes_nasty_input(app, world):
    clients = {}
    fuzzed = 0
    adapter = app.url_map.bind("insyn.test")
    covered = set()
    ids = dict(world.own)
    ids["draft_request_id"] = db.session.get(Submission, ids["draft_id"]).request_id
    for role, page in FORMS:
        client = clients.get(role) or clients.setdefault(role, client_for(app, world, role))
        url = page.format(**ids)
        forms = {
            action: fields
            for action, fields in forms_of(client, url).items()
            if "csrf_token" in fields and action not in ("/logga-ut",)
        }
        assert forms, f"no form found on {url}"
        for action, fields in forms.items():
            target = action or url
            rule, _args = adapter.match(target.split("?")[0], method="POST", return_rule=True)
            if rule.rule in NOT_FUZZED:
                continue  # no input to fuzz (a removal button would take the page's object)
            names = sorted(set(fields) - {"csrf_token"})
            values = st.fixed_dictionaries(
                {name: st.one_of(st.just(fields[name]), nasty) for name in names}
            )

            fuzz(client, target, values)
            fuzzed += 1
            covered.add(rule.rule)
    assert fuzzed >= len(FORMS)
    posts = {r.rule for r in app.url_map.iter_rules() if "POST" in r.methods}
    missing = posts - covered - set(NOT_FUZZED)
    assert not missing, f"POST rules no fuzzed form reaches (add a page to FORMS): {missing}"
    assert not rows_with_nul(), "NUL stored"
