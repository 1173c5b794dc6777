"""Provider portal tests: every mail goes to a real SMTP server (aiosmtpd) and is read back."""

from __future__ import annotations

import asyncio
import email
import email.policy
import io
import threading
from dataclasses import dataclass

import pytest
from aiosmtpd.controller import Controller

from portal.extensions import db
from portal.models import FieldType, RequestField
from tests.fixtures_services import free_port
from tests.pdfs import pdf_bytes


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: email.message.EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        return self.message.get_content()


class Inbox:
    """What the SMTP server received (an aiosmtpd handler)."""

    def __init__(self, port: int):
        self.port = port
        self.messages: list[Received] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.recipients]

    def subjects(self, address: str) -> list[str]:
        return [m.subject for m in self.to(address)]


class SlowSmtp(Inbox):
    """An SMTP server that can hold each dialogue inside DATA, before it answers (to kill
    the client there), and then refuse what it held with 451 or accept it."""

    def __init__(self, port: int):
        super().__init__(port)
        self.held = 0  # dialogues that have waited inside DATA
        self._holding = False
        self._refuse = False

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def hold(self) -> None:
        self._holding = True

    def release(self, *, refuse: bool) -> None:
        """Let the held dialogues go on: refused (451, nothing kept) or accepted."""
        self._refuse = refuse
        self._holding = False

    async def handle_DATA(self, server, session, envelope):
        if self._holding:
            self.held += 1
            while self._holding:
                await asyncio.sleep(0.02)
            if self._refuse:
                return "451 Requested action aborted: try again later"
        return await super().handle_DATA(server, session, envelope)

    def message_ids(self) -> list[str]:
        return [str(m.message["Message-ID"]) for m in self.messages]


def start_smtp(port: int, handler=Inbox) -> tuple[Controller, Inbox]:
    inbox = handler(port)
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, inbox


@pytest.fixture(scope="session")
def smtp_service():
    controller, inbox = start_smtp(free_port())
    yield inbox
    controller.stop()


@pytest.fixture
def smtp_server(smtp_service) -> Inbox:
    """The real SMTP server every provider test sends to, emptied for the test."""
    smtp_service.clear()
    return smtp_service


@pytest.fixture
def app_config(app_config, smtp_server):
    app_config["SMTP_URL"] = f"smtp://127.0.0.1:{smtp_server.port}"
    return app_config


@pytest.fixture
def holding_smtp() -> SlowSmtp:
    """An SMTP server of the test's own that can hold and refuse (``SlowSmtp``)."""
    controller, inbox = start_smtp(free_port(), SlowSmtp)
    yield inbox
    controller.stop()


@pytest.fixture
def smtp_down(app_config) -> int:
    """Point the app at a port where no mail server listens (yet); returns the port."""
    port = free_port()
    app_config["SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    return port


@pytest.fixture
def w(make):
    return make.world()


def each_type_fields() -> list[RequestField]:
    """One field of each type; every one required, the file too."""
    return [
        RequestField(position=1, label="Beskriv arbetet med delaktighet", type=FieldType.TEXT),
        RequestField(position=2, label="Antal brukare", type=FieldType.NUMBER, unit="personer"),
        RequestField(position=3, label="Andel undersköterskor", type=FieldType.PERCENTAGE),
        RequestField(position=4, label="Finns ledningssystem?", type=FieldType.YES_NO),
        RequestField(position=5, label="Senaste egenkontroll", type=FieldType.DATE),
        RequestField(position=6, label="Kvalitetsberättelse", type=FieldType.FILE),
    ]


@pytest.fixture
def asked(make, w):
    """A request with one field of each type, sent to org A and org B; org A's answer."""
    subs = make.info_request(
        w.committee_x,
        [w.org_a, w.org_b],
        w.reviewer_x,
        title="Kvalitetsredovisning 2026",
        instructions="Uppgifterna avser den 1 oktober.",
        fields=each_type_fields(),
    )
    commit_and_send()
    return subs[0]


def keys(submission) -> dict[str, str]:
    """Field keys by type name: {"text": "f12", ...}."""
    return {f.type.value: f.key for f in submission.request.fields}


def valid_form(submission, **extra) -> dict:
    k = keys(submission)
    data = {
        k["text"]: "Brukarråd varannan månad.",
        k["number"]: "1 234",
        k["percentage"]: "85,5",
        k["yes_no"]: "yes",
        k["date"]: "2026-03-31",
        k["file"]: (io.BytesIO(pdf_bytes()), "Kvalitetsberättelse.pdf"),
    }
    data.update(extra)
    return data


def commit_and_send() -> None:
    """Commit a change made directly through the workflow (as a staff page would): its
    mails' jobs run at the commit (the suite's immediate mode), as a worker would after."""
    db.session.commit()
