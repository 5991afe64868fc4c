"""Queued e-mail leaves through SMTP from the worker, here to a real SMTP server (aiosmtpd) on a
local port; with the outbox backend it stays in the table."""

from __future__ import annotations

import email
import logging
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from careplane.kernel import mail_delivery
from careplane.kernel.events import PENDING, EventDelivery
from careplane.kernel.mail import OutboxMail, send_mail
from careplane.kernel.worker import Worker
from careplane.settings import Settings
from tests.helpers import free_port

HANDLER = "careplane.kernel.mail_delivery.deliver"


class _Inbox:
    def __init__(self) -> None:
        self.received: list[email.message.Message] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802 - aiosmtpd's hook name
        self.received.append(email.message_from_bytes(envelope.content))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted"


@pytest.fixture
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, _Inbox]]:
    # aiosmtpd logs each connection from its own thread, also after pytest has closed the stream.
    monkeypatch.setattr(logging.getLogger("mail.log"), "disabled", True)
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, inbox
    finally:
        controller.stop()


def _use(monkeypatch: pytest.MonkeyPatch, settings: Settings, **changes: object) -> Settings:
    configured = settings.model_copy(update=changes)
    monkeypatch.setattr(mail_delivery, "get_settings", lambda: configured)
    return configured


def _queue(db, to: str = "rosa@example.org"):  # noqa: ANN001, ANN202
    with db.unit_of_work() as s:
        return send_mail(s, to, "Confirm your e-mail address", "Hello Rosa,\n\nOpen this link: https://x/y\n")


def test_the_worker_sends_queued_mail_once_and_stamps_it(db, settings, smtp_server, monkeypatch):
    port, inbox = smtp_server
    config = _use(
        monkeypatch,
        settings,
        mail_backend="smtp",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        mail_from="careplane <no-reply@clinic.example>",
    )
    mail_id = _queue(db)
    Worker(db, config).run_once()
    assert inbox.recipients == [["rosa@example.org"]]
    message = inbox.received[0]
    assert message["Subject"] == "Confirm your e-mail address"
    assert message["From"] == "careplane <no-reply@clinic.example>"
    assert message["Message-ID"] == f"<{mail_id}@clinic.example>"
    assert "Open this link: https://x/y" in message.get_payload(decode=True).decode()
    with db.unit_of_work() as s:
        assert s.get(OutboxMail, mail_id).sent_at is not None
    Worker(db, config).run_once()
    assert len(inbox.received) == 1


def test_an_unreachable_server_leaves_the_mail_queued_for_a_retry(db, settings, monkeypatch):
    config = _use(
        monkeypatch,
        settings,
        mail_backend="smtp",
        smtp_host="127.0.0.1",
        smtp_port=free_port(),
        smtp_security="none",
        smtp_timeout_seconds=2,
    )
    mail_id = _queue(db)
    Worker(db, config).run_once()
    with db.unit_of_work() as s:
        delivery = s.scalar(select(EventDelivery).where(EventDelivery.handler == HANDLER))
        assert (delivery.status, delivery.attempts) == (PENDING, 1)
        assert "Connection refused" in delivery.last_error or "ConnectionRefused" in delivery.last_error
        assert s.get(OutboxMail, mail_id).sent_at is None


def test_the_outbox_backend_keeps_mail_in_the_table_only(db, settings, smtp_server, monkeypatch):
    port, inbox = smtp_server
    config = _use(monkeypatch, settings, mail_backend="outbox", smtp_host="127.0.0.1", smtp_port=port)
    mail_id = _queue(db)
    Worker(db, config).run_once()
    assert inbox.received == []
    with db.unit_of_work() as s:
        assert s.get(OutboxMail, mail_id).sent_at is None
        assert s.scalar(select(EventDelivery.status).where(EventDelivery.handler == HANDLER)) == "done"


class _InboxThatWrites(_Inbox):
    """An inbox that, while it receives, changes the message's row: which waits (on SQLite for the
    write lock, on PostgreSQL for the row lock) if the worker talks SMTP inside a transaction."""

    def __init__(self, db, mail_id) -> None:  # noqa: ANN001
        super().__init__()
        self.db, self.mail_id, self.waited = db, mail_id, None

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802
        import time

        from sqlalchemy import update

        began = time.monotonic()
        with self.db.unit_of_work() as s:
            s.execute(update(OutboxMail).where(OutboxMail.id == self.mail_id).values(subject="seen"))
        self.waited = time.monotonic() - began
        return await super().handle_DATA(server, session, envelope)


def test_smtp_is_spoken_with_no_transaction_open(db, settings, monkeypatch):
    monkeypatch.setattr(logging.getLogger("mail.log"), "disabled", True)
    mail_id = _queue(db)
    inbox = _InboxThatWrites(db, mail_id)
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        config = _use(
            monkeypatch,
            settings,
            mail_backend="smtp",
            smtp_host="127.0.0.1",
            smtp_port=controller.port,
            smtp_security="none",
            smtp_timeout_seconds=20,
        )
        Worker(db, config).run_once()
    finally:
        controller.stop()
    assert len(inbox.received) == 1 and inbox.waited is not None and inbox.waited < 2
    with db.unit_of_work() as s:
        mail = s.get(OutboxMail, mail_id)
        assert mail.subject == "seen" and mail.sent_at is not None


def test_a_failure_between_sending_and_stamping_sends_once_more_then_never(db, settings, smtp_server, monkeypatch):
    port, inbox = smtp_server
    config = _use(
        monkeypatch, settings, mail_backend="smtp", smtp_host="127.0.0.1", smtp_port=port, smtp_security="none"
    )
    mail_id = _queue(db)
    real_stamp = mail_delivery.stamp_sent
    failures = iter([RuntimeError("the database went away after the send")])

    def stamp_or_fail(database, stamped_id):  # noqa: ANN001, ANN202
        failure = next(failures, None)
        if failure is not None:
            raise failure
        real_stamp(database, stamped_id)

    monkeypatch.setattr(mail_delivery, "stamp_sent", stamp_or_fail)
    Worker(db, config).run_once()
    with db.unit_of_work() as s:
        delivery = s.scalar(select(EventDelivery).where(EventDelivery.handler == HANDLER))
        assert (delivery.status, delivery.attempts) == (PENDING, 1) and "went away" in delivery.last_error
        s.execute(
            update(EventDelivery)
            .where(EventDelivery.id == delivery.id)
            .values(next_attempt_at=delivery.next_attempt_at.replace(year=2000))
        )
    Worker(db, config).run_once()
    assert len(inbox.received) == 2  # sent again once, the same message
    assert inbox.received[0]["Message-ID"] == inbox.received[1]["Message-ID"] == f"<{mail_id}@careplane.local>"
    with db.unit_of_work() as s:
        assert s.get(OutboxMail, mail_id).sent_at is not None
        assert s.scalar(select(EventDelivery.status).where(EventDelivery.handler == HANDLER)) == "done"
    Worker(db, config).run_once()
    assert len(inbox.received) == 2
