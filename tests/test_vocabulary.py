"""One vocabulary (issue 11): every code of the domain has one word, the label table's
(:mod:`portal.labels`), on staff, provider and public pages, in documents and in CSV files,
in Swedish and in English; answers and file sizes read by one set of rules
(:mod:`portal.formatting`).

Documents and staff CSV files are Swedish whatever the page's language; the same codes on
a page asked for in English read as the English catalogue has them.
"""

from __future__ import annotations

import ast
import io
import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from flask_babel import force_locale
from werkzeug.datastructures import FileStorage

from portal import labels, workflow
from portal.attachments import accept_upload
from portal.dates import today
from portal.extensions import db
from portal.formatting import format_file_size
from portal.models import (
    AuditAction,
    DeviationCategory,
    FieldType,
    FollowUpForm,
    FollowUpItem,
    FollowUpPlan,
    Impact,
    MeasureStatus,
    Ownership,
    RequestField,
    ReviewState,
    Role,
    Route,
    Severity,
    SubmissionKind,
)
from storage.spool import size_text
from tests.admin.helpers import docx_text, reopen
from tests.conftest import text_of

ROOT = Path(__file__).resolve().parents[1]


def words(mapping: dict, locale: str) -> list[str]:
    with force_locale(locale):
        return [str(word) for word in mapping.values()]


def assert_named(text: str, mapping: dict, locale: str, where: str) -> None:
    missing = [word for word in words(mapping, locale) if word not in text]
    assert not missing, f"{where} in {locale} lacks {missing}"


def csv_text(response) -> str:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return response.get_data().decode("utf-8-sig")


def docx_of(response) -> str:
    assert response.mimetype.endswith("wordprocessingml.document"), response.status_code
    return docx_text(reopen(response.get_data()))


@pytest.fixture
def w(make, compiled_translations):
    return make.world()


@pytest.fixture
def browser(app):
    """``browser(user, lang)``: a logged-in client whose pages are in ``lang``."""

    def login(user=None, lang="sv"):
        client = app.test_client()
        if user is not None:
            client.login(user)
        client.get(f"/?lang={lang}")
        return client

    return login


# --- the table -----------------------------------------------------------------------------

# Words that are the same in both languages.
SAME_IN_ENGLISH = {"Text"}


@pytest.mark.parametrize("enum", list(labels.TABLES), ids=lambda e: e.__name__)
def test_every_code_has_one_word_in_swedish_and_in_english(app, compiled_translations, enum):
    mapping = labels.TABLES[enum]
    assert list(mapping) == list(enum)
    swedish, english = words(mapping, "sv"), words(mapping, "en")
    for sv, en in zip(swedish, english, strict=True):
        assert sv and en and (en != sv or sv in SAME_IN_ENGLISH), (enum, sv, en)
    # No two codes of a kind share a word (the two administrator roles are told apart by
    # where they work: the municipality or a provider).
    for subset in (labels.STAFF_ROLE, labels.PROVIDER_ROLE) if enum is Role else (mapping,):
        for locale in ("sv", "en"):
            assert len(set(words(subset, locale))) == len(subset), (enum, locale)


def test_the_words_are_the_chosen_ones(app):
    """The decisions of issue 11, where the pages used to disagree."""
    with force_locale("sv"):
        assert labels.label(Ownership.PRIVATE) == "Privat"
        assert labels.label(Ownership.IN_HOUSE) == "Egen regi"
        assert labels.label(Route.CUSTOMER_CHOICE) == "Kundval (LOV)"
        assert labels.label(Severity.CRITICAL) == "Allvarlig"
        assert labels.state_label(ReviewState.DRAFT) == "Utkast"
        assert labels.staff_state_label(ReviewState.DRAFT) == "Inte inskickat ännu"
        assert str(labels.OWNERSHIP_NAME) == "Regiform"
        assert str(labels.AUDIT_ACTION["submission.approve"]) == "Godkänd"


# --- the audit log's actions ----------------------------------------------------------------


