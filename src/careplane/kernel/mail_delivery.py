"""Delivering queued e-mail (:mod:`careplane.kernel.mail`) through SMTP, from the worker.

Delivery runs as an event handler, so it has the worker's retries, backoff and dead-letter list
(and replay from the operations page) when the SMTP server is down or refuses. The SMTP
conversation takes network time, so it happens outside any transaction (``transaction=False``): on
SQLite a transaction would hold the one write lock of the embedded server for all that time. In
three steps:

1. a short transaction reads the message, unless it has been sent (``sent_at``);
2. the message goes to the SMTP server, with no transaction open;
3. another short transaction stamps ``sent_at``.

No two workers send one message at once: the delivery is leased to its worker for the handler's
time limit. It is at least once: a worker that dies (or a database that fails) between 2 and 3
leaves the message unstamped, and the retry sends it again, once for each such crash. The
Message-ID is the mail's own id, so the two copies are recognisably one message.
"""

from __future__ import annotations

import smtplib
import ssl
import uuid
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from careplane.kernel import clock
from careplane.kernel.db import Database
from careplane.kernel.events import handles
from careplane.kernel.mail import MailQueued, OutboxMail
from careplane.settings import Settings, get_settings


@handles(MailQueued, transaction=False)
def deliver(db: Database, event: MailQueued) -> None:
    settings = get_settings()
    if settings.mail_backend != "smtp":
        return  # the outbox backend: the message stays in the table
    with db.unit_of_work() as session:
        mail = session.get(OutboxMail, event.mail_id)
        if mail is None or mail.sent_at is not None:
            return
        message = message_of(mail, settings)
    send_by_smtp(settings, message)
    stamp_sent(db, event.mail_id)


def stamp_sent(db: Database, mail_id: uuid.UUID) -> None:
    with db.unit_of_work() as session:
        mail = session.get(OutboxMail, mail_id, with_for_update=True)
        if mail is not None and mail.sent_at is None:
            mail.sent_at = clock.now()


def message_of(mail: OutboxMail, settings: Settings) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(mail.created_at)
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "careplane.local"
    message["Message-ID"] = f"<{mail.id}@{domain}>"
    message.set_content(mail.body)
    return message


def send_by_smtp(settings: Settings, message: EmailMessage) -> None:
    """Hand one message to the configured SMTP server; raises if it is not accepted."""
    timeout = settings.smtp_timeout_seconds
    if settings.smtp_security == "tls":
        server: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        server = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    with server:
        if settings.smtp_security == "starttls":
            server.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            server.login(settings.smtp_username, settings.smtp_password)
        server.send_message(message)
