"""What the background-jobs page shows: the queue, the failures, the jobs in words."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.jobs import status

# The jobs by the names they fail under (``job_failure.task``, ``job_schedule.name``).
TASKS = {
    "deliver_mail": _l("Skicka e-post"),
    "scan_content": _l("Viruskontroll"),
    "daily_reminders": _l("Påminnelser"),
    "schedule_requests": _l("Återkommande förfrågningar"),
    "nightly_reconcile": _l("Avstämning av lagrade filer"),
    "nightly_reindex": _l("Sökindex"),
    "prune": _l("Rensning"),
    "sweep": _l("Genomsökning av väntande arbete"),
}


def task_label(name: str) -> str:
    return str(TASKS.get(name, name))


def page() -> dict:
    """The template's context: the queue, the failed jobs and the mails given up."""
    return {
        "queue": status.queue_status(),
        "failures": status.failed_jobs(),
        "mails": status.given_up_mails(),
        "task_label": task_label,
        "masked_address": status.masked_address,
    }


def failed_count() -> int:
    """Failed jobs and mails given up (the start page links here when there are any)."""
    return sum(status.failed_counts())