@pytest.mark.parametrize("locale", ["sv", "en"])
def test_every_audit_action_has_its_own_word(app, compiled_translations, locale):
    assert set(labels.AUDIT_ACTION) == set(AuditAction)
    assert list(labels.AUDIT_ACTION) == list(AuditAction), "the table keeps the enum's order"
    with force_locale(locale):
        named = {action: str(labels.AUDIT_ACTION[action]) for action in AuditAction}
    assert all(named.values()), [a for a, word in named.items() if not word]
    shared = {
        word: [a.value for a in AuditAction if named[a] == word]
        for word in set(named.values())
        if list(named.values()).count(word) > 1
    }
    assert not shared, shared


def test_every_transition_and_report_start_is_an_audit_action():
    assert set(workflow.TRANSITION_AUDIT) == set(workflow.TRANSITIONS)
    assert all(isinstance(a, AuditAction) for a in workflow.TRANSITION_AUDIT.values())
    startable = {kind for kind in SubmissionKind if kind != SubmissionKind.TRANSPARENCY_INFO}
    assert set(workflow.REPORT_START_AUDIT) == startable


def python_files() -> list[Path]:
    return sorted(p for d in ("portal", "admin", "storage") for p in (ROOT / d).rglob("*.py"))


def _is_audit_record(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "record"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "audit"
        and bool(node.args)
    )


def _written_as_string(node: ast.expr) -> bool:
    """A literal or an f-string; ``a if c else b`` is one when either branch is."""
    if isinstance(node, ast.IfExp):
        return _written_as_string(node.body) or _written_as_string(node.orelse)
    return isinstance(node, ast.Constant | ast.JoinedStr)


def audit_actions_written_as_strings() -> list[str]:
    """``file:line`` of every ``audit.record(...)`` whose action is a string (a literal or
    an f-string), and of every comparison of an ``.action`` with an audit action's string,
    instead of an :class:`AuditAction` member."""
    values = {a.value for a in AuditAction}
    found = []
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            compared = (
                isinstance(node, ast.Compare)
                and isinstance(node.left, ast.Attribute)
                and node.left.attr == "action"
                and any(isinstance(c, ast.Constant) and c.value in values for c in node.comparators)
            )
            if compared or (_is_audit_record(node) and _written_as_string(node.args[0])):
                found.append(f"{path.relative_to(ROOT).as_posix()}:{node.lineno}")
    return found


def test_audit_actions_are_named_by_the_enum():
    written = audit_actions_written_as_strings()
    assert not written, "\n".join(written)


def test_audit_action_names_are_written_only_in_the_enum(app):
    """No module keeps its own string of an action (a constant, or one handed to a helper
    that records it); a page's endpoint that reads the same (``auth.login``) is no action."""
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    names = {a.value for a in AuditAction} - endpoints
    codes = ROOT / "portal" / "models" / "codes.py"
    written = [
        f"{path.relative_to(ROOT).as_posix()}:{node.lineno} {node.value}"
        for path in python_files()
        if path != codes
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and node.value in names
    ]
    assert not written, "\n".join(written)


# --- registry codes: ownership, route, impact ----------------------------------------------


