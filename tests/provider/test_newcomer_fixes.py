"""What a newcomer tripped on in the provider pages (issue 11): the whole finding, a form that
comes back after a too-large upload, no stray ``?`` in the address, headings that say
something once, a favicon, and the cases that wait for the municipality."""

from __future__ import annotations

import html
import io
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from portal import workflow
from portal.dates import today
from portal.extensions import db
from portal.models import Attachment, Finding, ReviewState, Submission, SubmissionKind
from portal.urls import this_page
from tests.conftest import text_of
from tests.provider.conftest import commit_and_send, keys, valid_form
from tests.provider.test_browser import signed_in
from tests.provider.test_deviation import report_form

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "newcomer"
DEFICIENCIES = (
    "Genomförandeplanerna var inte uppdaterade för fyra av tio granskade brukare. "
    "Två av planerna saknade brukarens underskrift.\n\nRutinen för uppföljning följdes inte."
)
GOAL_EFFECT = "Brukarnas delaktighet i planeringen av insatserna kan inte säkerställas."


def answer_url(submission) -> str:
    return f"/utforare/arenden/{submission.id}/svar"


@pytest.fixture
def finding_plan(w):
    """A finding on org A's agreement that asks for an action plan: the plan (a draft)."""
    plan = workflow.record_finding(
        Finding(
            agreement=w.org_a.agreements[0],
            assessed_on=today() - timedelta(days=3),
            meets_requirements=False,
            deficiencies=DEFICIENCIES,
            goal_effect=GOAL_EFFECT,
            action_plan_due=today() + timedelta(days=30),
        ),
        w.reviewer_x,
    )
    commit_and_send()
    return plan


@pytest.fixture
def deviation(make, w):
    report = make.report(
        SubmissionKind.DEVIATION_REPORT,
        w.org_a,
        w.committee_x,
        w.user_a,
        title="Fall i badrum",
        agreement=w.org_a.agreements[0],
    )
    workflow.save_draft(
        report,
        w.user_a,
        {
            "category": "deviation",
            "severity": "high",
            "description": "En brukare föll.",
            "immediate_measures": "Läkare tillkallad.",
        },
    )
    workflow.submit(report, w.user_a)
    db.session.commit()
    return report


# 4. The whole finding -------------------------------------------------------------------------


def _finding_shown(page: str) -> None:
    for sentence in (
        "Genomförandeplanerna var inte uppdaterade för fyra av tio granskade brukare.",
        "Två av planerna saknade brukarens underskrift.",
        "Rutinen för uppföljning följdes inte.",
        GOAL_EFFECT,
    ):
        assert sentence in page, sentence
    assert "Uppfyller de väsentliga kvalitetskraven Nej" in page
    assert "Åtgärdsplanen ska lämnas senast" in page


def test_the_whole_finding_is_shown_where_the_plan_is_written(client, w, finding_plan):
    client.login(w.user_a)
    _finding_shown(text_of(client.get(answer_url(finding_plan))))
    _finding_shown(text_of(client.get(f"/utforare/arenden/{finding_plan.id}")))
    new_plan = client.get(f"/utforare/atgardsplaner/ny?iakttagelse={finding_plan.finding_id}")
    _finding_shown(text_of(new_plan))


# 5. A refused upload shows the form again ------------------------------------------------------


@pytest.fixture
def small_uploads(app_config):
    app_config["MAX_UPLOAD_BYTES"] = 1024


def _field(page: str, element_id: str) -> str:
    """The value of an input or the text of a textarea with ``element_id``."""
    found = re.search(
        rf'<textarea id="{element_id}"[^>]*>(.*?)</textarea>|'
        rf'<input id="{element_id}"[^>]*value="([^"]*)"',
        page,
        flags=re.S,
    )
    assert found, element_id
    return html.unescape(found.group(1) if found.group(1) is not None else found.group(2))


def _assert_form_again(response, field_id: str) -> str:
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert '<form method="post"' in page and 'id="svar"' in page  # the form, not an error page
    assert 'class="error-summary"' in page and "Det här behöver rättas" in page
    assert f'id="{field_id}-error"' in page  # the message next to the file input
    error = re.search(rf'id="{field_id}-error">([^<]*)<', page).group(1)
    assert "Filen är för stor" in error
    assert f'href="#{field_id}"' in page  # the summary links to it
    return page


