"""E-mail through an outbox: mails are rows written in the transaction that caused them,
sent after commit, and retried by ``flask --app portal mail retry`` when SMTP was down."""

from __future__ import annotations

import logging
import smtplib
import sys
import threading
from email.message import EmailMessage
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, g, has_request_context, render_template
from flask_babel import force_locale

from portal.extensions import db
from portal.models import OutboundMail
from portal.models.base import utcnow

log = logging.getLogger(__name__)
SMTP_TIMEOUT = 10
_console = threading.Lock()


def queue(recipient: str, subject, template: str, **context) -> OutboundMail:
    """Write a mail (body from ``templates/email/<template>.txt``) to the outbox.

    Mails are written in the installation's language (``BABEL_DEFAULT_LOCALE``), whatever
    the language of the page that caused them: ``subject`` may be a lazy translation.
    """
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        mail = OutboundMail(
            recipient=recipient,
            subject=str(subject),
            body=render_template(f"email/{template}.txt", **context),
        )
    db.session.add(mail)
    if has_request_context():
        g.setdefault("queued_mails", []).append(mail)
    return mail


def send_in_background(mail: OutboundMail) -> None:
    """Send ``mail`` (queued in this request) from a thread after commit, so that the response
    does not wait for the mail server: how long it takes must not tell a caller whether an
    address has an account (a password reset)."""
    queued = g.get("queued_mails", [])
    if mail in queued:
        queued.remove(mail)
    g.setdefault("background_mails", []).append(mail)


def send_queued_after_request() -> None:
    """Send what this request queued, if its transaction committed (teardown hook)."""
    mails = g.pop("queued_mails", [])
    ids = [m.id for m in mails if sa.inspect(m).persistent and m.id is not None]
    if ids:
        deliver(OutboundMail.id.in_(ids))
    later = [
        m.id for m in g.pop("background_mails", []) if sa.inspect(m).persistent and m.id is not None
    ]
    if later:
        app = current_app._get_current_object()

        def send() -> None:
            with app.app_context():
                try:
                    deliver(OutboundMail.id.in_(later))
                finally:
                    db.session.remove()

        threading.Thread(target=send, name="mail-send", daemon=True).start()


def deliver(condition=None) -> tuple[int, int]:
    """Try to send the unsent mails matching ``condition``; returns (sent, failed).

    Safe to run twice at once (cron's ``mail retry`` while a request sends its own mails):
    each mail is claimed with a row lock that the other run skips (PostgreSQL), so nobody
    gets it twice.
    """
    sent = failed = 0
    failed_ids: list[int] = []
    while True:
        mail = db.session.scalar(
            sa.select(OutboundMail)
            .where(
                OutboundMail.sent_at.is_(None),
                condition if condition is not None else sa.true(),
                OutboundMail.id.not_in(failed_ids) if failed_ids else sa.true(),
            )
            .order_by(OutboundMail.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        if mail is None:
            return sent, failed
        try:
            _send(mail)
        except (OSError, smtplib.SMTPException) as exc:
            mail.attempts += 1
            mail.last_error = f"{type(exc).__name__}: {exc}"[:500]
            failed += 1
            failed_ids.append(mail.id)
            log.warning("mail %s to %s not sent: %s", mail.id, mail.recipient, exc)
        else:
            mail.attempts += 1
            mail.sent_at = utcnow()
            sent += 1
        db.session.commit()


def _send(mail: OutboundMail) -> None:
    url = current_app.config["SMTP_URL"]
    if not url:
        # Embedded default: no mail server. In development every mail is printed where
        # ``make run`` shows it (invitation and reset links are otherwise unreachable);
        # in production it only goes to the log.
        log.info("mail to %s: %s\n%s", mail.recipient, mail.subject, mail.body)
        if current_app.config.get("PORTAL_ENV", "development") != "production":
            print_to_console(mail)
        return
    parts = urlsplit(url)
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Message-ID"] = f"<outbox-{mail.id}@insyn>"
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
    with _console:  # mails sent from background threads do not interleave
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
