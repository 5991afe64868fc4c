"""Queued e-mail leaves through SMTP from the worker, here to a real SMTP server (aiosmtpd) on a
local port; with the outbox backend it stays in the table."""

from __future__ import annotations

import email
import logging
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

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
    config = _use(monkeypatch, settings, mail_backend="smtp", smtp_host="127.0.0.1", smtp_port=port,
                  smtp_security="none", mail_from="careplane <no-reply@clinic.example>")
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
    config = _use(monkeypatch, settings, mail_backend="smtp", smtp_host="127.0.0.1", smtp_port=free_port(),
                  smtp_security="none", smtp_timeout_seconds=2)
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
