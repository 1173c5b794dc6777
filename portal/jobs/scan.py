"""The virus-scan job (one per content) and the sweep's scan part."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from portal import attachments, jobs
from portal.jobs.runtime import SCAN, job
from storage import ScannerUnavailable, current_scanner


@job(priority=SCAN, retries=2)
def scan_content(sha256: str) -> str:
    """Scan one content for its pending rows (enqueued at the upload's commit, and by the
    sweep when that prompt was lost)."""
    return attachments.scan_content(sha256)


def sweep_scans(now: datetime, broker_empty: bool) -> dict:
    """Enqueue the scans that are due and whose job was lost; returns counts for the report.

    One PING first: while clamd does not answer, the due rows record why and nothing is
    enqueued (no job churn). Also finishes releases a killed scan left half done."""
    report = {"scans_enqueued": 0, "scans_waiting": 0}
    scanner = current_scanner()
    if scanner is not None and attachments.scans_due(now):
        try:
            scanner.ping()
        except ScannerUnavailable as exc:
            report["scans_waiting"] = attachments.scanner_down(now, str(exc))
            report["scanner"] = str(exc)
        else:
            lost_after = timedelta(seconds=current_app.config["JOBS_LOST_AFTER_SECONDS"])
            for sha256 in attachments.lost_scans(
                now, lost_after=lost_after, broker_empty=broker_empty
            ):
                report["scans_enqueued"] += jobs.enqueue(scan_content, sha256=sha256)
    report["releases_finished"] = attachments.finish_releases()
    return report
