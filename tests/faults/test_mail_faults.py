"""Mail under faults, with workers in processes of their own (plan §10.3): a worker killed
inside the SMTP dialogue, and a Redis emptied while mails wait. Each mail reaches the
server once, recovered from its row by the sweep, without a command."""

# ruff: noqa: F811 - the SMTP fixture, imported, is a parameter here
from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal import mail
from portal.extensions import db
from portal.jobs import huey
from portal.models import OutboundMail
from tests.fixtures_jobs import rewind_period, wait_until
from tests.provider.conftest import holding_smtp  # noqa: F401 - fixture

PERIODIC_WORKER = {"tasks": ["portal.jobs.periodic"], "periodic": True, "fast": True}


@pytest.fixture
def app_config(app_config, holding_smtp):
    """Short leases: a killed worker's mail is free again after 3 s."""
    app_config.update(SMTP_URL=holding_smtp.url, MAIL_LEASE_SECONDS=3, JOBS_LOST_AFTER_SECONDS=2)
    return app_config


def _queue(count: int) -> list[OutboundMail]:
    mails = [
        mail.queue(f"kollega{n}@org-a.example", f"Meddelande {n}", "password_reset", link="x")
        for n in range(count)
    ]
    db.session.commit()
    return mails


def _rows() -> list[OutboundMail]:
    db.session.rollback()
    return db.session.scalars(
        sa.select(OutboundMail).order_by(OutboundMail.id).execution_options(populate_existing=True)
    ).all()


def _all_sent() -> bool:
    rewind_period("sweep")  # the sweep's next check runs it again, not next minute
    return all(row.sent_at is not None for row in _rows())


def _expected_ids(mails: list[OutboundMail]) -> list[str]:
    return sorted(f"<outbox-{m.id}@insyn>" for m in mails)


@pytest.mark.parametrize("count", [1, 20])
def test_a_worker_killed_inside_the_smtp_dialogue_sends_each_mail_once(
    count, jobs_app, holding_smtp, worker_process
):
    holding_smtp.hold()
    first = worker_process()  # two threads, no scheduler
    mails = _queue(count)
    killed = min(count, 2)
    wait_until(lambda: holding_smtp.held == killed, message="the worker is inside DATA")
    first.sigkill()
    assert all(row.claimed_until is not None for row in _rows()[:killed])  # leased, unsent
    holding_smtp.release(refuse=True)  # the dead dialogues end without a message
    worker_process(**PERIODIC_WORKER)
    wait_until(_all_sent, timeout=30, message="every mail sent")
    assert sorted(holding_smtp.message_ids()) == _expected_ids(mails)  # each exactly once
    attempts = sorted(row.attempts for row in _rows())
    assert attempts == [1] * (count - killed) + [2] * killed


class TestRedisEmptied:
    """On a private redis-server: the shared one is never emptied."""

    @pytest.fixture
    def jobs_url(self, private_redis):
        return private_redis.url

    @pytest.fixture
    def app_config(self, app_config):
        # Lost jobs are not presumed lost for an hour: only an empty broker explains
        # why every waiting mail is enqueued again at once.
        app_config["JOBS_LOST_AFTER_SECONDS"] = 3600
        return app_config

    @pytest.mark.parametrize("how", ["restart", "flushall"])
    def test_mails_waiting_in_an_emptied_redis_are_delivered(
        self, how, private_redis, jobs_app, holding_smtp, worker_process
    ):
        mails = _queue(20)
        assert huey.pending_count() == 20
        if how == "restart":
            private_redis.stop()
            private_redis.start()
        else:
            private_redis.flushall()
        assert huey.pending_count() == 0  # the prompts are gone; the rows are not
        worker_process(**PERIODIC_WORKER)
        wait_until(_all_sent, timeout=20, message="every mail sent")
        assert sorted(holding_smtp.message_ids()) == _expected_ids(mails)
        assert all(row.attempts == 1 for row in _rows())
