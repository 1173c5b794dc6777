"""Background work on Huey: one engine object whose broker ``PORTAL_JOBS_URL`` chooses.

A job is only a prompt. The row it works on (an outbox mail, an attachment) says what is
left to do, each job starts by claiming that row, and the sweep (``portal.jobs.sweep``)
enqueues again whatever a lost job left behind. See docs/architecture.md, "Background jobs".
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask
from huey import Huey
from huey.storage import BlackHoleStorage, PriorityRedisStorage, SqliteStorage

from portal import tenancy
from portal.config import ConfigError
from portal.extensions import db

log = logging.getLogger(__name__)
PENDING = "insyn.jobs"  # session.info key: jobs to enqueue when the transaction commits
COMMITTED = "insyn.jobs.committed"  # … and those whose transaction committed


class UnconfiguredStorage(BlackHoleStorage):
    """The storage before ``configure``: enqueueing fails loudly, nothing vanishes."""

    def enqueue(self, data, priority=None):
        raise ConfigError("the job engine is not configured (portal.jobs.init_app)")


class PortalHuey(Huey):
    storage_class = UnconfiguredStorage

    def configure(self, url: str) -> None:
        """Point the engine at ``sqlite:///path``, ``redis://…`` or ``immediate://``
        (tests of the pages only: each job runs inside the enqueue, without a broker)."""
        parts = urlsplit(url)
        self.immediate = parts.scheme == "immediate"
        if self.immediate:
            self.storage = self.get_immediate_storage()  # a fresh one for each app
        if parts.scheme == "sqlite":
            self.storage = SqliteStorage(self.name, filename=parts.path)
        elif parts.scheme in ("redis", "rediss"):
            self.storage = PriorityRedisStorage(self.name, url=url)
        elif parts.scheme != "immediate":
            raise ConfigError(f"PORTAL_JOBS_URL must be sqlite:///path or redis://…, not {url!r}")


huey = PortalHuey("insyn", results=False, utc=True)


def init_app(app: Flask) -> None:
    """Configure the engine for ``app`` and remember the app the jobs run in."""
    huey.name = app.config["JOBS_NAME"]
    huey.configure(app.config["JOBS_URL"])
    from portal.jobs import cli, mail, periodic, runtime, scan  # noqa: F401 (registers tasks)

    runtime.bind(app)
    cli.init_app(app)


def enqueue_after_commit(task, **kwargs) -> None:
    """Enqueue ``task(**kwargs)`` once the current transaction commits; drop it on rollback.
    The job runs in the transaction's municipality (``municipality_id``).

    Arguments are ids and hashes only: the message is pickled into the broker.
    """
    kwargs.setdefault("municipality_id", tenancy.scope_of(db.session).municipality_id)
    db.session.info.setdefault(PENDING, []).append((task, kwargs))


def enqueue(task, **kwargs) -> bool:
    """Enqueue now, to run in the current municipality (``municipality_id``); False (and a
    warning) when the broker does not answer. The row keeps the work, and the sweep
    enqueues it once the broker is back."""
    kwargs.setdefault("municipality_id", tenancy.current_id())
    try:
        task(**kwargs)
    except Exception as exc:  # any broker failure: redis-py, sqlite3, a closed socket
        if huey.immediate:
            raise
        log.warning("job %s(%s) not enqueued: %s", task.name, kwargs, exc)
        return False
    return True


@sa.event.listens_for(sa.orm.Session, "after_commit")
def _keep_committed(session) -> None:
    session.info[COMMITTED] = session.info.pop(PENDING, [])


@sa.event.listens_for(sa.orm.Session, "after_transaction_end")
def _enqueue_committed(session, transaction) -> None:
    """Enqueue once the transaction has ended and given its connection back: a job that runs
    at once (immediate mode) must not wait for a second connection while holding one."""
    if transaction.parent is None:
        for task, kwargs in session.info.pop(COMMITTED, []):
            enqueue(task, **kwargs)


@sa.event.listens_for(sa.orm.Session, "after_rollback")
def _drop_rolled_back(session) -> None:
    session.info.pop(PENDING, None)
