"""Mails are written in the installation's language, whatever the page that caused them;
their subjects are messages of the catalogue like every other text."""

from __future__ import annotations

import time
from pathlib import Path

import sqlalchemy as sa
from babel.messages.extract import extract_from_file

from portal.extensions import db
from portal.models import OutboundMail, Role

ROOT = Path(__file__).resolve().parent.parent


def test_a_reset_asked_for_in_english_is_mailed_wholly_in_swedish(client, make):
    reviewer = make.user(Role.REVIEWER, email="handlaggare@kommun.example")
    db.session.commit()
    client.get("/?lang=en")
    page = client.post("/glomt-losenord", data={"email": reviewer.email})
    assert page.status_code in (200, 302)
    sent = db.session.scalars(sa.select(OutboundMail)).one()
    _wait_until_sent(sent)
    assert sent.subject == "Välj nytt lösenord i Insyn"
    assert "Någon, förhoppningsvis du, har bett om att få välja ett nytt lösenord" in sent.body


def _wait_until_sent(mail: OutboundMail, timeout: float = 5.0) -> None:
    """The reset mail is delivered by a job; let it finish before the test ends."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.refresh(mail)
        if mail.sent_at is not None:
            return
        time.sleep(0.05)
    raise AssertionError("the reset mail was not sent within 5 s")


def test_every_mail_subject_is_a_catalogue_message():
    def messages(path: str) -> set[str]:
        found = extract_from_file("python", str(ROOT / path), keywords={"_l": None, "_": None})
        return {message for _line, message, _comments, _context in found}

    notifications = messages("portal/notifications.py")
    for subject in (
        "Ny begäran från %(committee)s: %(title)s",
        "Kvitto: %(reference)s har tagits emot",
        "Komplettering begärd: %(reference)s",
        "Ärende %(reference)s är godkänt",
        "Ärende %(reference)s är avslaget",
        "Ärende %(reference)s är avslutat",
        "Ny svarsdag %(deadline)s: %(title)s",
        "Åtgärdsplan begärd av %(committee)s",
        "En fil i %(reference)s är borttagen: virus",
        "En fil är borttagen: virus",
        "Svaret är försenat: %(title)s",
        "Försenat svar från %(provider)s: %(title)s",
        "Påminnelse: svara senast %(deadline)s – %(title)s",
    ):
        assert subject in notifications, subject
    assert "Inbjudan till Insyn för %(provider)s" in messages("portal/provider/organisation.py")
    assert "Välj nytt lösenord i Insyn" in messages("portal/auth/views.py")
    assert "Ditt konto i Insyn" in messages("admin/staff/operations.py")
