"""Publishing with the personal-data guard, redacted copies and withdrawal.

These tests run with the real clamd, so uploaded files are scanned clean and can be
published (files that were never scanned are never published).
"""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from portal import workflow
from portal.extensions import db
from portal.models import (
    Attachment,
    AuditEvent,
    Publication,
    PublicationState,
    ScanStatus,
    Submission,
)
from tests.admin.helpers import (
    BAD_CHECKSUM,
    PERSONNUMMER,
    PERSONNUMMER_SHORT,
    SAMORDNINGSNUMMER,
    answer,
    make_docx,
)
from tests.conftest import text_of
from tests.pdfs import pdf_bytes


@pytest.fixture
def app_config(app_config, clamd_url):
    app_config["CLAMD_URL"] = clamd_url
    return app_config


def approved(w, make, answers: dict, files=()) -> Submission:
    """An approved answer of org A to committee X with the given answers and files."""
    from tests.admin.conftest import quality_fields

    (sub,) = make.info_request(
        w.committee_x,
        [w.org_a],
        w.reviewer_x,
        fields=quality_fields(),
        title="Kvalitetsredovisning 2026",
    )
    keys = [f.key for f in sub.request.fields]
    answer(
        sub,
        w.user_a,
        {keys[i]: v for i, v in answers.items()},
        files=[(keys[2], name, data) for name, data in files],
    )
    workflow.approve(sub, w.reviewer_x)
    db.session.commit()
    sub.keys = keys
    return sub


def publish_form(sub: Submission, **extra) -> dict:
    data = {
        "title": "Kvalitet i hemtjänsten 2026",
        "summary": "Omsorgshusets svar.",
        "action": "publish",
        "answer": [sub.keys[0], sub.keys[1]],
    }
    data.update(extra)
    return data


