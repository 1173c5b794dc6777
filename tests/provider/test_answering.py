"""Answering an information request: per-type validation, drafts, submit, receipt."""

from __future__ import annotations

import hashlib
import io
import threading
from concurrent.futures import ThreadPoolExecutor

import docx
import pytest
import sqlalchemy as sa

from portal.dates import local
from portal.extensions import db
from portal.models import Attachment, ReviewState, Submission, SubmissionVersion
from tests.conftest import text_of, thread_context
from tests.pdfs import pdf_bytes
from tests.provider.conftest import keys, valid_form


def answer_url(sub) -> str:
    return f"/utforare/arenden/{sub.id}/svar"


def test_request_shows_what_is_asked_and_the_letter(client, w, asked):
    client.login(w.user_a)
    page = text_of(client.get(f"/utforare/arenden/{asked.id}"))
    assert "Kvalitetsredovisning 2026" in page
    for label in (
        "Beskriv arbetet med delaktighet",
        "Antal brukare",
        "Andel undersköterskor",
        "Finns ledningssystem?",
        "Senaste egenkontroll",
        "Kvalitetsberättelse",
    ):
        assert label in page
    assert "Uppgifterna avser den 1 oktober." in page
    letter = client.get(f"/utforare/arenden/{asked.id}/begaran.docx")
    assert letter.status_code == 200
    assert letter.mimetype.endswith("wordprocessingml.document")
    document = docx.Document(io.BytesIO(letter.data))
    text = "\n".join(p.text for p in document.paragraphs)
    cells = [c.text for t in document.tables for r in t.rows for c in r.cells]
    assert "Begäran om information: Kvalitetsredovisning 2026" in text
    assert "Org A AB" in text and asked.request.registration_number in text
    assert asked.deadline.isoformat() in text
    assert "Antal brukare" in cells and "Tal (personer)" in cells
    assert "Procent (0–100)" in cells and "Fil" in cells


def test_valid_answers_are_stored_in_canonical_form(client, w, asked):
    client.login(w.user_a)
    response = client.post(answer_url(asked), data={**valid_form(asked), "action": "save"})
    assert response.status_code == 303
    db.session.refresh(asked)
    k = keys(asked)
    draft = asked.current_draft
    assert draft.answers == {
        k["text"]: "Brukarråd varannan månad.",
        k["number"]: "1234",
        k["percentage"]: "85.5",
        k["yes_no"]: "yes",
        k["date"]: "2026-03-31",
    }
    (file,) = draft.attachments
    assert file.slot == k["file"] and file.display_name == "Kvalitetsberättelse.pdf"
    assert file.sha256 == hashlib.sha256(pdf_bytes()).hexdigest()
    assert asked.state == ReviewState.DRAFT and asked.registration_number is None
    # The form shows the saved answers back, numbers with a decimal comma.
    page = client.get(answer_url(asked)).get_data(as_text=True)
    assert 'value="1234"' in page and 'value="85,5"' in page and "Kvalitetsberättelse.pdf" in page


INVALID = [
    ("number", "tolv", "Ange ett tal"),
    ("number", "1,2,3", "Ange ett tal"),
    ("percentage", "101", "mellan 0 och 100"),
    ("percentage", "-1", "mellan 0 och 100"),
    ("percentage", "mycket", "mellan 0 och 100"),
    ("date", "31/3 2026", "ÅÅÅÅ-MM-DD"),
    ("date", "2026-02-30", "ÅÅÅÅ-MM-DD"),
    ("yes_no", "kanske", "Välj ja eller nej"),
    ("text", "x" * 20_001, "högst 20000 tecken"),
]