@pytest.fixture
def registry(make, w):
    """A strategic agreement of each route, with providers of each ownership and every
    impact, running this year."""
    providers = [make.provider(f"Regi {o.value}", o) for o in Ownership]
    impacts = list(Impact)
    agreements = [
        make.agreement(
            providers[n % len(providers)],
            w.area_x,
            route=route,
            impact=impacts[n % len(impacts)],
            yearly_value_sek=Decimal(20_000_000),
            starts_on=date(today().year, 1, 1),
        )
        for n, route in enumerate(Route)
    ]
    db.session.commit()
    return providers, agreements


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_ownership_route_and_impact_read_the_same_everywhere(w, registry, browser, lang):
    providers, _agreements = registry
    staff, public = browser(w.admin, lang), browser(lang=lang)
    staff_pages = text_of(staff.get("/handlaggare/avtal")) + text_of(
        staff.get("/handlaggare/utforare")
    )
    public_pages = text_of(public.get("/utforare")) + "".join(
        text_of(public.get(f"/utforare/{p.id}")) for p in providers
    )
    for mapping in (labels.OWNERSHIP, labels.ROUTE, labels.IMPACT):
        assert_named(staff_pages, mapping, lang, "staff pages")
    for mapping in (labels.OWNERSHIP, labels.ROUTE):
        assert_named(public_pages, mapping, lang, "public pages")
    for pages, where in ((staff_pages, "staff pages"), (public_pages, "public pages")):
        assert_named(pages, {"ownership": labels.OWNERSHIP_NAME}, lang, where)

    exported = csv_text(staff.get("/handlaggare/avtal?format=csv")) + csv_text(
        staff.get("/handlaggare/utforare?format=csv")
    )
    for mapping in (labels.OWNERSHIP, labels.ROUTE, labels.IMPACT):
        assert_named(exported, mapping, lang, "staff CSV")
    query = f"namnd={w.committee_x.id}&ar={today().year}"
    report = docx_of(staff.get(f"/handlaggare/arsrapport.docx?{query}"))
    for mapping in (labels.OWNERSHIP, labels.ROUTE):
        assert_named(report, mapping, "sv", "the yearly report (.docx)")


# --- cases: kind and state -----------------------------------------------------------------


@pytest.fixture
def cases(make, w):
    """Org A's cases, one in each state, of every kind."""
    author = w.user_a
    asked = [
        make.info_request(w.committee_x, [w.org_a], w.reviewer_x, title=f"Begäran {n}")[0]
        for n in range(5)
    ]
    draft, clarification, approved, rejected, submitted = asked
    for sub in asked[1:]:
        make.submitted(sub, author, {"text": "svar"})
    workflow.ask_clarification(clarification, w.reviewer_x, "Förtydliga.", today() + timedelta(7))
    workflow.approve(approved, w.reviewer_x)
    workflow.reject(rejected, w.reviewer_x, "Ofullständigt.")
    withdrawn = make.report(SubmissionKind.DEVIATION_REPORT, w.org_a, w.committee_x, author)
    workflow.save_draft(withdrawn, author, {"description": "Fel"})
    workflow.withdraw(withdrawn, author)
    deviation = make.report(SubmissionKind.DEVIATION_REPORT, w.org_a, w.committee_x, author)
    make.submitted(deviation, author, {"category": "error", "severity": "low"})
    plan = make.report(SubmissionKind.ACTION_PLAN, w.org_a, w.committee_x, author)
    make.submitted(plan, author, {"measures": [{"description": "Rutin", "status": "done"}]})
    workflow.approve(plan, w.reviewer_x)
    workflow.close(plan, w.reviewer_x)
    db.session.commit()
    return [draft, clarification, approved, rejected, submitted, withdrawn, deviation, plan]


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_kind_and_state_read_the_same_everywhere(w, cases, browser, lang):
    assert {c.state for c in cases} == set(ReviewState)
    assert {c.kind for c in cases} == set(SubmissionKind)
    provider, staff = browser(w.user_a, lang), browser(w.admin, lang)
    provider_pages = text_of(provider.get("/utforare/arenden")) + "".join(
        text_of(provider.get(f"/utforare/arenden/{c.id}")) for c in cases
    )
    assert_named(provider_pages, labels.KIND, lang, "provider pages")
    assert_named(provider_pages, labels.STATE, lang, "provider pages")
    staff_pages = text_of(staff.get("/handlaggare/arenden?status=alla")) + "".join(
        text_of(staff.get(f"/handlaggare/arenden/{c.id}")) for c in cases if c.submitted_at
    )
    assert_named(staff_pages, labels.KIND, lang, "staff pages")
    shown_to_staff = {s: labels.STAFF_STATE[s] for s in ReviewState if s != ReviewState.WITHDRAWN}
    assert_named(staff_pages, shown_to_staff, lang, "staff pages")

    exported = csv_text(staff.get("/handlaggare/arenden?status=alla&format=csv"))
    assert_named(exported, labels.KIND, lang, "the case list (CSV)")
    assert_named(exported, shown_to_staff, lang, "the case list (CSV)")
    receipts = "".join(
        docx_of(provider.get(f"/utforare/arenden/{c.id}/kvitto/1.docx"))
        for c in cases
        if c.submitted_at
    )
    assert_named(receipts, labels.KIND, "sv", "receipts (.docx)")


