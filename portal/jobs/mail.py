"""The mail job: one per outbox row, enqueued when the row commits and again by the sweep
when that prompt was lost."""

from __future__ import annotations

from portal.jobs.runtime import MAIL, job


@job(priority=MAIL)
def deliver_mail(mail_id: int) -> str:
    from portal import mail  # portal.mail enqueues this job: imported when it runs

    return mail.deliver_one(mail_id)
