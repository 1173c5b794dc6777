"""Two reviewers press a decision button at the same moment (PostgreSQL row locks)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from portal.extensions import db
from portal.models import ReviewEvent, ReviewState, Role, Submission
from tests import factories
from tests.admin.helpers import answer
from tests.conftest import text_of, thread_context


def test_two_reviewers_approve_at_once_one_wins_the_other_is_told(pg_app):
    w = factories.world()
    second = factories.user(Role.REVIEWER, committees=[w.committee_x])
    (sub,) = factories.info_request(w.committee_x, [w.org_a], w.reviewer_x)
    answer(sub, w.user_a, {"a": "1"})
    clients = []
    for reviewer in (w.reviewer_x, second):
        client = pg_app.test_client()
        client.login(reviewer)
        clients.append(client)
    url = f"/handlaggare/arenden/{sub.id}/godkann"
    tokens = [c.csrf_token() for c in clients]
    barrier = threading.Barrier(2)

    def press(i):
        with thread_context(pg_app):  # each browser is its own request, as under gunicorn
            barrier.wait()
            try:
                return clients[i].post(
                    url, data={"comment": f"Granskad av {i}", "csrf_token": tokens[i]}
                )
            finally:
                db.session.remove()

    with ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(press, range(2)))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [302, 409]
    loser = next(r for r in responses if r.status_code == 409)
    assert "Ärendet har redan ändrats (status: Godkänd). Ladda om sidan." in text_of(loser)
    db.session.expire_all()
    assert db.session.get(Submission, sub.id).state == ReviewState.APPROVED
    decisions = db.session.scalars(sa.select(ReviewEvent).filter_by(action="approve")).all()
    assert len(decisions) == 1
