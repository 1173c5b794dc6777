"""Deadlines are dates in Europe/Stockholm: a deadline ends at midnight in Stockholm, not UTC.

The clock is set to 22:30 UTC on 31 March 2026, which is already 00:30 on 1 April in
Stockholm (summer time): a request due 31 March is overdue there, although the UTC date
is still 31 March.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import docx
import pytest
import sqlalchemy as sa

import portal.dates
from portal.extensions import db
from portal.models import ReminderSent
from tests.conftest import text_of

LATE_EVENING_UTC = datetime(2026, 3, 31, 22, 30, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch):
    """Set the wall clock the portal reads its dates from to ``LATE_EVENING_UTC``."""

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return LATE_EVENING_UTC.astimezone(tz) if tz else LATE_EVENING_UTC.replace(tzinfo=None)

    monkeypatch.setattr(portal.dates, "datetime", Clock)
    return LATE_EVENING_UTC


def _request(make, w, title: str, deadline: date):
    (sub,) = make.info_request(
        w.committee_x, [w.org_a], w.reviewer_x, title=title, deadline=deadline + timedelta(days=30)
    )
    sub.deadline = sub.request.deadline = deadline
    sub.issued_on = deadline - timedelta(days=30)
    return sub


def row_of(page: str, title: str) -> str:
    return page[page.index(title) :][:300]


def test_deadlines_are_stockholm_dates(clock, app, client, make, w, smtp_server):
    assert clock.date() == date(2026, 3, 31)
    assert portal.dates.today() == date(2026, 4, 1)

    late = _request(make, w, "Bemanning mars", date(2026, 3, 31))
    last_day = _request(make, w, "Bemanning april", date(2026, 4, 1))
    late.request.created_at = clock  # issued late in the evening: 1 April in Stockholm
    db.session.commit()

    client.login(w.user_a)
    page = text_of(client.get("/utforare/"))
    assert "Försenad: svarstiden gick ut för 1 dag sedan" in row_of(page, "Bemanning mars")
    assert "sista dagen är i dag" in row_of(page, "Bemanning april")
    assert "Försenad" not in row_of(page, "Bemanning april")

    smtp_server.clear()
    result = app.test_cli_runner().invoke(args=["notifications", "send-reminders"])
    assert result.exit_code == 0, result.output
    kinds = dict(db.session.execute(sa.select(ReminderSent.submission_id, ReminderSent.kind)).all())
    assert kinds == {late.id: "overdue", last_day.id: "reminder_1"}
    subjects = smtp_server.subjects(w.user_a.email)
    assert "Svaret är försenat: Bemanning mars" in subjects
    assert "Påminnelse: svara senast 2026-04-01 – Bemanning april" in subjects

    letter = client.get(f"/utforare/arenden/{late.id}/begaran.docx")
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(letter.data)).paragraphs)
    assert "Datum: 2026-04-01" in text, "the letter is dated in Stockholm"
    assert "31 mars 2026 (2026-03-31)" in text


def test_a_deadline_of_today_in_stockholm_cannot_be_given(clock, client, make, w):
    """Staff cannot ask for a clarification by "today" in Stockholm, though it is a day
    ahead in UTC."""
    (sub,) = make.info_request(w.committee_x, [w.org_a], w.reviewer_x, deadline=date(2026, 4, 20))
    from tests.admin.helpers import answer

    answer(sub, w.user_a, {"a": "1"})
    client.login(w.reviewer_x)
    url = f"/handlaggare/arenden/{sub.id}/begar-komplettering"
    refused = client.post(url, data={"question": "Mer", "deadline": "2026-04-01"})
    assert refused.status_code == 422
    assert "Svarsdagen måste vara efter i dag." in text_of(refused)
    assert client.post(url, data={"question": "Mer", "deadline": "2026-04-02"}).status_code == 302
