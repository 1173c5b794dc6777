"""The virus-scan jobs (to be written: issue 13, scan as a job)."""

from __future__ import annotations

from datetime import datetime


def sweep_scans(now: datetime, broker_empty: bool) -> dict:
    """Enqueue the scans that are due and whose job was lost; returns counts for the report."""
    return {}
