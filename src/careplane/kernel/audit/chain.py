"""Sealing audit rows into a hash chain, and checking the chain.

Requests only INSERT audit rows (``seq`` empty) and never wait on this module. A background
step, :func:`seal`, numbers the waiting rows in a stable order and links each to the one before
it: ``hash = sha256(prev_hash || canonical row)``. The chain head (last seq and hash) is kept in
its own row so that deleting the newest sealed rows is noticed too. :func:`verify` walks the
chain in batches and names every edited, deleted or re-linked row.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.orm import Session

from careplane.kernel import clock
from careplane.kernel.audit.models import AuditChainHead, AuditEntry
from careplane.kernel.jobs import scheduled

#: ``prev_hash`` of the first sealed row.
GENESIS_HASH = "0" * 64
#: Key of the PostgreSQL advisory lock that lets only one sealer run at a time ("cpaudit").
SEAL_LOCK_KEY = 0x6370617564697400
HEAD_ID = 1
SEAL_BATCH = 5000
VERIFY_BATCH = 5000

_table = AuditEntry.__table__
#: Every column whose value the chain protects, in a fixed order. ``prev_hash`` is hashed as the
#: link itself; ``hash`` and ``sealed_at`` are the seal, not the record.
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
_CHAIN_COLUMNS = [_table.c[name] for name in AUDITED_COLUMNS] + [_table.c.prev_hash, _table.c.hash]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def canonical(row: Mapping[str, Any]) -> bytes:
    """The bytes that stand for one row in the chain (UTF-8 JSON, fixed key order, no spaces)."""
    values = [[name, _plain(row[name])] for name in AUDITED_COLUMNS]
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode()


def link_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(row)).hexdigest()


# ---------------------------------------------------------------- sealing


def seal(session: Session, limit: int = SEAL_BATCH) -> int:
    """Seal up to ``limit`` waiting rows onto the chain; returns how many were sealed.

    Runs in the caller's transaction. Only one sealer runs at a time (an advisory lock on
    PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers). Inserts by requests
    never touch the head row or the lock, so they are not held up.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEAL_LOCK_KEY})
    head = session.get(AuditChainHead, HEAD_ID, populate_existing=True)
    last_seq, last_hash = (head.last_seq, head.last_hash) if head else (0, GENESIS_HASH)
    rows = session.execute(
        select(*_CHAIN_COLUMNS)
        .where(_table.c.seq.is_(None))
        .order_by(_table.c.occurred_at, _table.c.id)
        .limit(limit)
    ).mappings().all()
    if not rows:
        return 0
    now = clock.now()
    changes = []
    for row in rows:
        last_seq += 1
        values = dict(row, seq=last_seq)
        digest = link_hash(last_hash, values)
        changes.append({"row_id": row["id"], "seq": last_seq, "prev_hash": last_hash, "hash": digest, "sealed_at": now})
        last_hash = digest
    session.connection().execute(
        update(_table)
        .where(_table.c.id == bindparam("row_id"), _table.c.seq.is_(None))
        .values(seq=bindparam("seq"), prev_hash=bindparam("prev_hash"), hash=bindparam("hash"), sealed_at=bindparam("sealed_at")),
        changes,
    )
    if head is None:
        session.add(AuditChainHead(id=HEAD_ID, last_seq=last_seq, last_hash=last_hash, sealed_at=now))
    else:
        head.last_seq, head.last_hash, head.sealed_at = last_seq, last_hash, now
    session.flush()
    return len(changes)


def seal_all(session: Session, batch: int = SEAL_BATCH) -> int:
    """Seal every waiting row, ``batch`` at a time, in the caller's transaction."""
    total = 0
    while sealed := seal(session, batch):
        total += sealed
    return total


@scheduled("audit.seal", every=timedelta(seconds=5))
def seal_job(session: Session) -> None:
    # Up to 10 batches a tick (10,000 rows/s), so a busy hour cannot build a backlog that never drains.
    for _ in range(10):
        if seal(session, SEAL_BATCH) < SEAL_BATCH:
            return


