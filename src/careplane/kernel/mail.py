"""Outgoing e-mail: queued in the database with the change that causes it, delivered by the worker.

:func:`send_mail` stores the message (the outbox) and publishes :class:`MailQueued` in the
caller's transaction. The worker then hands it to the configured backend
(:mod:`careplane.kernel.mail_delivery`): ``outbox`` keeps it in the table only, which the embedded
demo shows at /mailbox; ``smtp`` sends it and stamps ``sent_at``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from careplane.kernel import clock
from careplane.kernel.db import Base, IdMixin
from careplane.kernel.events import DomainEvent, publish


class OutboxMail(IdMixin, Base):
    __tablename__ = "mail_outbox"

    to_address: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    #: Set when a delivering backend (SMTP) has handed the message on; the outbox backend leaves it empty.
    sent_at: Mapped[datetime | None]


@dataclass(frozen=True)
class MailQueued(DomainEvent):
    mail_id: uuid.UUID


def send_mail(session: Session, to: str, subject: str, body: str) -> uuid.UUID:
    """Queue a message in the same transaction as the change that caused it."""
    mail = OutboxMail(to_address=to, subject=subject, body=body)
    session.add(mail)
    session.flush()
    publish(session, MailQueued(mail.id))
    return mail.id