# --- a deviation report's codes: category, severity; an action plan's: measure status ------


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_report_codes_read_the_same_everywhere(w, make, browser, lang):
    author, reports = w.user_a, []
    for category, severity in zip(DeviationCategory, Severity, strict=True):
        report = make.report(SubmissionKind.DEVIATION_REPORT, w.org_a, w.committee_x, author)
        answers = {"category": category.value, "severity": severity.value}
        make.answered(report, w.reviewer_x, answers, author=author)
        reports.append(make.published(report, w.publisher))
    plan = make.report(SubmissionKind.ACTION_PLAN, w.org_a, w.committee_x, author)
    measures = [{"description": f"Åtgärd {s.value}", "status": s.value} for s in MeasureStatus]
    make.answered(plan, w.reviewer_x, {"measures": measures}, author=author)
    reports.append(make.published(plan, w.publisher))

    provider, staff, public = browser(author, lang), browser(w.admin, lang), browser(lang=lang)
    # Providers choose among every category and every severity, "Allvarlig" too.
    form = text_of(provider.get("/utforare/avvikelser/ny"))
    assert_named(form, labels.CATEGORY, lang, "the deviation form")
    assert_named(form, labels.SEVERITY, lang, "the deviation form")
    for client, where in ((provider, "provider"), (staff, "staff"), (public, "public")):
        if client is public:
            pages = "".join(text_of(client.get(f"/publicerat/{p.id}")) for p in reports)
        elif client is provider:
            pages = "".join(
                text_of(client.get(f"/utforare/arenden/{p.submission_id}")) for p in reports
            )
        else:
            pages = "".join(
                text_of(client.get(f"/handlaggare/arenden/{p.submission_id}")) for p in reports
            )
        for mapping in (labels.CATEGORY, labels.SEVERITY, labels.MEASURE_STATUS):
            assert_named(pages, mapping, lang, f"{where} pages")
    receipts = "".join(
        docx_of(provider.get(f"/utforare/arenden/{p.submission_id}/kvitto/1.docx")) for p in reports
    )
    for mapping in (labels.CATEGORY, labels.SEVERITY, labels.MEASURE_STATUS):
        assert_named(receipts, mapping, "sv", "receipts (.docx)")