@pytest.mark.parametrize(("kind", "value", "message"), INVALID, ids=lambda v: str(v)[:12])
def test_invalid_answer_is_refused_next_to_its_field(client, w, asked, kind, value, message):
    client.login(w.user_a)
    key = keys(asked)[kind]
    response = client.post(
        answer_url(asked), data={**valid_form(asked), key: value, "action": "submit"}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="fld-{key}-error"' in html and message in html
    assert f'href="#fld-{key}"' in html  # the summary links to the field
    assert "Inget är inskickat än" in text_of(response)
    db.session.refresh(asked)
    assert asked.state == ReviewState.DRAFT and asked.submitted_versions == []
    # What was typed is kept in the draft, to be corrected later.
    assert asked.current_draft.answers[key] == value.strip()


@pytest.mark.parametrize("kind", ["text", "number", "percentage", "yes_no", "date", "file"])
def test_required_answer_missing_blocks_submit_but_not_save(client, w, asked, kind):
    client.login(w.user_a)
    form = valid_form(asked)
    del form[keys(asked)[kind]]
    saved = client.post(answer_url(asked), data={**form, "action": "save"})
    assert saved.status_code == 303
    form = valid_form(asked)
    del form[keys(asked)[kind]]
    if kind == "file":
        # The file saved a moment ago is part of the draft; remove it to leave the answer empty.
        db.session.refresh(asked)
        form["remove_file"] = [str(a.id) for a in asked.current_draft.attachments]
    sent = client.post(answer_url(asked), data={**form, "action": "submit"})
    assert sent.status_code == 422
    expected = (
        "Bifoga minst en fil."
        if kind == "file"
        else ("Välj ett av alternativen." if kind == "yes_no" else "Fyll i svaret.")
    )
    assert expected in sent.get_data(as_text=True)
    db.session.refresh(asked)
    assert asked.state == ReviewState.DRAFT


def test_draft_resumed_by_a_colleague_then_submitted_with_receipt(client, w, asked, smtp_server):
    client.login(w.user_a)
    k = keys(asked)
    client.post(answer_url(asked), data={k["text"]: "Påbörjat av Anna", "action": "save"})
    client.post("/logga-ut", data={})
    client.login(w.admin_a)
    page = client.get(answer_url(asked)).get_data(as_text=True)
    assert "Påbörjat av Anna" in page
    response = client.post(answer_url(asked), data={**valid_form(asked), "action": "submit"})
    assert response.status_code == 303
    db.session.refresh(asked)
    assert asked.state == ReviewState.SUBMITTED
    number = asked.registration_number
    assert number.startswith("VON ")
    assert response.location.endswith(f"/utforare/arenden/{asked.id}/kvitto/1")
    receipt = client.get(response.location)
    text = text_of(receipt)
    assert number in text and "Tack!" in text
    (file,) = asked.versions[0].attachments
    assert file.sha256 in text and "Kvalitetsberättelse.pdf" in text
    version = asked.versions[0]
    assert version.frozen and version.submitted_by_id == w.admin_a.id
    assert version.answers[k["text"]] == "Brukarråd varannan månad."

    document = client.get(f"/utforare/arenden/{asked.id}/kvitto/1.docx")
    assert document.status_code == 200
    parsed = docx.Document(io.BytesIO(document.data))
    cells = [c.text for t in parsed.tables for r in t.rows for c in r.cells]
    text = "\n".join(p.text for p in parsed.paragraphs)
    assert "Kvitto på inlämning" in text
    assert number in cells and "Kvalitetsredovisning 2026" in cells
    assert any(w.admin_a.email in c for c in cells)  # who
    assert local(version.submitted_at).strftime("%Y-%m-%d kl. %H:%M") in cells  # when
    assert file.sha256 in cells and "Kvalitetsberättelse.pdf" in cells  # what, and its hash
    assert "1 234 personer".replace(" ", "\u00a0") in cells and "85,5\u00a0%" in cells

    (mail,) = [m for m in smtp_server.to(w.admin_a.email) if m.subject.startswith("Kvitto")]
    assert mail.subject == f"Kvitto: {number} har tagits emot"
    assert not [m for m in smtp_server.to(w.user_a.email) if m.subject.startswith("Kvitto")]
    assert f"/utforare/arenden/{asked.id}/kvitto/1" in mail.body


def test_submitted_answer_cannot_be_changed(client, w, asked):
    client.login(w.user_a)
    client.post(answer_url(asked), data={**valid_form(asked), "action": "submit"})
    k = keys(asked)
    response = client.post(
        answer_url(asked), data={k["text"]: "Ändrat i efterhand", "action": "save"}
    )
    assert response.status_code == 303
    assert "/kvitto/1" in response.location
    assert client.get(answer_url(asked)).status_code == 302
    db.session.refresh(asked)
    assert [v.answers[k["text"]] for v in asked.versions] == ["Brukarråd varannan månad."]


def test_double_clicked_submit_creates_one_submission(client, w, asked):
    client.login(w.user_a)
    form_page = client.get(answer_url(asked)).get_data(as_text=True)
    lock = form_page.split('name="lock_version" value="')[1].split('"')[0]
    first = client.post(
        answer_url(asked), data={**valid_form(asked), "action": "submit", "lock_version": lock}
    )
    second = client.post(
        answer_url(asked), data={**valid_form(asked), "action": "submit", "lock_version": lock}
    )
    assert first.status_code == second.status_code == 303
    assert first.location == second.location  # both end on the receipt
    assert "redan inskickat" in text_of(client.get(second.location))
    db.session.refresh(asked)
    assert len(asked.versions) == 1 and asked.registration_number is not None
    assert asked.registration_number != asked.request.registration_number


def test_concurrent_double_click_on_postgresql(pg_app, make):
    """Two posts of the same submit at the same moment: one submission, both see the receipt."""
    w = make.world()
    from tests.provider.conftest import each_type_fields

    (sub,) = make.info_request(w.committee_x, [w.org_a], w.reviewer_x, fields=each_type_fields())
    db.session.commit()
    clients = [pg_app.test_client() for _ in range(2)]
    for c in clients:
        c.login(w.user_a)
    forms = [
        {**valid_form(sub), "action": "submit", "lock_version": str(sub.lock_version)}
        for _ in clients
    ]
    url = answer_url(sub)
    barrier = threading.Barrier(2)

    def click(job):
        c, form = job
        with thread_context(pg_app):
            barrier.wait()
            return c.post(url, data=form)

    with ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(click, zip(clients, forms, strict=True)))
    assert [r.status_code for r in responses] == [303, 303]
    assert {r.location.rsplit("/", 2)[-2:][0] for r in responses} == {"kvitto"}
    db.session.expire_all()
    versions = db.session.scalars(
        sa.select(SubmissionVersion).where(SubmissionVersion.submission_id == sub.id)
    ).all()
    assert len(versions) == 1 and versions[0].frozen
    numbers = db.session.scalars(
        sa.select(Submission.registration_number).where(Submission.id == sub.id)
    ).all()
    assert numbers[0] is not None
    assert "redan inskickat" in text_of(clients[0].get(responses[0].location)) + text_of(
        clients[1].get(responses[1].location)
    )


