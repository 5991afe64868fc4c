"""Outgoing e-mail through an adapter. The built-in one keeps mail in the database (the outbox).

Production swaps in an SMTP or provider adapter; the demo shows the outbox at /mailbox.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from careplane.kernel import clock
from careplane.kernel.db import Base, IdMixin


class OutboxMail(IdMixin, Base):
    __tablename__ = "mail_outbox"

    to_address: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    #: Filled in by a delivering adapter; the local outbox leaves it empty.
    sent_at: Mapped[datetime | None]


def send_mail(session: Session, to: str, subject: str, body: str) -> uuid.UUID:
    """Queue a message in the same transaction as the change that caused it."""
    mail = OutboxMail(to_address=to, subject=subject, body=body)
    session.add(mail)
    session.flush()
    return mail.id