# --- field types, follow-up forms, roles, publication states -------------------------------


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_field_types_and_follow_up_forms_read_the_same_everywhere(w, make, browser, lang):
    (asked,) = make.info_request(w.committee_x, [w.org_a], w.reviewer_x)
    assert {f.type for f in asked.request.fields} == set(FieldType)
    plan = FollowUpPlan(committee=w.committee_x, year=today().year)
    plan.items = [
        FollowUpItem(form=form, responsible="Enhetschef", service_area=w.area_x)
        for form in FollowUpForm
    ]
    db.session.add(plan)
    db.session.commit()
    provider, staff = browser(w.user_a, lang), browser(w.admin, lang)

    questions = text_of(provider.get(f"/utforare/arenden/{asked.id}"))
    with force_locale(lang):
        in_lower_case = {t: str(word).lower() for t, word in labels.FIELD_TYPE.items()}
    assert_named(questions, in_lower_case, lang, "the provider's case page")
    request_page = text_of(staff.get(f"/handlaggare/begaranden/{asked.id}"))
    assert_named(request_page, labels.FIELD_TYPE, lang, "the request page")
    letter = docx_of(provider.get(f"/utforare/arenden/{asked.id}/begaran.docx"))
    assert_named(letter, labels.FIELD_TYPE, "sv", "the request letter (.docx)")

    plan_url = f"/handlaggare/uppfoljningsplaner/{plan.id}"
    assert_named(text_of(staff.get(plan_url)), labels.FOLLOW_UP_FORM, lang, "the plan page")
    exported = csv_text(staff.get(f"{plan_url}?format=csv"))
    assert_named(exported, labels.FOLLOW_UP_FORM, lang, "the plan (CSV)")
    document = docx_of(staff.get(f"{plan_url}/uppfoljningsplan.docx"))
    assert_named(document, labels.FOLLOW_UP_FORM, "sv", "the plan (.docx)")


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_roles_and_publication_states_read_the_same_everywhere(w, make, browser, lang):
    withdrawn = make.publication(w, title="Återkallas")
    workflow.withdraw_publication(withdrawn, w.publisher, "Fel utförare.")
    make.publication(w, title="Står kvar")
    db.session.commit()
    staff, provider_admin = browser(w.admin, lang), browser(w.admin_a, lang)

    assert_named(text_of(staff.get("/handlaggare/anvandare")), labels.STAFF_ROLE, lang, "users")
    exported = csv_text(staff.get("/handlaggare/anvandare?format=csv"))
    assert_named(exported, labels.STAFF_ROLE, lang, "users (CSV)")
    colleagues = text_of(provider_admin.get("/utforare/organisation"))
    assert_named(colleagues, labels.PROVIDER_ROLE, lang, "the provider's organisation")

    listing = text_of(staff.get("/handlaggare/publiceringar"))
    assert_named(listing, labels.PUBLICATION_STATE, lang, "publications")
    exported = csv_text(staff.get("/handlaggare/publiceringar?format=csv"))
    assert_named(exported, labels.PUBLICATION_STATE, lang, "publications (CSV)")


# --- formats -------------------------------------------------------------------------------

SMALL_FILE = b"Kvalitetsberattelse i en mening, sjuttiosju byte lang, bara foer storleken!.\n"


@pytest.fixture
def formatted(make, w):
    """Org A's approved and published answer: a number, a percentage, a date, a yes and a
    file of 77 bytes."""
    assert len(SMALL_FILE) == 77
    fields = [
        RequestField(position=1, label="Antal", type=FieldType.NUMBER, unit="personer"),
        RequestField(position=2, label="Andel", type=FieldType.PERCENTAGE),
        RequestField(position=3, label="Senast", type=FieldType.DATE),
        RequestField(position=4, label="Finns", type=FieldType.YES_NO),
        RequestField(position=5, label="Berättelse", type=FieldType.FILE, required=False),
    ]
    (sub,) = make.info_request(w.committee_x, [w.org_a], w.reviewer_x, fields=fields)
    k = [f.key for f in sub.request.fields]
    draft = workflow.save_draft(
        sub, w.user_a, {k[0]: "1234.5", k[1]: "87.5", k[2]: "2026-03-02", k[3]: "yes"}
    )
    upload = FileStorage(stream=io.BytesIO(SMALL_FILE), filename="berattelse.txt")
    accept_upload(upload, uploader=w.user_a, slot=k[4]).version = draft
    workflow.submit(sub, w.user_a)
    workflow.approve(sub, w.reviewer_x)
    db.session.commit()
    return sub, make.published(sub, w.publisher)


EXPECTED = {
    "sv": ["1 234,5 personer", "87,5 %", "2 mars 2026", "Ja"],
    "en": ["1,234.5 personer", "87.5%", "March 2, 2026", "Yes"],
}


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_answers_read_the_same_on_staff_provider_and_public_pages(w, formatted, browser, lang):
    sub, publication = formatted
    pages = {
        "staff": text_of(browser(w.reviewer_x, lang).get(f"/handlaggare/arenden/{sub.id}")),
        "provider": text_of(browser(w.user_a, lang).get(f"/utforare/arenden/{sub.id}")),
        "public": text_of(browser(lang=lang).get(f"/publicerat/{publication.id}")),
    }
    for where, page in pages.items():
        for expected in EXPECTED[lang]:
            assert expected in page, (where, expected)
    assert "87.5 %" not in pages["staff"] and "1234.5" not in pages["staff"]