def test_colleague_changes_are_not_overwritten(client, w, asked):
    client.login(w.user_a)
    k = keys(asked)
    client.post(answer_url(asked), data={k["text"]: "Första", "action": "save"})
    db.session.refresh(asked)
    opened = asked.lock_version
    client.post(
        answer_url(asked),
        data={k["text"]: "Kollegans text", "action": "save", "lock_version": str(opened)},
    )
    late = client.post(
        answer_url(asked),
        data={k["text"]: "Min gamla text", "action": "save", "lock_version": str(opened)},
    )
    assert late.status_code == 409
    assert "Ärendet har ändrats sedan du öppnade sidan" in text_of(late)
    assert "Min gamla text" in late.get_data(as_text=True)  # kept in the form
    db.session.refresh(asked)
    assert asked.current_draft.answers[k["text"]] == "Kollegans text"


def test_uploaded_file_is_downloadable_and_removable(client, w, asked):
    client.login(w.user_a)
    client.post(answer_url(asked), data={**valid_form(asked), "action": "save"})
    db.session.refresh(asked)
    (file,) = asked.current_draft.attachments
    download = client.get(f"/utforare/filer/{file.id}")
    assert download.status_code == 200 and download.data == pdf_bytes()
    assert "attachment" in download.headers["Content-Disposition"]
    file_id = file.id
    client.post(answer_url(asked), data={"remove_file": str(file_id), "action": "save"})
    assert db.session.scalar(sa.select(Attachment.id).where(Attachment.id == file_id)) is None
    assert client.get(f"/utforare/filer/{file_id}").status_code == 404


def test_refused_upload_is_explained_next_to_the_field(client, w, asked):
    client.login(w.user_a)
    k = keys(asked)
    form = valid_form(asked)
    form[k["file"]] = (io.BytesIO(b"<html><script>alert(1)</script></html>"), "rapport.html")
    response = client.post(answer_url(asked), data={**form, "action": "submit"})
    assert response.status_code == 415
    html = response.get_data(as_text=True)
    assert f'id="fld-{k["file"]}-error"' in html and "HTML-, SVG- och XML-filer kan inte" in html
    db.session.refresh(asked)
    assert asked.state == ReviewState.DRAFT
    assert asked.current_draft.attachments == []
    assert asked.current_draft.answers[k["number"]] == "1234"  # the rest was kept


@pytest.fixture
def small_uploads(app_config):
    app_config["MAX_UPLOAD_BYTES"] = 1024


def test_too_large_upload_gets_413(small_uploads, client, w, asked):
    client.login(w.user_a)
    k = keys(asked)
    form = valid_form(asked)
    form[k["file"]] = (io.BytesIO(b"a" * 5000), "stor.txt")
    response = client.post(answer_url(asked), data={**form, "action": "save"})
    assert response.status_code == 413
    assert "för stor" in text_of(response)
    db.session.refresh(asked)
    assert asked.current_draft is None


@pytest.fixture
def scanning(app_config, clamd_url):
    app_config["CLAMD_URL"] = clamd_url


def test_infected_upload_is_refused_with_real_clamd(scanning, client, w, asked):
    from tests.storage.files import EICAR

    client.login(w.user_a)
    k = keys(asked)
    form = valid_form(asked)
    form[k["file"]] = (io.BytesIO(EICAR), "virus.txt")
    response = client.post(answer_url(asked), data={**form, "action": "submit"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="fld-{k["file"]}-error"' in html and "skadlig kod" in html
    clean = client.post(answer_url(asked), data={**valid_form(asked), "action": "submit"})
    assert clean.status_code == 303
    db.session.refresh(asked)
    (file,) = asked.versions[0].attachments
    assert file.scan_status == "clean"