def test_personnummer_in_a_docx_blocks_until_a_redacted_copy_replaces_it(w, make, browser, app):
    original = make_docx("Brukaren Anna Andersson,", f"personnummer {PERSONNUMMER}, föll.")
    sub = approved(w, make, {0: "142", 1: "Brukarråd."}, files=[("berattelse.docx", original)])
    attachment = sub.submitted_versions[-1].attachments[0]
    assert attachment.scan_status == ScanStatus.CLEAN
    client = browser(w.publisher)

    page = text_of(client.get(f"/handlaggare/publicering/{sub.id}"))
    assert "Kontroll av personuppgifter" in page
    blocked = client.post(
        f"/handlaggare/publicering/{sub.id}", data=publish_form(sub, document=[str(attachment.id)])
    )
    assert blocked.status_code == 422
    text = text_of(blocked)
    assert "Publiceringen är stoppad: 1 fynd" in text
    assert "Personnummer ********-**12" in text
    # The context masks the hit as the heading does: the page never shows it in full.
    assert "personnummer <mark>********-**12</mark>, föll." in blocked.get_data(as_text=True)
    assert "19121212-1212" not in blocked.get_data(as_text=True)
    assert db.session.scalar(sa.select(Publication.id)) is None

    redacted = make_docx("Brukaren [maskerad],", "personnummer [maskerat], föll.")
    uploaded = client.post(
        f"/handlaggare/publicering/{sub.id}/bilagor/{attachment.id}/maskad",
        data={"file": (io.BytesIO(redacted), "berattelse-maskad.docx")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 302
    copy = db.session.scalar(sa.select(Attachment).where(Attachment.redacts_id == attachment.id))
    assert copy is not None and copy.version_id is None and copy.scan_status == ScanStatus.CLEAN

    published = client.post(
        f"/handlaggare/publicering/{sub.id}", data=publish_form(sub, document=[str(attachment.id)])
    )
    assert published.status_code == 302, text_of(published)
    publication = db.session.scalar(sa.select(Publication))
    (document,) = publication.documents
    assert document.attachment_id == attachment.id and document.redacted_id == copy.id
    assert PERSONNUMMER not in publication.search_text

    # The public sees the redacted copy, never the original.
    citizen = app.test_client()
    public = citizen.get(f"/publicerat/{publication.id}/dokument/{document.id}")
    assert public.status_code == 200 and public.get_data() == redacted
    public_page = citizen.get(f"/publicerat/{publication.id}").get_data(as_text=True)
    assert "berattelse-maskad.docx" in public_page and "berattelse.docx" not in public_page
    assert PERSONNUMMER not in public_page


def test_samordningsnummer_in_a_pdf_can_be_overridden_with_a_reason(w, make, browser):
    pdf = pdf_bytes(f"Kvalitetsberattelse 2026\nSamordningsnummer {SAMORDNINGSNUMMER}")
    sub = approved(w, make, {0: "142", 1: "Brukarråd."}, files=[("berattelse.pdf", pdf)])
    attachment = sub.submitted_versions[-1].attachments[0]
    client = browser(w.publisher)
    url = f"/handlaggare/publicering/{sub.id}"
    checked = client.post(
        url, data=publish_form(sub, document=[str(attachment.id)], action="check")
    )
    assert checked.status_code == 200
    html = checked.get_data(as_text=True)
    assert "Samordningsnummer" in text_of(checked)
    token = html.split('name="override-')[1].split('"')[0]

    without_reason = client.post(
        url, data=publish_form(sub, document=[str(attachment.id)], **{f"override-{token}": "  "})
    )
    assert without_reason.status_code == 422

    reason = "Numret är ett fiktivt exempel ur Skatteverkets anvisningar."
    ok = client.post(
        url, data=publish_form(sub, document=[str(attachment.id)], **{f"override-{token}": reason})
    )
    assert ok.status_code == 302
    publication = db.session.scalar(sa.select(Publication))
    assert publication.documents[0].redacted_id is None
    event = db.session.scalar(sa.select(AuditEvent).filter_by(action="publication.pii_override"))
    assert event.detail["reason"] == reason
    assert event.detail["kind"] == "samordningsnummer"
    assert event.detail["source"] == f"file:{attachment.id}"
    assert SAMORDNINGSNUMMER not in str(event.detail), "the audit trail keeps it masked"
    page = text_of(client.get(f"/handlaggare/publiceringar/{publication.id}"))
    assert reason in page


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f"Kontakt: {PERSONNUMMER_SHORT}", "Personnummer"),
        (f"Kontakt: {PERSONNUMMER}", "Personnummer"),
        ("Ring 070-123 45 67", "Telefonnummer"),
        ("Skriv till anna.andersson@omsorgshuset.example", "E-postadress"),
    ],
)
def test_answers_with_personal_data_are_caught(w, make, browser, text, kind):
    sub = approved(w, make, {0: "142", 1: text})
    response = browser(w.publisher).post(
        f"/handlaggare/publicering/{sub.id}", data=publish_form(sub)
    )
    assert response.status_code == 422
    assert kind in text_of(response)
    assert db.session.scalar(sa.select(Publication.id)) is None


@pytest.mark.parametrize(
    "text",
    [
        f"Löpnummer {BAD_CHECKSUM}",
        "Serienummer 19121212-0000",
        "Organisationsnummer 556677-8899",
        "Antal: 20261231",
    ],
)
def test_answers_without_valid_numbers_pass(w, make, browser, text):
    sub = approved(w, make, {0: "142", 1: text})
    response = browser(w.publisher).post(
        f"/handlaggare/publicering/{sub.id}", data=publish_form(sub)
    )
    assert response.status_code == 302, text_of(response)
    assert db.session.scalar(sa.select(Publication.answer_keys)) == sorted(sub.keys[:2])


def test_a_redacted_wording_replaces_an_answer(w, make, browser, app):
    sub = approved(w, make, {0: "142", 1: f"Brukarråd. Kontakt {PERSONNUMMER}."})
    client = browser(w.publisher)
    url = f"/handlaggare/publicering/{sub.id}"
    form = client.post(url, data=publish_form(sub, action="check")).get_data(as_text=True)
    assert f'name="redacted-{sub.keys[1]}"' in form
    ok = client.post(url, data=publish_form(sub, **{f"redacted-{sub.keys[1]}": "Brukarråd."}))
    assert ok.status_code == 302, text_of(ok)
    publication = db.session.scalar(sa.select(Publication))
    assert publication.answer_keys == [sub.keys[0]]
    assert publication.redacted_answers == {sub.keys[1]: "Brukarråd."}
    public = app.test_client().get(f"/publicerat/{publication.id}").get_data(as_text=True)
    assert "Brukarråd." in public and PERSONNUMMER not in public


