"""What the newcomer tripped on (issue 11), on the staff pages and the public comparison:
published answers in the order they were asked, files that cannot be published cannot be
chosen, the personal-data guard masks its hits in their context too, the yearly report
opens on something to show and its CSV keeps the choice, the comparison says on a phone
that it has more columns, and a staff form's address opened with GET never answers 405."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from lxml import html as lxml_html

from admin.review import DECISION_BY_SLUG
from portal import workflow
from portal.dates import today
from portal.extensions import db
from portal.models import (
    Attachment,
    FieldType,
    FollowUpForm,
    FollowUpItem,
    FollowUpPlan,
    JobFailure,
    OutboundMail,
    Publication,
    RequestField,
    ScanStatus,
    SubmissionKind,
)
from portal.models.base import utcnow
from portal.pii import find_personal_data, masked_context
from tests.admin.conftest import quality_fields
from tests.admin.helpers import PERSONNUMMER, SAMORDNINGSNUMMER, answer, make_docx, upload
from tests.browser import AXE_OPTIONS
from tests.conftest import text_of
from tests.factories import PASSWORD

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "newcomer-staff"
PHONE = "070-123 45 67"
EMAIL = "anna.andersson@example.se"


def tree(response):
    return lxml_html.fromstring(response.get_data(as_text=True))


def approved(w, make, fields, answers: dict, files=()):
    """Org A's approved answer to a request of committee X; answers and files by field
    position. Returns the submission and its field keys by position."""
    (sub,) = make.info_request(
        w.committee_x,
        [w.org_a],
        w.reviewer_x,
        fields=fields,
        service_area=w.area_x,
        title="Kvalitetsredovisning 2026",
    )
    key = {f.position: f.key for f in sub.request.fields}
    answer(
        sub,
        w.user_a,
        {key[p]: v for p, v in answers.items()},
        files=[(key[p], name, data) for p, name, data in files],
    )
    workflow.approve(sub, w.reviewer_x)
    db.session.commit()
    return sub, key


def publish_url(sub) -> str:
    return f"/handlaggare/publicering/{sub.id}"


# --- 1. answers in the order they were asked -----------------------------------------------


def test_published_answers_are_listed_in_the_order_of_the_request(w, make, browser):
    # Eleven questions, the last one made first: their keys (f<id>) sort as strings in an
    # order that is neither the ids' nor the positions'.
    fields = [
        RequestField(position=p, label=f"Fråga {p}", type=FieldType.TEXT) for p in range(11, 0, -1)
    ]
    sub, key = approved(w, make, fields, {p: f"Svar {p}" for p in range(1, 12)})
    asked = [key[p] for p in range(1, 12)]
    assert sorted(asked) != asked  # string order would differ: the test means something

    client = browser(w.publisher)
    form = client.get(publish_url(sub))
    boxes = tree(form).xpath("//input[@name='answer']/@value")
    assert boxes == asked
    done = client.post(
        publish_url(sub),
        data={
            "title": "Kvalitet 2026",
            "summary": "",
            "action": "publish",
            "answer": sorted(asked),  # the order of the post does not matter
            f"redacted-{key[5]}": "Svar [maskerat]",
        },
    )
    assert done.status_code == 302, text_of(done)
    publication = db.session.scalar(sa.select(Publication))
    assert publication.answer_keys == [k for k in asked if k != key[5]]

    page = tree(client.get(done.location))
    rows = page.xpath("//table[caption='Publicerade svar']/tbody/tr")
    assert [r.xpath("string(th)") for r in rows] == [f"Fråga {p}" for p in range(1, 12)]
    fifth = rows[4].xpath("string(td)")
    assert "Svar [maskerat]" in fifth and "maskerad lydelse" in fifth


def test_a_published_report_lists_its_fields_in_the_order_of_the_form(w, make, browser):
    report = make.report(
        SubmissionKind.DEVIATION_REPORT,
        w.org_a,
        w.committee_x,
        w.user_a,
        title="Fördröjd insats",
        service_area=w.area_x,
    )
    values = {
        "category": "deviation",
        "severity": "medium",
        "occurred_on": "2026-03-02",
        "description": "Insatsen kom två timmar sent.",
        "immediate_measures": "Ny rutin för planeringen.",
    }
    answer(report, w.user_a, values)
    workflow.approve(report, w.reviewer_x)
    db.session.commit()

    client = browser(w.publisher)
    done = client.post(
        publish_url(report),
        data={"title": "Fördröjd insats", "action": "publish", "answer": sorted(values)},
    )
    assert done.status_code == 302, text_of(done)
    rows = tree(client.get(done.location)).xpath("//table[caption='Publicerade svar']/tbody/tr")
    assert [r.xpath("string(th)") for r in rows] == [
        "Kategori",
        "Allvarlighetsgrad",
        "Inträffade",
        "Vad hände",
        "Omedelbara åtgärder",
    ]


# --- 2. files that cannot be published -----------------------------------------------------

UNPUBLISHABLE = {
    "karantan.docx": (ScanStatus.PENDING_SCAN, "karantän och väntar på virusgenomsökning"),
    "avstangd.docx": (ScanStatus.NOT_SCANNED, "inte virusgenomsökt"),
    "smittad.docx": (ScanStatus.INFECTED, "skadlig kod"),
}


def test_files_that_cannot_be_published_cannot_be_chosen(w, make, browser):
    names = ["ren.docx", *UNPUBLISHABLE]
    sub, key = approved(
        w,
        make,
        quality_fields(),
        {1: "142", 2: "Brukarråd varannan månad."},
        files=[(3, name, make_docx(f"Innehåll i {name}.")) for name in names],
    )
    files = {a.display_name: a for a in sub.submitted_versions[-1].attachments}
    files["ren.docx"].scan_status = ScanStatus.CLEAN
    for name, (status, _why) in UNPUBLISHABLE.items():
        files[name].scan_status = status
    db.session.commit()

    client = browser(w.publisher)
    page = tree(client.get(publish_url(sub)))
    clean = page.get_element_by_id(f"document-{files['ren.docx'].id}")
    assert "disabled" not in clean.attrib and "aria-describedby" not in clean.attrib
    for name, (_status, why) in UNPUBLISHABLE.items():
        box = page.get_element_by_id(f"document-{files[name].id}")
        assert "disabled" in box.attrib and "checked" not in box.attrib, name
        reason = page.get_element_by_id(box.get("aria-describedby")).text_content()
        assert why in reason and reason.startswith("Kan inte publiceras"), (name, reason)

    # A post that names them anyway (an old form, a crafted request) is refused, each said.
    refused = client.post(
        publish_url(sub),
        data={
            "title": "Kvalitet 2026",
            "action": "publish",
            "answer": [key[1]],
            "document": [str(a.id) for a in files.values()],
        },
    )
    assert refused.status_code == 422
    summary = tree(refused).xpath("string(//div[@class='error-summary'])")
    for name, (_status, why) in UNPUBLISHABLE.items():
        assert f"{name}: Kan inte publiceras" in summary and why in summary
    assert db.session.scalar(sa.select(Publication.id)) is None

    done = client.post(
        publish_url(sub),
        data={
            "title": "Kvalitet 2026",
            "action": "publish",
            "answer": [key[1]],
            "document": [str(files["ren.docx"].id)],
        },
    )
    assert done.status_code == 302, text_of(done)
    publication = db.session.scalar(sa.select(Publication))
    assert [d.attachment.display_name for d in publication.documents] == ["ren.docx"]


# --- 3. the guard masks its hits in their context ---------------------------------------------


def test_the_guard_masks_a_hit_in_its_context_as_in_its_heading(w, make, browser):
    text = f"Ring {PHONE} eller skriv till {EMAIL}. Brukarens personnummer är {PERSONNUMMER}."
    sub, key = approved(
        w,
        make,
        quality_fields(),
        {1: "142", 2: text},
        files=[(3, "berattelse.docx", make_docx(f"Samordningsnummer {SAMORDNINGSNUMMER}."))],
    )
    attachment = sub.submitted_versions[-1].attachments[0]
    attachment.scan_status = ScanStatus.CLEAN
    db.session.commit()

    checked = browser(w.publisher).post(
        publish_url(sub),
        data={
            "title": "Kvalitet 2026",
            "action": "check",
            "answer": [key[2]],
            "document": [str(attachment.id)],
        },
    )
    assert checked.status_code == 200
    page = tree(checked)
    guard = page.xpath("//section[@class='guard']")[0]
    hits = guard.xpath(".//li[contains(@class, 'hit')]")
    assert len(hits) == 4  # phone, e-mail and personnummer in the answer; the file's number
    shown = guard.text_content()
    for secret in (PHONE, EMAIL, PERSONNUMMER, SAMORDNINGSNUMMER):
        assert secret not in shown
    for hit in hits:
        heading = hit.xpath("string(p)")
        marks = hit.xpath(".//ul[@class='contexts']//mark/text()")
        assert marks and all(m in heading for m in marks), (heading, marks)
    # Its neighbours in the context are masked too, by the same function.
    masked = {h.text: h.masked for h in find_personal_data(text)}
    assert f"Ring {masked[PHONE]} eller skriv till {masked[EMAIL]}." in shown
    # The file's text is on the page only in the guard: nowhere in full.
    assert SAMORDNINGSNUMMER not in checked.get_data(as_text=True)


def test_masked_context_takes_a_neighbour_at_the_edge_whole():
    text = f"{PERSONNUMMER} {'x' * 34} {SAMORDNINGSNUMMER} och mer text efteråt."
    hits = find_personal_data(text)
    first, second = hits
    # The plain window (40 characters) would cut the first number in two.
    assert first.text not in second.before and second.before.startswith("…")
    before, hit, after = masked_context(text, second, hits)
    assert hit == second.masked
    assert before == f"{first.masked} {'x' * 34} " and after == " och mer text efteråt."
    assert re.search(r"\d{3}", before) is None
    assert masked_context(text, second) == (before, hit, after)


# --- 4. the yearly report opens on content and its CSV keeps the choice ---------------------


def test_yearly_report_opens_on_a_committee_with_strategic_agreements(w, make, browser):
    strategic = make.agreement(w.org_a, w.area_x, yearly_value_sek=Decimal(20_000_000))
    db.session.commit()
    # The publisher sees both committees; the first by name has no strategic agreement.
    assert sorted([w.committee_x.name, w.committee_y.name])[0] == w.committee_y.name
    client = browser(w.publisher)
    response = client.get("/handlaggare/arsrapport")
    page = tree(response)
    assert page.xpath("//select[@id='namnd']/option[@selected]/@value") == [str(w.committee_x.id)]
    assert page.xpath("//select[@id='ar']/option[@selected]/@value") == [str(today().year)]
    assert strategic.reference in text_of(response)

    (href,) = page.xpath("//a[contains(., 'CSV')]/@href")
    query = parse_qs(urlsplit(href).query)
    assert query == {
        "namnd": [str(w.committee_x.id)],
        "ar": [str(today().year)],
        "format": ["csv"],
    }
    csv = client.get(href).get_data().decode("utf-8-sig")
    assert strategic.reference in csv and "Org A AB" in csv
    assert (
        f"arsrapport-{w.committee_x.code}-{today().year}"
        in client.get(href).headers["Content-Disposition"]
    )


def test_yearly_report_opens_on_the_last_year_with_strategic_agreements(w, make, browser):
    year = today().year - 2
    ended = make.agreement(
        w.org_b,
        w.area_y,
        yearly_value_sek=Decimal(20_000_000),
        starts_on=date(year - 1, 1, 1),
        ends_on=date(year, 6, 30),
    )
    db.session.commit()
    client = browser(w.reviewer_y)
    for url in ("/handlaggare/arsrapport", f"/handlaggare/arsrapport?namnd={w.committee_y.id}"):
        response = client.get(url)
        page = tree(response)
        assert page.xpath("//select[@id='ar']/option[@selected]/@value") == [str(year)], url
        assert ended.reference in text_of(response)
        (href,) = page.xpath("//a[contains(., 'CSV')]/@href")
        assert parse_qs(urlsplit(href).query)["ar"] == [str(year)]
    # A year asked for is the year shown, even an empty one.
    empty = client.get(f"/handlaggare/arsrapport?namnd={w.committee_y.id}&ar={today().year}")
    assert "Nämnden hade inga strategiska avtal under året." in text_of(empty)
    # With nothing anywhere: the first committee, this year, and no error.
    nothing = browser(w.reviewer_x).get("/handlaggare/arsrapport")
    assert nothing.status_code == 200
    assert tree(nothing).xpath("//select[@id='ar']/option[@selected]/@value") == [str(today().year)]


# --- 5. the comparison on a phone ------------------------------------------------------------


@pytest.fixture
def comparison(w, make):
    fields = [
        RequestField(position=1, label="Antal brukare", type=FieldType.NUMBER, unit="personer"),
        RequestField(position=2, label="Andel med examen", type=FieldType.PERCENTAGE),
        RequestField(position=3, label="Ledningssystem finns", type=FieldType.YES_NO),
        RequestField(position=4, label="Arbetssätt", type=FieldType.TEXT),
    ]
    subs = make.info_request(
        w.committee_x,
        [w.org_a, w.org_b],
        w.reviewer_x,
        service_area=w.area_x,
        fields=fields,
        title="Kvalitetsredovisning hemtjänst 2026",
    )
    keys = [f.key for f in subs[0].request.fields]
    for sub, values in zip(subs, [("142", "78", "yes"), ("64", "65,5", "no")], strict=True):
        make.answered(
            sub, w.reviewer_x, dict(zip(keys, [*values, "Kontaktmannaskap."], strict=True))
        )
        make.published(sub, w.publisher)
    return f"/jamfor/{subs[0].request_id}"


def test_the_comparison_says_on_a_phone_that_it_has_more_columns(chromium, axe, server, comparison):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport={"width": 360, "height": 800}, locale="sv-SE")
    page = context.new_page()
    assert page.goto(server + comparison).status == 200
    page.screenshot(path=str(ARTIFACTS / "compare-360.png"), full_page=True)
    hint = page.locator(".scroll-hint")
    assert hint.is_visible() and hint.inner_text() == "Svep i sidled för att se fler kolumner."
    region = page.get_by_role("region", name=re.compile("Utförarnas svar"))
    assert region.get_attribute("tabindex") == "0"
    assert region.evaluate("e => e.scrollWidth > e.clientWidth + 100")
    # The keyboard reaches the region and scrolls it (WCAG 2.1.1), with visible focus.
    region.focus()
    assert region.evaluate("e => getComputedStyle(e).outlineStyle") != "none"
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    for _ in range(20):  # arrow keys may scroll smoothly
        if region.evaluate("e => e.scrollLeft") > 0:
            break
        page.wait_for_timeout(50)
    assert region.evaluate("e => e.scrollLeft") > 0
    page.screenshot(path=str(ARTIFACTS / "compare-360-scrolled.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    results = axe.run(page, options=AXE_OPTIONS)
    assert len(results.response["passes"]) > 20
    assert not results.violations_count, results.generate_report()

    wide = context.new_page()
    wide.set_viewport_size({"width": 1280, "height": 900})
    wide.goto(server + comparison)
    assert not wide.locator(".scroll-hint").is_visible()
    context.close()


# --- 6. a staff form's address opened with GET ------------------------------------------------


@pytest.fixture
def every_id(w, make):
    """An object of committee X for every kind of id in a staff address."""
    sub, key = approved(
        w,
        make,
        quality_fields(),
        {1: "142", 2: "Brukarråd."},
        files=[(3, "berattelse.docx", make_docx("Berättelse."))],
    )
    original = sub.submitted_versions[-1].attachments[0]
    copy = upload(w.publisher, "berattelse-maskad.docx", make_docx("Maskad."))
    workflow.attach_redacted_copy(original, copy, w.publisher)
    plan = FollowUpPlan(committee=w.committee_x, year=2027)
    plan.items = [
        FollowUpItem(
            service_area=w.area_x,
            form=FollowUpForm.SUPERVISION,
            responsible="Lars Ek",
            interval="Löpande",
        )
    ]
    db.session.add(plan)
    failure = JobFailure(task="deliver_mail", arguments={"mail_id": 0}, error="OSError: down")
    given_up = OutboundMail(recipient="x@kommun.example", subject="s", body="b", failed_at=utcnow())
    db.session.add_all([failure, given_up])
    db.session.commit()
    return {
        "failure_id": [failure.id],
        "mail_id": [given_up.id],
        "submission_id": [sub.id],
        "slug": sorted(DECISION_BY_SLUG),
        "request_id": [sub.request_id],
        "attachment_id": [original.id],
        "copy_id": [copy.id],
        "plan_id": [plan.id],
        "item_id": [plan.items[0].id],
        "staff_id": [w.reviewer_x2.id],
    }


def post_only_staff_urls(app, ids: dict) -> list[str]:
    adapter = app.url_map.bind("localhost")
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin.") or "GET" in rule.methods:
            continue
        missing = rule.arguments - set(ids)
        assert not missing, f"give the test an object for {missing} of {rule.rule}"
        combos = [{}]
        for name in sorted(rule.arguments):
            combos = [{**c, name: value} for c in combos for value in ids[name]]
        for values in combos:
            urls.append(adapter.build(rule.endpoint, values, method="POST"))
    return urls


def test_a_get_on_a_staff_form_address_answers_with_a_page(app, w, browser, every_id):
    """Every POST-only staff address, as the url_map has them: a GET by the administrator
    (who may do everything) leads to a page; a reviewer's or a publisher's leads to a page
    or is refused as the page itself would be (an administrator's page: 404). Never 405."""
    urls = post_only_staff_urls(app, every_id)
    assert len(urls) >= 10

    def outcome(client, url) -> int:
        response = client.get(url)
        if response.status_code != 303:
            return response.status_code
        page = client.get(response.location)
        assert page.mimetype == "text/html", url
        return page.status_code

    admin = browser(w.admin)
    assert {url: outcome(admin, url) for url in urls} == dict.fromkeys(urls, 200)
    for user in (w.reviewer_x, w.publisher):
        client = browser(user)
        for url in urls:
            status = outcome(client, url)
            assert status in (200, 403, 404), (user.role, url, status)
            if status != 200:
                assert "/anvandare" in url or "/jobb" in url, (user.role, url)  # the admin's
    # Nothing was done by those GETs.
    assert db.session.get(Attachment, every_id["copy_id"][0]) is not None
    assert db.session.get(FollowUpItem, every_id["item_id"][0]) is not None


def test_a_failed_decision_can_be_reloaded_and_the_language_switched(w, browser, submitted):
    client = browser(w.reviewer_x)
    failed = client.post(f"/handlaggare/arenden/{submitted.id}/avsla", data={"reason": ""})
    assert failed.status_code == 422
    # Opening the address again (a reload that does not post, a bookmark) shows the case.
    again = client.get(f"/handlaggare/arenden/{submitted.id}/avsla")
    assert again.status_code == 303
    assert again.location.endswith(f"/handlaggare/arenden/{submitted.id}#decide-heading")
    assert "Handläggning" in text_of(client.get(again.location))
    # The language switch on the failed page comes back to its address.
    (switch,) = tree(failed).xpath("//form[contains(@action, 'next=')]/@action")
    back = client.post(switch, data={})
    assert back.status_code in (302, 303)
    assert client.get(back.location).status_code == 303
    # An unknown decision or another committee's case is still not found.
    assert client.get(f"/handlaggare/arenden/{submitted.id}/hittepa").status_code == 404
    assert browser(w.reviewer_y).get(f"/handlaggare/arenden/{submitted.id}/avsla").status_code in (
        403,
        404,
    )


# --- the changed staff pages in a real browser ---------------------------------------------------


class TestInTheBrowser:
    """With the real clamd, as in production: no development banner on the pages."""

    @pytest.fixture
    def app_config(self, app_config, clamd_url):
        app_config["CLAMD_URL"] = clamd_url
        return app_config

    @pytest.mark.parametrize("width", [1280, 360])
    def test_axe_finds_no_violations_on_the_changed_staff_pages(
        self, chromium, axe, server, w, make, width
    ):
        text = f"Ring {PHONE}. Brukarens personnummer är {PERSONNUMMER}."
        sub, key = approved(
            w,
            make,
            quality_fields(),
            {1: "142", 2: text},
            files=[
                (3, name, make_docx(f"Text i {name}.")) for name in ["ren.docx", *UNPUBLISHABLE]
            ],
        )
        for a in sub.submitted_versions[-1].attachments:
            a.scan_status = UNPUBLISHABLE.get(a.display_name, (ScanStatus.CLEAN, ""))[0]
        other, other_key = approved(w, make, quality_fields(), {1: "12", 2: "Inga."})
        publication = workflow.publish(
            other,
            w.publisher,
            title="Kvalitet 2026",
            summary="",
            answer_keys=[other_key[1], other_key[2]],
            documents=[],
        )
        make.agreement(w.org_a, w.area_x, yearly_value_sek=Decimal(20_000_000))
        db.session.commit()

        context = chromium.new_context(viewport={"width": width, "height": 900}, locale="sv-SE")
        page = context.new_page()
        page.goto(server + "/logga-in")
        page.fill("#email", w.publisher.email)
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url("**/handlaggare/")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        problems = {}

        def check(name: str) -> None:
            page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
            results = axe.run(page, options=AXE_OPTIONS)
            assert len(results.response["passes"]) > 20, name
            if results.violations_count:
                problems[name] = results.generate_report()
            overflow = page.evaluate("document.documentElement.scrollWidth")
            assert overflow <= width, (name, overflow)  # WCAG 1.4.10: tables scroll instead

        assert page.goto(server + publish_url(sub)).status == 200
        check("publish")
        page.locator(f"#answer-{key[2]}").check()
        page.get_by_role("checkbox", name="ren.docx").check()
        page.get_by_role("button", name="Kontrollera igen").click()
        page.wait_for_selector(".guard .hit")
        check("publish-guard")
        assert page.goto(server + f"/handlaggare/publiceringar/{publication.id}").status == 200
        check("publication")
        assert page.goto(server + "/handlaggare/arsrapport").status == 200
        check("yearly-report")
        context.close()
        assert not problems, "\n\n".join(f"{name}:\n{report}" for name, report in problems.items())

    def test_a_failed_decision_opened_again_shows_the_case(self, chromium, server, w, submitted):
        context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE")
        page = context.new_page()
        page.goto(server + "/logga-in")
        page.fill("#email", w.reviewer_x.email)
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url("**/handlaggare/")
        page.goto(server + f"/handlaggare/arenden/{submitted.id}")
        with page.expect_navigation():
            page.locator("form.decision-reject button[type=submit]").click()
        assert page.url.endswith("/avsla")
        page.wait_for_selector(".decision-reject .error-summary")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "decision-failed.png"), full_page=True)
        # The address bar's address, opened again (Enter in the address bar, a bookmark).
        response = page.goto(page.url)
        assert response.status == 200
        assert page.url.endswith(f"/handlaggare/arenden/{submitted.id}#decide-heading")
        assert page.get_by_role("heading", name="Handläggning").is_visible()
        page.screenshot(path=str(ARTIFACTS / "decision-opened-again.png"), full_page=True)
        # The language switch on a failed page comes back to its address: the case, not 405.
        with page.expect_navigation():
            page.locator("form.decision-reject button[type=submit]").click()
        with page.expect_navigation():
            page.get_by_role("button", name="In English").click()
        assert page.url.endswith(f"/handlaggare/arenden/{submitted.id}#decide-heading")
        assert page.locator("h2#decide-heading").is_visible()
        context.close()