def test_too_large_file_shows_the_form_again_with_what_was_written(
    small_uploads, app, client, w, asked
):
    client.login(w.user_a)
    k = keys(asked)
    form = valid_form(asked, note="Kommentaren står efter filen i formuläret.")
    form[k["file"]] = (io.BytesIO(b"a" * 5000), "stor.txt")
    response = client.post(answer_url(asked), data={**form, "action": "save"})
    page = _assert_form_again(response, f"fld-{k['file']}")
    # Everything typed is still there, also what came after the file in the form.
    assert _field(page, f"fld-{k['text']}") == "Brukarråd varannan månad."
    assert _field(page, f"fld-{k['number']}") == "1 234"
    assert _field(page, "note") == "Kommentaren står efter filen i formuläret."
    assert "Inget är sparat. Det ni skrev står kvar nedan" in text_of(response)
    # Nothing was kept: no draft, no file, no spool file.
    db.session.refresh(asked)
    assert asked.current_draft is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0
    spool = Path(app.config["UPLOAD_TMP"])
    assert not spool.exists() or list(spool.iterdir()) == []
    # The same form, sent again without the large file, is saved.
    form[k["file"]] = (io.BytesIO(b"Kvalitet.\n"), "liten.txt")
    again = client.post(answer_url(asked), data={**form, "action": "save"})
    assert again.status_code == 303


def test_too_large_file_in_a_new_deviation_report(small_uploads, client, w):
    client.login(w.user_a)
    form = report_form(w.org_a.agreements[0], action="submit")
    form["attachments"] = (io.BytesIO(b"a" * 5000), "bilaga.txt")
    response = client.post("/utforare/avvikelser/ny", data=form)
    page = _assert_form_again(response, "fld-attachments")
    assert _field(page, "fld-title") == "Fördröjd läkemedelsutdelning"
    assert _field(page, "fld-description").startswith("Kvällens läkemedel")
    assert 'name="form_key" value="' + "k" * 24 + '"' in page  # still the same form
    assert db.session.scalars(sa.select(Submission)).all() == []


def test_too_large_evidence_in_a_new_action_plan(small_uploads, client, w, deviation):
    client.login(w.user_a)
    form = {
        "title": "Åtgärdsplan för fallen",
        "form_key": "p" * 24,
        "measure_count": "1",
        "m-0-description": "Halkskydd i alla badrum",
        "m-0-owner": "Enhetschef",
        "m-0-due": (today() + timedelta(days=30)).isoformat(),
        "m-0-status": "done",
        "m-0-done_on": today().isoformat(),
        "m-0-evidence": (io.BytesIO(b"a" * 5000), "rutin.txt"),
        "action": "save",
    }
    response = client.post(f"/utforare/atgardsplaner/ny?avvikelse={deviation.id}", data=form)
    page = _assert_form_again(response, "m-0-evidence")
    assert _field(page, "m-0-description") == "Halkskydd i alla badrum"
    assert "Åtgärd 1, underlag:" in text_of(response)
    plans = db.session.scalars(
        sa.select(Submission).where(Submission.kind == SubmissionKind.ACTION_PLAN)
    ).all()
    assert plans == []


def test_a_form_that_cannot_be_read_comes_back_as_last_saved(client, w, asked):
    """Too many parts: nothing of the body can be read; the form as saved, with the message."""
    client.login(w.user_a)
    k = keys(asked)
    saved = client.post(answer_url(asked), data={k["text"]: "Sparad text.", "action": "save"})
    assert saved.status_code == 303
    form = {**valid_form(asked), "action": "submit"}
    form.update({f"extra-{n}": "x" for n in range(2000)})
    response = client.post(answer_url(asked), data=form)
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert 'id="svar"' in page and f'id="fld-{k["file"]}-error"' in page
    assert "för stort för att tas emot" in text_of(response)
    assert _field(page, f"fld-{k['text']}") == "Sparad text."  # as last saved
    assert "Nedan står det som senast sparades" in text_of(response)


def test_refused_body_of_someone_signed_out_gets_a_page_with_a_way_back(app, w, asked):
    client = app.test_client()
    token = client.csrf_token()
    asked_id = asked.id
    response = client.post(
        f"/utforare/arenden/{asked_id}/svar?upload_token={token}",
        data={"csrf_token": token, "f1": (io.BytesIO(b"a" * 3_000_000), "stor.txt")},
    )
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "<h1>Det ni skickade kunde inte tas emot</h1>" in page  # a heading, not the message
    assert "du är inte inloggad längre" in text_of(response)
    assert f'<a href="/utforare/arenden/{asked_id}/svar">Tillbaka till formuläret</a>' in page


