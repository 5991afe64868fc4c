"""Sealing audit rows into a keyed hash chain.

Requests only INSERT audit rows (``seq`` empty) and never wait on this module. A background
step, :func:`seal`, numbers the waiting rows in a stable order and links each to the one before
it: ``hash = HMAC-SHA256(key, prev_hash || canonical row)``, with the audit key the app servers
hold (``keys.py``), and names the key on the row. Rows sealed before the chain was keyed used
plain SHA-256 and carry no key id. The chain head (last seq and hash) is kept in its own row so
that deleting the newest sealed rows is noticed too. ``verify.py`` checks the chain.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping, bindparam, select, text, update
from sqlalchemy.orm import Session

from careplane.kernel import clock
from careplane.kernel.audit.keys import AuditKey, sealing_key
from careplane.kernel.audit.models import AuditChainHead, AuditEntry
from careplane.kernel.jobs import scheduled

#: ``prev_hash`` of the first sealed row.
GENESIS_HASH = "0" * 64
#: Key of the PostgreSQL advisory lock that lets only one sealer run at a time ("cpaudit").
SEAL_LOCK_KEY = 0x6370617564697400
HEAD_ID = 1
SEAL_BATCH = 5000

_table = AuditEntry.__table__
#: Every column whose value the chain protects, in a fixed order. ``prev_hash`` is hashed as the
#: link itself; ``hash``, ``key_id`` and ``sealed_at`` are the seal, not the record.
AUDITED_COLUMNS: tuple[str, ...] = (
    "seq",
    "id",
    "occurred_at",
    "actor_user_id",
    "actor_label",
    "actor_roles",
    "action",
    "patient_id",
    "resource_type",
    "resource_id",
    "outcome",
    "reason",
    "ip",
    "via",
    "request_id",
)
CHAIN_COLUMNS = [_table.c[name] for name in AUDITED_COLUMNS] + [_table.c.prev_hash, _table.c.hash, _table.c.key_id]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


#: A row's values by column name: a dict, or a row read with ``.mappings()`` (whose typing also
#: allows Column keys, so it is no ``Mapping[str, Any]``).
ChainRow = Mapping[str, Any] | RowMapping


def canonical(row: ChainRow) -> bytes:
    """The bytes that stand for one row in the chain (UTF-8 JSON, fixed key order, no spaces)."""
    values = [[name, _plain(row[name])] for name in AUDITED_COLUMNS]
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode()


def link_hash(prev_hash: str, row: ChainRow, key: AuditKey | None = None) -> str:
    """The row's link: HMAC-SHA256 under ``key``, or plain SHA-256 without one (rows sealed before
    the chain was keyed, and the unkeyed digest a checkpoint signs)."""
    message = prev_hash.encode("ascii") + canonical(row)
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return key.mac(message)


# ---------------------------------------------------------------- sealing


def seal(session: Session, limit: int = SEAL_BATCH, *, key: AuditKey | None = None) -> int:
    """Seal up to ``limit`` waiting rows onto the chain with ``key`` (default: the configured
    audit key); returns how many were sealed.

    Runs in the caller's transaction. Only one sealer runs at a time (an advisory lock on
    PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers). Inserts by requests
    never touch the head row or the lock, so they are not held up.
    """
    key = key or sealing_key()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEAL_LOCK_KEY})
    head = session.get(AuditChainHead, HEAD_ID, populate_existing=True)
    last_seq, last_hash = (head.last_seq, head.last_hash) if head else (0, GENESIS_HASH)
    rows = (
        session.execute(
            select(*CHAIN_COLUMNS)
            .where(_table.c.seq.is_(None))
            .order_by(_table.c.occurred_at, _table.c.id)
            .limit(limit)
        )
        .mappings()
        .all()
    )
    if not rows:
        return 0
    now = clock.now()
    changes = []
    for row in rows:
        last_seq += 1
        values = dict(row, seq=last_seq)
        digest = link_hash(last_hash, values, key)
        changes.append(
            {
                "row_id": row["id"],
                "seq": last_seq,
                "prev_hash": last_hash,
                "hash": digest,
                "key_id": key.id,
                "sealed_at": now,
            }
        )
        last_hash = digest
    session.connection().execute(
        update(_table)
        .where(_table.c.id == bindparam("row_id"), _table.c.seq.is_(None))
        .values(
            seq=bindparam("seq"),
            prev_hash=bindparam("prev_hash"),
            hash=bindparam("hash"),
            key_id=bindparam("key_id"),
            sealed_at=bindparam("sealed_at"),
        ),
        changes,
    )
    if head is None:
        session.add(AuditChainHead(id=HEAD_ID, last_seq=last_seq, last_hash=last_hash, sealed_at=now))
    else:
        head.last_seq, head.last_hash, head.sealed_at = last_seq, last_hash, now
    session.flush()
    return len(changes)


def seal_all(session: Session, batch: int = SEAL_BATCH, *, key: AuditKey | None = None) -> int:
    """Seal every waiting row, ``batch`` at a time, in the caller's transaction."""
    key = key or sealing_key()
    total = 0
    while sealed := seal(session, batch, key=key):
        total += sealed
    return total


@scheduled("audit.seal", every=timedelta(seconds=5))
def seal_job(session: Session) -> None:
    # Up to 10 batches a tick (10,000 rows/s), so a busy hour cannot build a backlog that never drains.
    key = sealing_key()
    for _ in range(10):
        if seal(session, SEAL_BATCH, key=key) < SEAL_BATCH:
            return
