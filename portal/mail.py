"""E-mail through an outbox: mails are rows written in the transaction that caused them and
delivered by a job (``portal.jobs.mail.deliver_mail``) once it commits. The row is the
truth: a delivery leases it, records each failed attempt and when to try again, and the
sweep (``portal.jobs.sweep``) enqueues again what is due and gives up after some days."""

from __future__ import annotations

import logging
import smtplib
import sys
import threading
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale

from portal import jobs
from portal.extensions import db
from portal.jobs.mail import deliver_mail
from portal.models import OutboundMail
from portal.models.base import utcnow

log = logging.getLogger(__name__)
SMTP_TIMEOUT = 10
BACKOFF_MINUTES = (1, 2, 5, 10, 30)  # then every hour
_console = threading.Lock()


def queue(recipient: str, subject, template: str, **context) -> OutboundMail:
    """Write a mail (body from ``templates/email/<template>.txt``) to the outbox; a job
    delivers it once the transaction commits.

    Mails are written in the installation's language (``BABEL_DEFAULT_LOCALE``), whatever
    the language of the page that caused them: ``subject`` may be a lazy translation.
    """
    now = utcnow()
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        mail = OutboundMail(
            recipient=recipient,
            subject=str(subject),
            body=render_template(f"email/{template}.txt", **context),
            next_attempt_at=now,
            enqueued_at=now,
        )
    db.session.add(mail)
    db.session.flush()
    jobs.enqueue_after_commit(deliver_mail, mail_id=mail.id)
    return mail


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt."""
    minutes = BACKOFF_MINUTES[attempts - 1] if attempts <= len(BACKOFF_MINUTES) else 60
    return timedelta(minutes=minutes)


def due(now):
    """Unsent, not given up, due at ``now`` and not leased by a delivery in progress."""
    return sa.and_(
        OutboundMail.sent_at.is_(None),
        OutboundMail.failed_at.is_(None),
        OutboundMail.next_attempt_at <= now,
        sa.or_(OutboundMail.claimed_until.is_(None), OutboundMail.claimed_until < now),
    )


def deliver_one(mail_id: int) -> str:
    """Deliver one mail if it is still to send and nobody else is sending it.

    The lease is committed before SMTP is touched: a second job for the same row, or a
    worker killed mid-dialogue, never leads to two deliveries (but to one retry after the
    lease). A refusal or a server that does not answer is recorded with the next attempt.
    """
    now = utcnow()
    lease = now + timedelta(seconds=current_app.config["MAIL_LEASE_SECONDS"])
    claimed = db.session.execute(
        sa.update(OutboundMail)
        .where(OutboundMail.id == mail_id, due(now))
        .values(claimed_until=lease, attempts=OutboundMail.attempts + 1)
    ).rowcount
    db.session.commit()
    if not claimed:
        return "nothing to do"  # sent, given up, not due, or another worker has it
    mail = db.session.get(OutboundMail, mail_id)
    try:
        _send(mail)
    except (OSError, smtplib.SMTPException) as exc:
        mail.last_error = f"{type(exc).__name__}: {exc}"[:500]
        mail.next_attempt_at = utcnow() + backoff(mail.attempts)
        mail.claimed_until = None
        db.session.commit()
        log.warning("mail %s to %s not sent: %s", mail.id, mail.recipient, exc)
        return "retry later"
    mail.sent_at, mail.claimed_until = utcnow(), None
    db.session.commit()
    return "sent"


def deliver(condition=None) -> tuple[int, int]:
    """Deliver now, in this process, the due mails matching ``condition``; returns (sent,
    failed). Mails a worker is sending at the same moment are left to it."""
    ids = db.session.scalars(
        sa.select(OutboundMail.id)
        .where(due(utcnow()), condition if condition is not None else sa.true())
        .order_by(OutboundMail.id)
    ).all()
    db.session.commit()
    outcomes = [deliver_one(mail_id) for mail_id in ids]
    return outcomes.count("sent"), outcomes.count("retry later")


def retry(*, include_failed: bool = False) -> int:
    """Make every unsent mail due now, the given-up ones too with ``include_failed``;
    returns how many. Committed; deliver them with ``deliver()`` or let the sweep."""
    retried = db.session.execute(
        sa.update(OutboundMail)
        .where(
            OutboundMail.sent_at.is_(None),
            sa.true() if include_failed else OutboundMail.failed_at.is_(None),
        )
        .values(next_attempt_at=utcnow(), failed_at=None)
    ).rowcount
    db.session.commit()
    return retried


def _send(mail: OutboundMail) -> None:
    url = current_app.config["SMTP_URL"]
    if not url:
        # Embedded default: no mail server. In development every mail is printed where
        # ``make run`` shows the worker (invitation and reset links are otherwise
        # unreachable); in production it only goes to the log.
        log.info("mail to %s: %s\n%s", mail.recipient, mail.subject, mail.body)
        if current_app.config.get("PORTAL_ENV", "development") != "production":
            print_to_console(mail)
        return
    parts = urlsplit(url)
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Message-ID"] = f"<outbox-{mail.id}@insyn>"  # the same on every attempt
    message.set_content(mail.body)
    with smtplib.SMTP(parts.hostname, parts.port or 25, timeout=SMTP_TIMEOUT) as smtp:
        if parts.username:
            smtp.starttls()
            smtp.login(parts.username, parts.password or "")
        smtp.send_message(message)


def print_to_console(mail: OutboundMail) -> None:
    """Write ``mail`` to standard output, framed so it stands out from the request log."""
    rule = "=" * 78
    text = "\n".join(
        [
            "",
            rule,
            "E-MAIL (development: not sent, PORTAL_SMTP_URL is not set)",
            f"To:      {mail.recipient}",
            f"Subject: {mail.subject}",
            "-" * 78,
            mail.body.rstrip(),
            rule,
            "",
        ]
    )
    with _console:  # mails delivered by several worker threads do not interleave
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