def test_another_organisations_form_is_never_shown(small_uploads, client, w, asked):
    """Org B's user posting a too-large file to org A's case gets the error page, no form."""
    client.login(w.user_b)
    k = keys(asked)
    form = valid_form(asked)
    form[k["file"]] = (io.BytesIO(b"a" * 5000), "stor.txt")
    response = client.post(answer_url(asked), data={**form, "action": "save"})
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert 'id="svar"' not in page and "Kvalitetsredovisning 2026" not in page


def test_posted_values_are_not_shown_without_a_valid_form_token(small_uploads, client, w, asked):
    client.login(w.user_a)
    k = keys(asked)
    token = client.csrf_token()
    form = valid_form(asked, csrf_token="fel", note="Ska inte visas.")
    form[k["file"]] = (io.BytesIO(b"a" * 5000), "stor.txt")
    response = client.post(f"{answer_url(asked)}?upload_token={token}", data=form)
    assert response.status_code == 413
    assert "Ska inte visas." not in response.get_data(as_text=True)


# 6. No stray "?" ------------------------------------------------------------------------------


def test_this_page_has_no_bare_question_mark_and_no_upload_token(app):
    with app.test_request_context("/utforare/arenden/7/svar"):
        assert this_page() == "/utforare/arenden/7/svar"
    with app.test_request_context("/utforare/arenden/7/svar?upload_token=abc&rader=2"):
        assert this_page() == "/utforare/arenden/7/svar?rader=2"


def _language_next(page: str) -> str:
    action = html.unescape(re.search(r'action="(/sprak/[^"]+)"', page).group(1))
    return parse_qs(urlsplit(action).query)["next"][0]


def test_language_switch_after_the_personal_number_warning_keeps_a_clean_address(client, w):
    client.login(w.user_a)
    form = report_form(w.org_a.agreements[0], description="Brukaren 19121212-1212 föll.")
    warned = client.post("/utforare/avvikelser/ny", data={**form, "action": "submit"})
    assert warned.status_code == 422 and "Texten verkar innehålla personnummer" in text_of(warned)
    (report,) = db.session.scalars(sa.select(Submission)).all()
    back = _language_next(warned.get_data(as_text=True))
    assert back == "/utforare/avvikelser/ny"  # no "?", no upload token
    switched = client.post(f"/sprak/en?next={back}", data={})
    assert switched.location == "/utforare/avvikelser/ny"
    page = client.get(answer_url(report)).get_data(as_text=True)
    assert _language_next(page) == answer_url(report)


# 7. Headings say something, once ---------------------------------------------------------------


def _labels(page: str) -> list[str]:
    """Headings, the kind line above the title and the facts under it, as read."""
    found = re.findall(
        r'<h1>(.*?)(?:<span class="subtitle">(.*?)</span>)?</h1>|<h[23][^>]*>(.*?)</h[23]>|'
        r"<caption[^>]*>(.*?)</caption>|"
        r'<p class="meta">([^<]*)</p>\s*<h1>|<ul class="case-facts">(.*?)</ul>',
        page,
        flags=re.S,
    )
    labels = []
    for groups in found:
        *texts, facts = groups
        if facts:
            texts += re.findall(r"<li>(.*?)</li>", facts, flags=re.S)
        for text in texts:
            text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text))).strip()
            if text:
                labels.append(text.lower())
    return labels


def _no_label_twice(page: str) -> list[str]:
    labels = _labels(page)
    assert len(labels) == len(set(labels)), labels
    return labels


def test_no_heading_repeats_the_kind(client, w, finding_plan, deviation):
    client.login(w.user_a)
    draft = client.post("/utforare/avvikelser/ny", data={**report_form(w.org_a.agreements[0])})
    assert draft.status_code == 303
    own = db.session.scalar(
        sa.select(Submission).where(
            Submission.kind == SubmissionKind.DEVIATION_REPORT,
            Submission.state == ReviewState.DRAFT,
        )
    )
    page = client.get(answer_url(own)).get_data(as_text=True)
    assert _no_label_twice(page)[0] == "rapportera en avvikelse"
    assert "avvikelserapport" not in _labels(page)
    plan_page = client.get(answer_url(finding_plan)).get_data(as_text=True)
    labels = _no_label_twice(plan_page)
    assert labels[0] == "lämna åtgärdsplan"
    assert "planens åtgärder" in labels and "åtgärder" not in labels
    _no_label_twice(client.get(f"/utforare/arenden/{finding_plan.id}").get_data(as_text=True))