def test_answers_not_meant_for_publication_are_not_chosen_by_default(w, make, browser):
    sub = approved(w, make, {0: "142", 1: "Brukarråd.", 3: "Anna, 070-123 45 67"})
    page = browser(w.publisher).get(f"/handlaggare/publicering/{sub.id}").get_data(as_text=True)
    assert f'value="{sub.keys[0]}" checked' in page
    assert f'value="{sub.keys[3]}">' in page, "offered, not chosen"
    assert "begärdes inte för publicering" in page
    assert "Inga personuppgifter hittades" in page


def test_a_pdf_without_text_needs_a_decision(w, make, browser):
    sub = approved(w, make, {0: "142", 1: "Brukarråd."}, files=[("skannad.pdf", pdf_bytes())])
    attachment = sub.submitted_versions[-1].attachments[0]
    response = browser(w.publisher).post(
        f"/handlaggare/publicering/{sub.id}", data=publish_form(sub, document=[str(attachment.id)])
    )
    assert response.status_code == 422
    assert "Texten kunde inte läsas" in text_of(response)
    assert "textlager" in text_of(response)


def test_withdraw_keeps_the_record_with_a_public_reason(w, make, browser, app):
    pdf = pdf_bytes("Ingen personinformation här")
    sub = approved(w, make, {0: "142", 1: "Brukarråd."}, files=[("rapport.pdf", pdf)])
    attachment = sub.submitted_versions[-1].attachments[0]
    client = browser(w.publisher)
    client.post(
        f"/handlaggare/publicering/{sub.id}", data=publish_form(sub, document=[str(attachment.id)])
    )
    publication = db.session.scalar(sa.select(Publication))
    document = publication.documents[0]
    assert client.get(f"/publicerat/{publication.id}/dokument/{document.id}").status_code == 200

    url = f"/handlaggare/publiceringar/{publication.id}"
    assert client.post(url, data={"reason": ""}).status_code == 422
    assert browser(w.reviewer_x).post(url, data={"reason": "Fel"}).status_code == 404
    response = client.post(url, data={"reason": "Uppgifterna var inaktuella."})
    assert response.status_code == 302
    publication = db.session.get(Publication, publication.id)
    assert publication.state == PublicationState.WITHDRAWN
    assert publication.withdrawn_reason == "Uppgifterna var inaktuella."
    citizen = app.test_client()
    assert citizen.get(f"/publicerat/{publication.id}/dokument/{document.id}").status_code == 410
    assert "Uppgifterna var inaktuella." in text_of(citizen.get(f"/publicerat/{publication.id}"))


def test_only_publishers_of_the_committee_reach_publishing(w, make, browser):
    sub = approved(w, make, {0: "142", 1: "Brukarråd."}, files=[("a.pdf", pdf_bytes("Text"))])
    attachment = sub.submitted_versions[-1].attachments[0]
    from portal.models import Role

    other_publisher = make.user(Role.PUBLISHER, committees=[w.committee_y])
    db.session.commit()
    for user in (w.reviewer_x, w.reviewer_y, other_publisher, w.user_a):
        client = browser(user)
        assert client.get(f"/handlaggare/publicering/{sub.id}").status_code == 404
        assert (
            client.post(f"/handlaggare/publicering/{sub.id}", data=publish_form(sub)).status_code
            == 404
        )
        upload = client.post(
            f"/handlaggare/publicering/{sub.id}/bilagor/{attachment.id}/maskad",
            data={"file": (io.BytesIO(pdf_bytes("x")), "x.pdf")},
            content_type="multipart/form-data",
        )
        assert upload.status_code == 404
    assert db.session.scalar(sa.select(Publication.id)) is None
    assert (
        db.session.scalar(sa.select(Attachment.id).where(Attachment.redacts_id.is_not(None)))
        is None
    )


