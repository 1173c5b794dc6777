"""The job engine's own rows: when each periodic job last ran, and jobs that failed."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.base import UtcDateTime, utcnow
from portal.models.tenant import TenantOrNational


class JobSchedule(db.Model):
    """One row per periodic job. A run first claims its period (``last_period`` moves
    forward only), so several schedulers run each period once."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    # ISO text of the last claimed period, comparable as text: "2026-12-05" for a daily
    # job, "2026-12-05T06:35" for one that runs each minute.
    last_period: Mapped[str] = mapped_column(sa.String(40), default="")
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[str | None] = mapped_column(sa.String(20))  # ok, error
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)


class JobFailure(TenantOrNational, db.Model):
    """A job that failed after its last retry, shown to admins with "Kör igen": those of a
    municipality's jobs to its admins, those of the periodic (national) jobs to all."""

    id: Mapped[int] = mapped_column(primary_key=True)
    task: Mapped[str] = mapped_column(sa.String(120))
    arguments: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # ids and hashes only
    error: Mapped[str] = mapped_column(sa.Text)
    traceback: Mapped[str] = mapped_column(sa.Text, default="")
    attempts: Mapped[int] = mapped_column(default=1)
    failed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    rerun_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("job_failure.id"))

    def local_to_municipality(self) -> bool:
        return True