def test_action_plan_titles_say_what_they_are_for(client, w, finding_plan, deviation):
    agreement = w.org_a.agreements[0]
    assert finding_plan.title == (
        f"Åtgärdsplan efter uppföljning av avtal {agreement.reference} "
        f"({agreement.service_area.name}, Org A AB)"
    )
    client.login(w.user_a)
    page = client.get(f"/utforare/atgardsplaner/ny?avvikelse={deviation.id}")
    title = f"Åtgärdsplan för avvikelsen ”Fall i badrum” ({deviation.registration_number})"
    assert _field(page.get_data(as_text=True), "fld-title") == title
    assert "Åtgärdsplan:" not in text_of(client.get("/utforare/"))


# 8. favicon -------------------------------------------------------------------------------------


def test_favicon(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.mimetype == "image/vnd.microsoft.icon"
    assert icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    page = client.get("/").get_data(as_text=True)
    assert 'rel="icon" href="/favicon.ico"' in page
    svg = re.search(r'rel="icon" href="([^"]+\.svg)"', page).group(1)
    assert client.get(svg).status_code == 200


# 9. Waiting for the municipality -------------------------------------------------------------


def _waiting_section(client) -> str:
    page = client.get("/utforare/").get_data(as_text=True)
    section = re.search(
        r'<section aria-labelledby="with-municipality-heading">(.*?)</section>', page, re.S
    )
    assert section, "no 'Väntar på kommunen' section"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section.group(1)))


def test_submitted_cases_wait_for_the_municipality_on_the_start_page(client, make, w, asked):
    client.login(w.user_a)
    assert "Inget som ni har skickat in väntar på kommunens beslut." in _waiting_section(client)
    sent = client.post(answer_url(asked), data={**valid_form(asked), "action": "submit"})
    assert sent.status_code == 303
    (other,) = make.info_request(w.committee_x, [w.org_b], w.reviewer_x, title="Org B:s ärende")
    make.submitted(other, w.user_b)
    db.session.commit()
    db.session.refresh(asked)
    section = _waiting_section(client)
    assert "Väntar på kommunen" in section
    assert "Kvalitetsredovisning 2026" in section and asked.registration_number in section
    assert "Org B:s ärende" not in section  # only the organisation's own
    # Decided: no longer waiting.
    workflow.approve(asked, w.reviewer_x)
    commit_and_send()
    assert "Kvalitetsredovisning 2026" not in _waiting_section(client)


# In a real browser -----------------------------------------------------------------------------


def test_the_pages_in_a_browser(browser, server, app, w, asked, finding_plan, deviation, tmp_path):
    """Screenshots for a person to look at (test-artifacts/newcomer/), and the form that comes
    back after a too-large file without JavaScript."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = signed_in(browser, server, w.user_a, javascript=False)
    page.goto(server + "/utforare/")
    assert page.locator("#with-municipality-heading").inner_text() == "Väntar på kommunen"
    assert "Fall i badrum" in page.inner_text("section[aria-labelledby=with-municipality-heading]")
    page.screenshot(path=str(ARTIFACTS / "start.png"), full_page=True)
    page.goto(server + answer_url(finding_plan))
    assert "Två av planerna saknade brukarens underskrift." in page.inner_text("main")
    page.screenshot(path=str(ARTIFACTS / "plan-answer.png"), full_page=True)
    page.goto(f"{server}/utforare/arenden/{finding_plan.id}")
    page.screenshot(path=str(ARTIFACTS / "plan-case.png"), full_page=True)

    # A file over the limit, sent without JavaScript (the server is this app).
    app.config["MAX_UPLOAD_BYTES"] = 1024
    k = keys(asked)
    big = tmp_path / "stor.txt"
    big.write_bytes(b"x" * 5000)
    page.goto(server + answer_url(asked))
    page.fill(f"#fld-{k['text']}", "Skrivet innan filen valdes.")
    page.set_input_files(f"#fld-{k['file']}", str(big))
    page.fill("#note", "Kommentar efter filen.")
    page.click("button[name=action][value=save] >> nth=1")
    page.wait_for_selector("#fel")
    assert page.input_value(f"#fld-{k['text']}") == "Skrivet innan filen valdes."
    assert page.input_value("#note") == "Kommentar efter filen."
    assert "Filen är för stor" in page.inner_text(f"#fld-{k['file']}-error")
    assert page.locator("h1").inner_text().startswith("Svara på begäran")
    page.screenshot(path=str(ARTIFACTS / "too-large-without-javascript.png"), full_page=True)
    page.context.close()
