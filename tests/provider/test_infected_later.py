"""A file that waited in quarantine (scanner down) and a later scan finds infected: the draft
keeps a record of it, the file is gone, the uploader is told by e-mail, nobody can open it,
and the answer cannot be sent with it."""

from __future__ import annotations

import io

import pytest

from portal.attachments import reconcile
from portal.extensions import db
from portal.models import Attachment, AuditEvent, ReviewState, ScanStatus
from storage import current_store
from tests.conftest import text_of
from tests.provider.conftest import keys, valid_form
from tests.storage.files import EICAR, SIGNATURE


@pytest.fixture
def scanning(app_config, clamd_url):
    app_config["CLAMD_URL"] = clamd_url
    app_config["SCAN_INLINE_SECONDS"] = 0  # every verdict is "later": the uploader is mailed


def test_a_file_found_infected_later_is_kept_as_a_record(
    scanning, clamd_service, client, app, smtp_server, w, asked
):
    client.login(w.user_a)
    form = valid_form(asked, **{keys(asked)["file"]: (io.BytesIO(EICAR), "Kvalitet.txt")})
    clamd_service.stop()
    try:
        response = client.post(
            f"/utforare/arenden/{asked.id}/svar", data={**form, "action": "save"}
        )
    finally:
        clamd_service.start()
    assert response.status_code in (200, 303), text_of(response)[:500]
    db.session.refresh(asked)
    assert asked.state is ReviewState.DRAFT  # a file not yet checked cannot be sent
    (file,) = asked.versions[0].attachments
    assert file.scan_status is ScanStatus.PENDING_SCAN

    result = app.test_cli_runner().invoke(args=["storage", "rescan"])
    assert result.exit_code == 0, result.output
    assert "infected 1" in result.output  # the mail goes by a job, checked below

    db.session.expire_all()
    file = db.session.get(Attachment, file.id)
    assert file.scan_status is ScanStatus.INFECTED and file.version_id == asked.versions[0].id
    assert list(current_store().list()) == []
    assert reconcile().consistent
    (event,) = db.session.scalars(
        db.select(AuditEvent).filter_by(action="attachment.infected")
    ).all()
    assert event.object_id == file.id and event.detail["signature"].startswith(SIGNATURE)

    subject = f"En fil i {asked.title} är borttagen: virus"  # a draft has no number yet
    subjects = [m.subject for m in smtp_server.to(w.user_a.email)]
    assert subjects.count(subject) == 1, subjects
    (mail,) = [m for m in smtp_server.to(w.user_a.email) if m.subject == subject]
    assert "Kvalitet.txt" in mail.body and SIGNATURE in mail.body
    assert f"/utforare/arenden/{asked.id}" in mail.body

    page = text_of(client.get(f"/utforare/arenden/{asked.id}"))
    assert "Stoppad: skadlig kod hittades, filen är borttagen" in page
    assert client.get(f"/utforare/filer/{file.id}").status_code in (404, 410)
    staff = app.test_client()
    staff.login(w.reviewer_x)
    assert staff.get(f"/handlaggare/bilagor/{file.id}").status_code in (404, 410)