def test_each_attachment_is_approved_for_publication_on_its_own(w, make, browser, app):
    from tests.admin.conftest import quality_fields

    (sub,) = make.info_request(
        w.committee_x,
        [w.org_a],
        w.reviewer_x,
        fields=quality_fields(),
        title="Kvalitetsredovisning 2026",
    )
    keys = [f.key for f in sub.request.fields]
    chosen_data = make_docx("Kvalitetsberättelse utan personuppgifter.")
    answer(
        sub,
        w.user_a,
        {keys[0]: "142", keys[1]: "Brukarråd."},
        files=[
            (keys[2], "berattelse.docx", chosen_data),
            (keys[2], "intern-lista.pdf", pdf_bytes("Intern arbetslista")),
        ],
    )
    workflow.approve(sub, w.reviewer_x)
    db.session.commit()
    sub.keys = keys
    chosen, left_out = sub.submitted_versions[-1].attachments
    client = browser(w.publisher)
    page = client.get(f"/handlaggare/publicering/{sub.id}").get_data(as_text=True)
    for attachment in (chosen, left_out):
        assert f'name="document" value="{attachment.id}"' in page

    response = client.post(
        f"/handlaggare/publicering/{sub.id}", data=publish_form(sub, document=[str(chosen.id)])
    )
    assert response.status_code == 302, text_of(response)
    publication = db.session.scalar(sa.select(Publication))
    assert [d.attachment_id for d in publication.documents] == [chosen.id]
    citizen = app.test_client()
    public_page = citizen.get(f"/publicerat/{publication.id}").get_data(as_text=True)
    assert "berattelse.docx" in public_page and "intern-lista.pdf" not in public_page
    (document,) = publication.documents
    assert (
        citizen.get(f"/publicerat/{publication.id}/dokument/{document.id}").get_data()
        == chosen_data
    )


def approved_with_document(w, make, kind: str, *lines: str):
    """An approved answer with one document ("rapport.docx" or ".pdf") holding ``lines``."""
    data = make_docx(*lines) if kind == "docx" else pdf_bytes("\n".join(lines))
    sub = approved(w, make, {0: "142", 1: "Brukarråd."}, files=[(f"rapport.{kind}", data)])
    return sub, sub.submitted_versions[-1].attachments[0]


@pytest.mark.parametrize("kind", ["docx", "pdf"])
def test_numbers_that_are_not_identity_numbers_do_not_block_a_document(w, make, browser, kind):
    sub, attachment = approved_with_document(
        w,
        make,
        kind,
        f"Löpnummer {BAD_CHECKSUM}",
        "Serienummer 19121212-0000",
        "Organisationsnummer 556677-8899",
    )
    client = browser(w.publisher)
    checked = client.post(
        f"/handlaggare/publicering/{sub.id}",
        data=publish_form(sub, document=[str(attachment.id)], action="check"),
    )
    assert "Inga personuppgifter hittades" in text_of(checked)
    response = client.post(
        f"/handlaggare/publicering/{sub.id}", data=publish_form(sub, document=[str(attachment.id)])
    )
    assert response.status_code == 302, text_of(response)
    assert db.session.scalar(sa.select(Publication.id)) is not None


@pytest.mark.parametrize("kind", ["docx", "pdf"])
def test_personal_data_in_a_document_blocks_it(w, make, browser, kind):
    sub, attachment = approved_with_document(
        w,
        make,
        kind,
        f"Brukare {PERSONNUMMER_SHORT} flyttade.",
        "Kontakt: anna@omsorgshuset.example",
        "Ring 070-123 45 67",
    )
    response = browser(w.publisher).post(
        f"/handlaggare/publicering/{sub.id}", data=publish_form(sub, document=[str(attachment.id)])
    )
    assert response.status_code == 422
    text = text_of(response)
    assert "Publiceringen är stoppad: 3 fynd" in text
    for kind_label in ("Personnummer", "E-postadress", "Telefonnummer"):
        assert kind_label in text
    assert db.session.scalar(sa.select(Publication.id)) is None


