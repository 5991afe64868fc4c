"""The audit table.

Requests only ever INSERT rows (``seq`` empty). A background step seals them into the chain in
order: it numbers them and stores ``hash = HMAC-SHA256(audit key, prev_hash + canonical row)``,
so no request waits on a global lock, and ``careplane audit verify`` can tell an edited or
deleted row. The key is not in the database (see ``keys.py``).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from careplane.kernel import clock
from careplane.kernel.db import Base, IdMixin


class AuditEntry(IdMixin, Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_patient_at", "patient_id", "occurred_at"),
        Index("ix_audit_log_user_at", "actor_user_id", "occurred_at"),
        Index("ix_audit_log_occurred_at", "occurred_at"),
        Index("ix_audit_log_unsealed", "seq", "occurred_at"),
    )

    occurred_at: Mapped[datetime] = mapped_column(default=clock.now)
    #: Who: the user (empty for the system) and a readable label kept even if the user goes.
    actor_user_id: Mapped[uuid.UUID | None]
    actor_label: Mapped[str] = mapped_column(String(254))
    actor_roles: Mapped[str] = mapped_column(String(200), default="")
    #: What: a permission-like verb such as ``patient.read``.
    action: Mapped[str] = mapped_column(String(60))
    #: Which patient's data, when it is patient data.
    patient_id: Mapped[uuid.UUID | None]
    resource_type: Mapped[str | None] = mapped_column(String(60))
    resource_id: Mapped[str | None] = mapped_column(String(80))
    #: ``allowed`` or ``denied``.
    outcome: Mapped[str] = mapped_column(String(10))
    #: Why: the reason given (break-the-glass) or the reason for a refusal.
    reason: Mapped[str | None] = mapped_column(Text)
    #: From where: client address and channel (web, api, cli, job).
    ip: Mapped[str | None] = mapped_column(String(64))
    via: Mapped[str] = mapped_column(String(10), default="web")
    request_id: Mapped[str | None] = mapped_column(String(64))
    #: The chain, filled in by the sealer.
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))
    #: Which audit key sealed the row; empty on rows sealed before the chain was keyed (plain SHA-256).
    key_id: Mapped[str | None] = mapped_column(String(16))
    sealed_at: Mapped[datetime | None]


class AuditChainHead(Base):
    """The newest sealed link (one row, written only by the sealer).

    Without it, deleting the newest sealed rows would leave a chain that still verifies.
    """

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[datetime]