def test_file_sizes_and_upload_limits_read_by_one_rule(app):
    mib = 1024 * 1024
    with force_locale("sv"):
        assert [format_file_size(n) for n in (0, 77, 1023, 1536, 20 * 1024, mib)] == [
            "0 B",
            "77 B",
            "1023 B",
            "1,5 kB",
            "20 kB",
            "1,0 MB",
        ]
        assert format_file_size(200 * mib) == size_text(200 * mib) == "200 MB"
    with force_locale("en"):
        assert format_file_size(1536) == "1.5 kB"


def test_file_sizes_read_the_same_everywhere(w, formatted, browser):
    sub, _publication = formatted
    staff = text_of(browser(w.reviewer_x).get(f"/handlaggare/arenden/{sub.id}"))
    provider = browser(w.user_a)
    version = text_of(provider.get(f"/utforare/arenden/{sub.id}/versioner/1"))
    receipt = docx_of(provider.get(f"/utforare/arenden/{sub.id}/kvitto/1.docx"))
    for where, text in (("staff", staff), ("provider", version), ("receipt", receipt)):
        assert "77 B" in text.replace("\u00a0", " "), where
        assert "0 kB" not in text and "77 byte" not in text, where
    assert "87,5\u00a0%" in receipt and "2 mars 2026" in receipt


# --- one word, written once ----------------------------------------------------------------

# Files other engineers are changing now; their copies of the table's words are to go (see
# issue 11): the provider's answer form and check page, and the search package's labels.
PENDING = (
    "portal/provider/answering.py",
    "portal/provider/forms.py",
    "portal/provider/operations.py",
    "portal/provider/views.py",
    "portal/search/",
    "templates/provider/answer",
    "templates/provider/check",
)
# The same word for another idea.
ELSEWHERE = {("templates/public/accessibility.html", "Tillsyn")}  # the supervisory authority


def table_words() -> set[str]:
    """The Swedish words of the codes: the tables, the states as staff see them, the events
    and audit actions, yes and no, and the names the pages used to disagree on."""
    mappings = [
        *labels.TABLES.values(),
        labels.STAFF_STATE,
        labels.EVENT,
        labels.AUDIT_ACTION,
        labels.YES_NO,
        labels.DEVIATION_FIELDS,
    ]
    single = [labels.UNANSWERED, labels.NOT_PUBLISHED, labels.OWNERSHIP_NAME]
    with force_locale("sv"):
        return {str(word) for m in mappings for word in m.values()} | {str(w) for w in single}


def literals() -> list[tuple[str, str]]:
    """(file, text) of every string literal of the code and the templates, but docstrings."""
    found = []
    for path in sorted([*(ROOT / "portal").rglob("*.py"), *(ROOT / "admin").rglob("*.py")]):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        found += [
            (path.relative_to(ROOT).as_posix(), node.value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ]
    for path in sorted((ROOT / "templates").rglob("*.*")):
        text = path.read_text(encoding="utf-8")
        found += [
            (path.relative_to(ROOT).as_posix(), m.group(2))
            for m in re.finditer(r"""(["'])(.*?)\1""", text)
        ]
    return found


def test_each_word_of_the_table_is_written_once(app):
    counted = table_words()
    where: dict[str, list[str]] = {word: [] for word in counted}
    for path, text in literals():
        if text in counted and not path.startswith(PENDING) and (path, text) not in ELSEWHERE:
            where[text].append(path)
    twice = {word: paths for word, paths in where.items() if len(paths) != 1}
    assert not twice, twice
    assert all(paths == ["portal/labels.py"] for paths in where.values())
