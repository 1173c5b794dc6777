"""Every notification e-mail, as received by a real SMTP server; reminders from cron;
a mail server that is down."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from portal import workflow
from portal.dates import today
from portal.extensions import db
from portal.models import OutboundMail, ReminderSent, ReviewState, Role, Submission
from portal.models.base import utcnow
from tests.conftest import thread_context
from tests.fixtures_services import free_port
from tests.provider.conftest import Inbox, commit_and_send, start_smtp, valid_form


def test_new_request_goes_to_the_organisations_who_must_answer(make, w, smtp_server):
    w.org_a.email = "Kvalitet@Org-A.example"
    invited = make.user(Role.PROVIDER_USER, provider_=w.org_a)
    invited.password_hash = None  # invited, has not joined yet
    gone = make.user(Role.PROVIDER_USER, provider_=w.org_a, active=False)
    subs = make.info_request(
        w.committee_x,
        [w.org_a, w.org_b],
        w.reviewer_x,
        title="Bemanning vecka 40",
        instructions="Per enhet.",
    )
    commit_and_send()
    expected = {w.user_a.email, w.admin_a.email, "kvalitet@org-a.example", w.user_b.email}
    assert {r for m in smtp_server.messages for r in m.recipients} == expected
    assert not smtp_server.to(invited.email) and not smtp_server.to(gone.email)
    (mail,) = smtp_server.to(w.user_a.email)
    assert mail.subject == "Ny begäran från Nämnd VON: Bemanning vecka 40"
    assert mail.message["From"] == "insyn@kommun.example"
    assert subs[0].deadline.isoformat() in mail.body and "Per enhet." in mail.body
    assert f"/utforare/arenden/{subs[0].id}" in mail.body
    assert subs[0].request.registration_number in mail.body
    (other,) = smtp_server.to(w.user_b.email)
    assert f"/utforare/arenden/{subs[1].id}" in other.body  # each its own answer


@pytest.mark.parametrize(
    ("decide", "subject", "text"),
    [
        (lambda s, r: workflow.approve(s, r, "Komplett redovisning."), "är godkänt", "har godkänt"),
        (
            lambda s, r: workflow.reject(s, r, "Underlaget gäller fel år."),
            "är avslaget",
            "har avslagit",
        ),
    ],
    ids=["approve", "reject"],
)
def test_decision_mail(client, make, w, asked, smtp_server, decide, subject, text):
    client.login(w.user_a)
    client.post(
        f"/utforare/arenden/{asked.id}/svar", data={**valid_form(asked), "action": "submit"}
    )
    smtp_server.clear()
    db.session.refresh(asked)
    decide(asked, w.reviewer_x)
    commit_and_send()
    for user in (w.user_a, w.admin_a):
        (mail,) = smtp_server.to(user.email)
        assert mail.subject == f"Ärende {asked.registration_number} {subject}"
        assert text in mail.body
    assert not smtp_server.to(w.user_b.email)
    body = smtp_server.to(w.user_a.email)[0].body
    assert "Komplett redovisning." in body or "Underlaget gäller fel år." in body


def test_extended_deadline_mail(make, w, asked, smtp_server):
    smtp_server.clear()
    new = asked.deadline + timedelta(days=10)
    workflow.extend_deadline(asked, w.reviewer_x, new, "Semesterperiod")
    commit_and_send()
    (mail,) = smtp_server.to(w.user_a.email)
    assert mail.subject == f"Ny svarsdag {new.isoformat()}: Kvalitetsredovisning 2026"
    assert "Semesterperiod" in mail.body


def _waiting(make, w, title: str, days_left: int, issued_days_ago: int = 30):
    (sub,) = make.info_request(
        w.committee_x,
        [w.org_a],
        w.reviewer_x,
        title=title,
        deadline=today() + timedelta(days=max(days_left, 1)),
    )
    sub.deadline = today() + timedelta(days=days_left)
    sub.issued_on = today() - timedelta(days=issued_days_ago)
    return sub


def remind(app) -> str:
    result = app.test_cli_runner().invoke(args=["notifications", "send-reminders"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    return result.output


def test_reminders_7_and_1_days_before_and_overdue(app, make, w, smtp_server):
    seven = _waiting(make, w, "Sju dagar kvar", 7)
    six = _waiting(make, w, "Sex dagar kvar", 6)
    one = _waiting(make, w, "En dag kvar", 1)
    zero = _waiting(make, w, "Sista dagen", 0)
    late = _waiting(make, w, "Försenad", -2)
    _waiting(make, w, "Långt kvar", 20)
    fresh = _waiting(make, w, "Nyss skickad", 5, issued_days_ago=0)
    answered = _waiting(make, w, "Redan besvarad", 1)
    workflow.save_draft(answered, w.user_a, {"x": "1"})
    workflow.submit(answered, w.user_a)
    db.session.commit()
    smtp_server.clear()

    output = remind(app)
    subjects = smtp_server.subjects(w.user_a.email)
    assert f"Påminnelse: svara senast {seven.deadline.isoformat()} – Sju dagar kvar" in subjects
    assert f"Påminnelse: svara senast {six.deadline.isoformat()} – Sex dagar kvar" in subjects
    assert f"Påminnelse: svara senast {one.deadline.isoformat()} – En dag kvar" in subjects
    assert f"Påminnelse: svara senast {zero.deadline.isoformat()} – Sista dagen" in subjects
    assert "Svaret är försenat: Försenad" in subjects
    assert len(subjects) == 5  # nothing for "Långt kvar", "Nyss skickad" or the answered one
    assert smtp_server.to(w.admin_a.email)  # the whole organisation is reminded
    body = {m.subject: m.body for m in smtp_server.to(w.user_a.email)}
    assert (
        "(i morgon)" in body[f"Påminnelse: svara senast {one.deadline.isoformat()} – En dag kvar"]
    )
    (staff,) = smtp_server.to(w.reviewer_x.email)
    assert staff.subject == "Försenat svar från Org A AB: Försenad"
    kinds = dict(db.session.execute(sa.select(ReminderSent.submission_id, ReminderSent.kind)).all())
    assert kinds == {
        seven.id: "reminder_7",
        six.id: "reminder_7",
        one.id: "reminder_1",
        zero.id: "reminder_1",
        late.id: "overdue",
    }
    assert "5 notice(s)" in output
    assert fresh.id not in kinds

    # From cron again (and again): nothing twice.
    smtp_server.clear()
    assert "0 notice(s)" in remind(app)
    assert "0 notice(s)" in remind(app)
    assert smtp_server.messages == []

    # An extended deadline gets its reminders anew (here: extended a week ago, due tomorrow).
    workflow.extend_deadline(late, w.reviewer_x, today() + timedelta(days=1), "Sjukdom")
    late.events[-1].created_at = utcnow() - timedelta(days=7)
    commit_and_send()
    smtp_server.clear()
    remind(app)
    assert smtp_server.subjects(w.user_a.email) == [
        f"Påminnelse: svara senast {(today() + timedelta(days=1)).isoformat()} – Försenad"
    ]


def test_dry_run_sends_nothing(app, make, w, smtp_server):
    sub = _waiting(make, w, "Sju dagar kvar", 7)
    db.session.commit()
    smtp_server.clear()
    result = app.test_cli_runner().invoke(args=["notifications", "send-reminders", "--dry-run"])
    assert result.exit_code == 0
    assert f"would send reminder_7 for submission {sub.id}" in result.output
    assert smtp_server.messages == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReminderSent)) == 0


def test_clarification_deadline_is_reminded(app, client, make, w, asked, smtp_server):
    client.login(w.user_a)
    client.post(
        f"/utforare/arenden/{asked.id}/svar", data={**valid_form(asked), "action": "submit"}
    )
    db.session.refresh(asked)
    workflow.ask_clarification(
        asked, w.reviewer_x, "Komplettera med siffror för oktober.", today() + timedelta(days=1)
    )
    commit_and_send()
    smtp_server.clear()
    remind(app)
    # The deadline was set today, inside the 1-day window: the question itself was the notice.
    assert smtp_server.messages == []
    asked.deadline = today() - timedelta(days=1)
    db.session.commit()
    remind(app)
    assert smtp_server.subjects(w.user_a.email) == ["Svaret är försenat: Kvalitetsredovisning 2026"]


def test_smtp_down_keeps_the_change_and_mail_retry_sends_later(smtp_down, app, client, w, asked):
    client.login(w.user_a)
    response = client.post(
        f"/utforare/arenden/{asked.id}/svar", data={**valid_form(asked), "action": "submit"}
    )
    assert response.status_code == 303  # the submit is not lost
    db.session.refresh(asked)
    assert asked.state == ReviewState.SUBMITTED
    (mail,) = db.session.scalars(
        sa.select(OutboundMail).where(OutboundMail.subject.like("Kvitto:%"))
    ).all()
    assert mail.sent_at is None and mail.attempts == 1 and mail.last_error
    unsent = db.session.scalar(
        sa.select(sa.func.count()).select_from(OutboundMail).where(OutboundMail.sent_at.is_(None))
    )

    runner = app.test_cli_runner()
    still_down = runner.invoke(args=["mail", "retry"])
    assert still_down.exit_code == 1 and f"still failing {unsent}" in still_down.output

    controller, inbox = start_smtp(smtp_down)
    try:
        result = runner.invoke(args=["mail", "retry"])
        assert result.exit_code == 0, result.output
        assert f"sent {unsent}, still failing 0" in result.output
        (received,) = [m for m in inbox.to(w.user_a.email) if m.subject.startswith("Kvitto")]
        assert received.subject == f"Kvitto: {asked.registration_number} har tagits emot"
        assert asked.registration_number in received.body
        db.session.expire_all()
        assert db.session.get(OutboundMail, mail.id).sent_at is not None
        assert runner.invoke(args=["mail", "retry"]).output.startswith("sent 0")
    finally:
        controller.stop()


def test_staff_pages_mail_the_provider_after_commit(app, client, w, smtp_server):
    """The same mails when staff use their pages: new request, clarification asked, decision,
    and an action plan asked for after a finding, each sent once the page has committed."""
    from tests.admin.test_requests import request_form

    staff = app.test_client()
    staff.login(w.reviewer_x)
    agreement = w.org_a.agreements[0]
    issued = staff.post(
        "/handlaggare/begaranden/ny",
        data=request_form(
            w, recipients="agreement", agreement_id=str(agreement.id), **{"fields-1-label": ""}
        ),
    )
    assert issued.status_code == 302
    (mail,) = smtp_server.to(w.user_a.email)
    assert mail.subject == "Ny begäran från Nämnd VON: Kvalitetsredovisning hemtjänst 2026"
    sub = db.session.scalar(sa.select(Submission))
    assert f"/utforare/arenden/{sub.id}" in mail.body

    client.login(w.user_a)
    key = sub.request.fields[0].key
    url = f"/utforare/arenden/{sub.id}/svar"
    assert client.post(url, data={key: "142", "action": "submit"}).status_code == 303
    db.session.refresh(sub)
    number = sub.registration_number

    asked = staff.post(
        f"/handlaggare/arenden/{sub.id}/begar-komplettering",
        data={
            "question": "Ange antalet per enhet.",
            "deadline": (today() + timedelta(days=7)).isoformat(),
        },
    )
    assert asked.status_code == 302
    (question,) = [
        m for m in smtp_server.to(w.user_a.email) if m.subject == f"Komplettering begärd: {number}"
    ]
    assert "Ange antalet per enhet." in question.body

    assert client.post(url, data={key: "150", "action": "submit"}).status_code == 303
    assert (
        staff.post(f"/handlaggare/arenden/{sub.id}/godkann", data={"comment": "Tack."}).status_code
        == 302
    )
    (decision,) = [
        m for m in smtp_server.to(w.admin_a.email) if m.subject == f"Ärende {number} är godkänt"
    ]
    assert "Tack." in decision.body

    found = staff.post(
        f"/handlaggare/avtal/{agreement.id}/iakttagelser/ny",
        data={
            "assessed_on": today().isoformat(),
            "meets_requirements": "no",
            "deficiencies": "Genomförandeplaner saknas.",
            "goal_effect": "",
            "require_plan": "y",
            "plan_due": (today() + timedelta(days=30)).isoformat(),
        },
    )
    assert found.status_code == 302
    (plan_mail,) = [
        m for m in smtp_server.to(w.user_a.email) if m.subject == "Åtgärdsplan begärd av Nämnd VON"
    ]
    assert "Brister som kommunen har noterat:" in plan_mail.body
    assert "Genomförandeplaner saknas." in plan_mail.body
    unsent = (
        sa.select(sa.func.count()).select_from(OutboundMail).where(OutboundMail.sent_at.is_(None))
    )
    assert db.session.scalar(unsent) == 0


class SlowInbox(Inbox):
    """A mail server that takes its time over each message, as a busy one does."""

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.2)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def slow_smtp(app_config):
    inbox = SlowInbox(free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    app_config["SMTP_URL"] = f"smtp://127.0.0.1:{inbox.port}"
    yield inbox
    controller.stop()


def test_two_mail_retry_runs_at_once_send_each_mail_once(slow_smtp, pg_app):
    """Cron's ``mail retry`` overlapping another run (or a request sending its own mails):
    every mail reaches the server once, none twice (PostgreSQL row locks)."""
    from portal import mail

    for n in range(6):
        db.session.add(
            OutboundMail(
                recipient=f"kollega{n}@org-a.example", subject=f"Meddelande {n}", body="Hej!"
            )
        )
    db.session.commit()
    barrier = threading.Barrier(2)

    def run(_i):
        with thread_context(pg_app):
            barrier.wait()
            try:
                return mail.deliver()
            finally:
                db.session.remove()

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(run, range(2)))
    assert sum(sent for sent, _failed in results) == 6
    assert sorted(m.subject for m in slow_smtp.messages) == [f"Meddelande {n}" for n in range(6)]
    db.session.expire_all()
    attempts = db.session.scalars(sa.select(OutboundMail.attempts)).all()
    assert attempts == [1] * 6


def test_two_reminder_runs_at_once_send_each_notice_once(pg_app, smtp_server):
    """Two cron jobs of ``notifications send-reminders`` at the same moment (PostgreSQL)."""
    from portal.notifications import send_reminders
    from tests import factories

    w = factories.world()
    for title, days_left in (("Sju dagar kvar", 7), ("En dag kvar", 1), ("Försenad", -2)):
        _waiting(factories, w, title, days_left)
    db.session.commit()
    smtp_server.clear()
    barrier = threading.Barrier(2)

    def run(_i):
        with thread_context(pg_app):
            barrier.wait()
            try:
                reminders = send_reminders()
                from portal import mail

                mail.deliver(OutboundMail.id.in_(reminders.mails))
                return len(reminders.sent)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(2) as pool:
        assert sum(pool.map(run, range(2))) == 3
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReminderSent)) == 3
    subjects = smtp_server.subjects(w.user_a.email)
    assert len(subjects) == len(set(subjects)) == 3