def test_a_redacted_copy_can_be_replaced_until_it_is_published(w, make, browser):
    original = make_docx(f"Personnummer {PERSONNUMMER}.")
    sub = approved(w, make, {0: "142", 1: "Brukarråd."}, files=[("berattelse.docx", original)])
    attachment = sub.submitted_versions[-1].attachments[0]
    client = browser(w.publisher)
    url = f"/handlaggare/publicering/{sub.id}"

    def upload_copy(text: str):
        return client.post(
            f"{url}/bilagor/{attachment.id}/maskad",
            data={"file": (io.BytesIO(make_docx(text)), "maskad.docx")},
            content_type="multipart/form-data",
        )

    assert upload_copy(f"Fortfarande {PERSONNUMMER}.").status_code == 302
    copy_id = db.session.scalar(
        sa.select(Attachment.id).where(Attachment.redacts_id == attachment.id)
    )
    still_there = client.post(url, data=publish_form(sub, document=[str(attachment.id)]))
    assert still_there.status_code == 422, "the copy itself is checked too"
    assert client.post(f"{url}/maskade/{copy_id}/ta-bort", data={}).status_code == 302
    assert db.session.get(Attachment, copy_id) is None
    assert db.session.scalar(
        sa.select(AuditEvent).filter_by(action="attachment.redacted_copy_removed")
    )

    assert upload_copy("Personnummer [maskerat].").status_code == 302
    good = db.session.scalar(sa.select(Attachment).where(Attachment.redacts_id == attachment.id))
    assert (
        client.post(url, data=publish_form(sub, document=[str(attachment.id)])).status_code == 302
    )
    assert client.post(f"{url}/maskade/{good.id}/ta-bort", data={}).status_code == 404, (
        "a published copy stays"
    )
    assert db.session.get(Attachment, good.id) is not None


# --- the provider's confidentiality markings (sekretessmarkering) ----------------------------

MARK_REASON = "Uppgiften rör en enskild brukares hälsa."


def marked(w, make, answers: dict, *, answer_marks=(), files=(), file_reason=None) -> Submission:
    """Like ``approved``, with the provider's markings: the answers at ``answer_marks`` (their
    indexes) and, with ``file_reason``, every file."""
    from tests.admin.conftest import quality_fields
    from tests.admin.helpers import upload

    (sub,) = make.info_request(
        w.committee_x, [w.org_a], w.reviewer_x, fields=quality_fields(), title="Kvalitet 2026"
    )
    keys = [f.key for f in sub.request.fields]
    draft = workflow.save_draft(sub, w.user_a, {keys[i]: v for i, v in answers.items()})
    draft.confidential = {keys[i]: MARK_REASON for i in answer_marks}
    for name, data in files:
        attachment = upload(w.user_a, name, data, keys[2])
        attachment.version = draft
        attachment.confidential_reason = file_reason
    db.session.commit()  # the scan runs at commit; submitting reloads under a lock
    workflow.submit(sub, w.user_a)
    workflow.approve(sub, w.reviewer_x)
    db.session.commit()
    sub.keys = keys
    return sub


def override_tokens(response) -> list[str]:
    html = response.get_data(as_text=True)
    return [part.split('"')[0] for part in html.split('name="override-')[1:]]


def test_a_marked_answer_is_left_out_until_the_publisher_chooses_it(w, make, browser):
    sub = marked(w, make, {0: "142", 1: "Brukarråd."}, answer_marks=[1])
    page = browser(w.publisher).get(f"/handlaggare/publicering/{sub.id}")
    html = page.get_data(as_text=True)
    assert f'value="{sub.keys[0]}" checked' in html
    assert f'value="{sub.keys[1]}">' in html, "offered, not chosen"
    assert "Sekretessmarkerat av utföraren" in text_of(page) and MARK_REASON in text_of(page)
    # Left out, the rest is published without a decision about it.
    response = browser(w.publisher).post(
        f"/handlaggare/publicering/{sub.id}", data=publish_form(sub, answer=[sub.keys[0]])
    )
    assert response.status_code == 302
    assert not db.session.scalar(sa.select(AuditEvent).filter_by(action="publication.pii_override"))