# ---------------------------------------------------------------- verifying


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the chain. ``kind`` is edited, relinked, missing, head or unsealed-hash."""

    kind: str
    message: str
    seq: int | None = None
    entry_id: uuid.UUID | None = None


@dataclass
class VerifyReport:
    sealed: int = 0
    unsealed: int = 0
    last_seq: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _missing(first: int, last: int, where: str = "") -> Problem:
    span = f"seq {first}" if first == last else f"seq {first}-{last}"
    count = last - first + 1
    rows = "row is" if count == 1 else f"{count} rows are"
    return Problem("missing", f"{span}: {rows} missing (deleted){where}", seq=first)


def _sealed_batches(session: Session, batch: int, *, release_between: bool) -> Iterator[list[Mapping[str, Any]]]:
    """Sealed rows by seq. The query that finds no more rows runs in the same transaction as
    whatever the caller reads next (the head), so a concurrent seal cannot fall in between."""
    after = 0
    while True:
        rows = session.execute(
            select(*_CHAIN_COLUMNS)
            .where(_table.c.seq.is_not(None), _table.c.seq > after)
            .order_by(_table.c.seq)
            .limit(batch)
        ).mappings().all()
        if not rows:
            return
        yield rows
        after = rows[-1]["seq"]
        if release_between:
            session.rollback()


def verify(session: Session, batch: int = VERIFY_BATCH) -> VerifyReport:
    """Check every sealed row against its hash, its neighbour and the chain head. Changes nothing.

    Memory stays flat however long the chain is: rows are read ``batch`` at a time by seq. On
    PostgreSQL call it first thing in a fresh session, so the whole walk sees one snapshot. On
    SQLite, where every transaction holds the write lock, the session's transaction is ended
    after each batch so requests can keep writing during a long walk.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    report = VerifyReport()
    problems = report.problems
    expected_seq = 1
    prev_hash: str | None = GENESIS_HASH  # None after a gap: the link cannot be checked there
    for rows in _sealed_batches(session, batch, release_between=not postgres):
        for row in rows:
            seq, row_id = row["seq"], row["id"]
            report.sealed += 1
            if seq > expected_seq:
                problems.append(_missing(expected_seq, seq - 1))
                prev_hash = None
            if row["hash"] != link_hash(row["prev_hash"] or "", row):
                problems.append(
                    Problem("edited", f"seq {seq} (id {row_id}): contents do not match its hash (row edited)", seq, row_id)
                )
            elif prev_hash is not None and row["prev_hash"] != prev_hash:
                what = "does not start from the genesis value" if seq == 1 else f"does not match the hash of seq {seq - 1}"
                problems.append(
                    Problem(
                        "relinked",
                        f"seq {seq} (id {row_id}): prev_hash {what} (seq {seq - 1} or {seq} was rewritten)",
                        seq,
                        row_id,
                    )
                )
            prev_hash = row["hash"]
            expected_seq = seq + 1
    report.last_seq = expected_seq - 1
    _check_head(session, report)
    report.unsealed = session.scalar(select(func.count()).select_from(_table).where(_table.c.seq.is_(None))) or 0
    stray = session.execute(
        select(_table.c.id).where(_table.c.seq.is_(None), _table.c.hash.is_not(None)).limit(20)
    ).scalars().all()
    problems.extend(
        Problem("unsealed-hash", f"id {row_id}: carries a hash but no seq (its seq was removed)", None, row_id)
        for row_id in stray
    )
    return report


def _check_head(session: Session, report: VerifyReport) -> None:
    head = session.get(AuditChainHead, HEAD_ID, populate_existing=True)
    last = report.last_seq
    if head is None:
        if last:
            report.problems.append(Problem("head", f"chain head is missing although {report.sealed} rows are sealed"))
        return
    if head.last_seq > last:
        report.problems.append(_missing(last + 1, head.last_seq, f" at the tail: the chain head says seq {head.last_seq}"))
        report.problems.append(
            Problem("head", f"head mismatch: head is seq {head.last_seq} but the last sealed row is seq {last}", last or None)
        )
    elif head.last_seq < last:
        report.problems.append(
            Problem("head", f"head mismatch: head is seq {head.last_seq} but sealed rows go on to seq {last}", last)
        )
    else:
        tail_hash = session.scalar(select(_table.c.hash).where(_table.c.seq == last)) if last else GENESIS_HASH
        if tail_hash != head.last_hash:
            report.problems.append(Problem("head", f"head mismatch: hash of seq {last} differs from the chain head", last))
