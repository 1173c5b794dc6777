"""Dates as the municipality sees them: Europe/Stockholm."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def today() -> date:
    return datetime.now(STOCKHOLM).date()


def local(moment: datetime) -> datetime:
    return moment.astimezone(STOCKHOLM)