def test_a_marked_answer_is_published_only_with_a_logged_reason(w, make, browser, app):
    sub = marked(w, make, {0: "142", 1: "Brukarråd varannan månad."}, answer_marks=[1])
    client = browser(w.publisher)
    url = f"/handlaggare/publicering/{sub.id}"
    blocked = client.post(url, data=publish_form(sub))
    assert blocked.status_code == 422
    text = text_of(blocked)
    assert "Publiceringen är stoppad: 1 fynd av personuppgifter eller sekretessmarkeringar" in text
    assert f"Utförarens motivering: {MARK_REASON}" in text
    (token,) = override_tokens(blocked)

    # A masked wording does not lift the marking: the part is still the provider's.
    reworded = client.post(
        url, data=publish_form(sub, **{f"redacted-{sub.keys[1]}": "Brukarråd ordnas."})
    )
    assert reworded.status_code == 422 and override_tokens(reworded) == [token]
    # Nor does the question before publishing skip it.
    assert client.post(url, data=publish_form(sub, action="confirm")).status_code == 422

    reason = "Nämnden har prövat sekretessen: uppgiften är offentlig."
    ok = client.post(url, data=publish_form(sub, **{f"override-{token}": reason}))
    assert ok.status_code == 302, text_of(ok)
    publication = db.session.scalar(sa.select(Publication))
    assert publication.answer_keys == [sub.keys[0], sub.keys[1]]
    (event,) = db.session.scalars(
        sa.select(AuditEvent).filter_by(action="publication.pii_override")
    ).all()
    assert event.actor_id == w.publisher.id and event.object_id == publication.id
    assert event.detail["kind"] == "confidential" and event.detail["reason"] == reason
    assert event.detail["source"] == f"answer:{sub.keys[1]}"
    page = text_of(client.get(f"/handlaggare/publiceringar/{publication.id}"))
    assert "Sekretessmarkerat av utföraren" in page and reason in page
    # The provider's reason is for staff: it is not published.
    assert MARK_REASON not in text_of(app.test_client().get(f"/publicerat/{publication.id}"))


def test_a_marked_file_needs_a_logged_reason_even_with_a_redacted_copy(w, make, browser):
    sub = marked(
        w,
        make,
        {0: "142", 1: "Brukarråd."},
        files=[("berattelse.docx", make_docx("Kvalitetsarbete i hemtjänsten."))],
        file_reason=MARK_REASON,
    )
    attachment = sub.submitted_versions[-1].attachments[0]
    assert attachment.scan_status == ScanStatus.CLEAN
    client = browser(w.publisher)
    url = f"/handlaggare/publicering/{sub.id}"
    form = publish_form(sub, document=[str(attachment.id)])
    blocked = client.post(url, data=form)
    assert blocked.status_code == 422
    assert "Sekretessmarkerad av utföraren" in text_of(blocked)
    assert len(override_tokens(blocked)) == 1

    uploaded = client.post(
        f"{url}/bilagor/{attachment.id}/maskad",
        data={"file": (io.BytesIO(make_docx("Kvalitetsarbete.")), "maskad.docx")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 302
    still_blocked = client.post(url, data=form)
    assert still_blocked.status_code == 422, "a redacted copy does not lift the marking"
    (token,) = override_tokens(still_blocked)

    reason = "Kopian saknar uppgifterna som utföraren ville skydda."
    question = client.post(url, data={**form, f"override-{token}": reason, "action": "confirm"})
    assert question.status_code == 200
    text = text_of(question)
    files = text.split("Filer som publiceras")[1]
    assert files.startswith(" maskad.docx") and "(maskad kopia av berattelse.docx)" in files
    assert "Sekretessmarkerad av utföraren" in text and reason in text
    assert client.post(url, data={**form, f"override-{token}": reason}).status_code == 302
    event = db.session.scalar(sa.select(AuditEvent).filter_by(action="publication.pii_override"))
    assert event.detail["kind"] == "confidential" and event.detail["reason"] == reason
    copy = db.session.scalar(sa.select(Attachment).where(Attachment.redacts_id == attachment.id))
    assert event.detail["source"] == f"file:{copy.id}"


def test_the_case_page_shows_the_markings_to_staff(w, make, browser):
    sub = marked(
        w,
        make,
        {0: "142", 1: "Brukarråd."},
        answer_marks=[1],
        files=[("berattelse.docx", make_docx("Kvalitetsarbete."))],
        file_reason="",
    )
    page = text_of(browser(w.reviewer_x).get(f"/handlaggare/arenden/{sub.id}"))
    assert "Sekretessmarkerat av utföraren" in page
    assert f"Beskriv arbetet med delaktighet – Motivering: {MARK_REASON}" in page
    assert "Kvalitetsberättelse: berattelse.docx – Motivering: ingen motivering" in page
