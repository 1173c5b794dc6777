"""The clarification round trip: the question, the answer, two immutable versions."""

from __future__ import annotations

import io
from datetime import timedelta

import docx

from portal import workflow
from portal.dates import today
from portal.extensions import db
from portal.models import ReviewState
from tests.conftest import text_of
from tests.pdfs import pdf_bytes
from tests.provider.conftest import commit_and_send, keys, valid_form


def test_clarification_round_trip_keeps_both_versions(client, w, asked, smtp_server):
    client.login(w.user_a)
    url = f"/utforare/arenden/{asked.id}/svar"
    assert client.post(url, data={**valid_form(asked), "action": "submit"}).status_code == 303
    db.session.refresh(asked)
    number = asked.registration_number
    first_file = asked.versions[0].attachments[0]

    new_deadline = today() + timedelta(days=7)
    workflow.ask_clarification(asked, w.reviewer_x, "Hur ofta hålls brukarråden?", new_deadline)
    commit_and_send()

    start = text_of(client.get("/utforare/"))
    assert "Kompletteringar som kommunen väntar på" in start
    assert "Hur ofta hålls brukarråden?" in start
    page = text_of(client.get(f"/utforare/arenden/{asked.id}"))
    assert "Kommunen begär komplettering" in page and "Hur ofta hålls brukarråden?" in page
    form = client.get(url)
    assert form.status_code == 200
    html = form.get_data(as_text=True)
    assert "Brukarråd varannan månad." in html  # starts from what was sent
    assert "Kvalitetsberättelse.pdf" in html  # with the file that was sent
    assert "Fortsätt" in html and "Skicka in kompletteringen" not in html  # checked first

    k = keys(asked)
    answers = valid_form(asked)
    del answers[k["file"]]  # keep the earlier file as it is
    answers[k["text"]] = "Brukarråd varannan månad, senast den 3 mars."
    checked = client.post(
        url, data={**answers, "action": "check", "note": "Brukarråden hålls varannan månad."}
    )
    assert checked.status_code == 303
    assert checked.location.endswith(f"/utforare/arenden/{asked.id}/kontrollera")
    check = client.get(checked.location)
    assert "Skicka in kompletteringen" in text_of(check)
    assert "senast den 3 mars" in text_of(check) and "Kvalitetsberättelse.pdf" in text_of(check)
    db.session.refresh(asked)
    assert asked.state == ReviewState.CLARIFICATION_REQUESTED  # not sent yet
    response = client.post(
        f"/utforare/arenden/{asked.id}/skicka-in", data={"lock_version": asked.lock_version}
    )
    assert response.status_code == 303
    assert response.location.endswith(f"/utforare/arenden/{asked.id}/kvitto/2")

    db.session.refresh(asked)
    assert asked.state == ReviewState.SUBMITTED
    assert asked.registration_number == number  # the same case, a new version
    first, second = asked.versions
    assert first.frozen and second.frozen
    assert first.answers[k["text"]] == "Brukarråd varannan månad."
    assert second.answers[k["text"]] == "Brukarråd varannan månad, senast den 3 mars."
    assert second.note == "Brukarråden hålls varannan månad."
    # The file went along as its own row of version 2, the same stored content.
    (carried,) = second.attachments
    assert carried.id != first_file.id and carried.sha256 == first_file.sha256
    assert first.attachments == [first_file]

    # Both versions stay readable, with their own answers and files.
    v1 = client.get(f"/utforare/arenden/{asked.id}/versioner/1")
    v2 = client.get(f"/utforare/arenden/{asked.id}/versioner/2")
    assert "Brukarråd varannan månad." in text_of(v1)
    assert "senast den 3 mars" not in text_of(v1)
    assert "senast den 3 mars" in text_of(v2)
    assert client.get(f"/utforare/filer/{first_file.id}").data == pdf_bytes()
    assert client.get(f"/utforare/filer/{carried.id}").data == pdf_bytes()
    receipt = docx.Document(
        io.BytesIO(client.get(f"/utforare/arenden/{asked.id}/kvitto/2.docx").data)
    )
    cells = [c.text for t in receipt.tables for r in t.rows for c in r.cells]
    assert "Insynsinformation, version 2" in cells and carried.sha256 in cells
    history = text_of(client.get(f"/utforare/arenden/{asked.id}"))
    assert "Komplettering inskickad" in history and "Komplettering begärd" in history

    subjects = smtp_server.subjects(w.user_a.email)
    assert f"Komplettering begärd: {number}" in subjects
    assert subjects.count(f"Kvitto: {number} har tagits emot") == 2
    (question,) = [m for m in smtp_server.to(w.user_a.email) if "Komplettering" in m.subject]
    assert "Hur ofta hålls brukarråden?" in question.body
    assert new_deadline.isoformat() in question.body


def test_clarification_can_replace_and_remove_files(client, w, asked):
    client.login(w.user_a)
    url = f"/utforare/arenden/{asked.id}/svar"
    client.post(url, data={**valid_form(asked), "action": "submit"})
    db.session.refresh(asked)
    original = asked.versions[0].attachments[0]
    workflow.ask_clarification(
        asked, w.reviewer_x, "Bifoga den nya berättelsen.", today() + timedelta(days=7)
    )
    db.session.commit()
    k = keys(asked)
    form = valid_form(asked)
    form[k["file"]] = (io.BytesIO(b"Ny kvalitetsberattelse\n"), "ny.txt")
    form["remove_file"] = str(original.id)  # as shown on the form: the sent version's file
    assert client.post(url, data={**form, "action": "submit"}).status_code == 303
    db.session.refresh(asked)
    assert [a.display_name for a in asked.versions[0].attachments] == ["Kvalitetsberättelse.pdf"]
    assert [a.display_name for a in asked.versions[1].attachments] == ["ny.txt"]
