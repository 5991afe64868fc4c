"""Idempotency keys for API POSTs: a retried request replays the first answer instead of acting twice.

A client sends ``Idempotency-Key: <unique string>``. The first request with a key stores its
response *in the same transaction* as the change it made, so either both commit or neither does.
A retry with the same key and body gets the stored response back; the same key with a different
body is a client error (422). Two copies racing each other cannot both act: the key row is
inserted before the action, and the unique constraint makes the second copy wait for the first
transaction (PostgreSQL) or queue behind its write lock (SQLite); when the first commits, the
second finds its row and replays it. If the action fails, the key row rolls back with it and the
client may simply retry.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from careplane.kernel import clock
from careplane.kernel.access import Actor
from careplane.kernel.db import Base, IdMixin
from careplane.kernel.errors import CareplaneError, Conflict, ValidationFailed

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200


class IdempotencyKeyReused(CareplaneError):
    status = 422
    title = "Idempotency key reused"
    type_slug = "idempotency-key-reused"


class IdempotencyRecord(IdMixin, Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    #: Whose key: keys are per user, so two clients choosing the same key never collide.
    scope: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    user_id: Mapped[uuid.UUID | None]
    method_path: Mapped[str] = mapped_column(String(300))
    request_hash: Mapped[str] = mapped_column(String(64))
    #: Empty while the first request is still running (inside its own transaction).
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


@dataclass
class Outcome:
    status: int
    body: Any
    replayed: bool


def request_hash(method_path: str, payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method_path}\n{canonical}".encode()).hexdigest()


def run_once(
    session: Session,
    actor: Actor,
    key: str | None,
    *,
    method: str,
    path: str,
    payload: Any,
    action: Callable[[], tuple[int, Any]],
) -> Outcome:
    """Run ``action`` (returning status and a JSON-able body) at most once per key."""
    if key is None:
        status, body = action()
        return Outcome(status, body, replayed=False)
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationFailed({HEADER: f"Use 1 to {MAX_KEY_LENGTH} printable characters, e.g. a UUID."})
    scope = str(actor.user_id) if actor.user_id else actor.label[:64]
    method_path = f"{method.upper()} {path}"[:300]
    digest = request_hash(method_path, payload)

    existing = _find(session, scope, key)
    if existing is None:
        record = IdempotencyRecord(
            scope=scope, key=key, user_id=actor.user_id, method_path=method_path, request_hash=digest
        )
        try:
            with session.begin_nested():
                session.add(record)
                session.flush()
        except IntegrityError:
            # Another request with this key committed while we waited on its row.
            existing = _find(session, scope, key)
            if existing is None:  # pragma: no cover - the winner rolled back between our insert and read
                raise Conflict("A request with this Idempotency-Key is in progress; retry shortly.") from None
        else:
            status, body = action()
            record.response_status = status
            record.response_body = json.dumps(body, default=str)
            session.flush()
            return Outcome(status, body, replayed=False)
    return _replay(existing, method_path, digest)


def _find(session: Session, scope: str, key: str) -> IdempotencyRecord | None:
    return session.scalar(
        select(IdempotencyRecord)
        .where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
        .execution_options(populate_existing=True)
    )


def _replay(record: IdempotencyRecord, method_path: str, digest: str) -> Outcome:
    if record.method_path != method_path or record.request_hash != digest:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used for a different request. Use a new key for a new request."
        )
    if record.response_status is None:  # pragma: no cover - only visible to a reader outside the transaction
        raise Conflict("A request with this Idempotency-Key is in progress; retry shortly.")
    return Outcome(record.response_status, json.loads(record.response_body or "null"), replayed=True)
