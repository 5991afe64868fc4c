"""Checking the audit chain: each sealed row against its MAC and its neighbour, the chain head,
and signed checkpoints. Changes nothing.

With the audit keyring every row is checked on its own, so the first edited, re-linked or deleted
row is named. Without it (an auditor who holds only the checkpoints' public key) the links and
the legacy rows are checked, and every checkpoint against the rows it covers: a rewrite is found,
and placed between the last checkpoint that agrees and the first that does not.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import RowMapping, func, select
from sqlalchemy.orm import Session

from careplane.kernel.audit.chain import CHAIN_COLUMNS, GENESIS_HASH, HEAD_ID, ChainRow, link_hash
from careplane.kernel.audit.keys import Keyring
from careplane.kernel.audit.models import AuditChainHead, AuditEntry

if TYPE_CHECKING:
    from careplane.kernel.audit.checkpoints import Checkpoint

VERIFY_BATCH = 5000
#: Problems kept in a report; past this they are only counted (a rewrite early in a long chain
#: makes every later row fail its MAC).
MAX_PROBLEMS = 1000

_table = AuditEntry.__table__


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the chain. ``kind`` is edited, relinked, missing, unkeyed, unknown-key,
    head, unsealed-hash, checkpoint (the chain disagrees with one) or checkpoint-file (a file that
    cannot be trusted)."""

    kind: str
    message: str
    seq: int | None = None
    entry_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Anchor:
    """Where a walk starts: the last seq before it, that row's hash and key id, and the unkeyed
    digest of the rows up to it (the genesis values for a walk from the first row)."""

    seq: int = 0
    hash: str = GENESIS_HASH
    digest: str = GENESIS_HASH
    key_id: str | None = None


@dataclass
class VerifyReport:
    sealed: int = 0
    unsealed: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    last_key_id: str | None = None
    #: Plain SHA-256 chained over the contents of every row so far; None after a gap.
    digest: str | None = GENESIS_HASH
    #: Rows sealed before the chain was keyed (no key id, plain SHA-256).
    legacy: int = 0
    #: Keyed rows whose MAC was not checked, because no audit key was given.
    unchecked: int = 0
    checkpoints_agreed: int = 0
    checkpoints_disagreed: int = 0
    problems: list[Problem] = field(default_factory=list)
    more_problems: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, problem: Problem) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)
        else:
            self.more_problems += 1

    @property
    def first_bad(self) -> Problem | None:
        """The problem at the lowest seq: the first row that disagrees."""
        placed = [p for p in self.problems if p.seq is not None]
        return min(placed, key=lambda p: p.seq) if placed else None  # type: ignore[arg-type,return-value]


def span(first: int, last: int) -> str:
    return f"seq {first}" if first == last else f"seq {first}-{last}"


def _missing(first: int, last: int, where: str = "") -> Problem:
    count = last - first + 1
    rows = "row is" if count == 1 else f"{count} rows are"
    return Problem("missing", f"{span(first, last)}: {rows} missing (deleted){where}", seq=first)


class _Walk:
    """Checks sealed rows one by one, in seq order, and the checkpoints they reach."""

    def __init__(
        self, report: VerifyReport, keyring: Keyring | None, start: Anchor, checkpoints: Iterable[Checkpoint] = ()
    ) -> None:
        self.report = report
        self.keyring = keyring
        self.pending = sorted((c for c in checkpoints if c.seq > start.seq), key=lambda c: c.seq)
        self.expected_seq = start.seq + 1
        self.prev_hash: str | None = start.hash  # None after a gap: the link cannot be checked there
        self.keyed_from: int | None = start.seq if start.key_id else None
        self.unknown_keys: set[str] = set()
        self.agreed_seq = start.seq
        report.last_seq, report.last_hash, report.last_key_id, report.digest = (
            start.seq,
            start.hash,
            start.key_id,
            start.digest,
        )

    def row(self, row: ChainRow) -> None:
        report, seq = self.report, row["seq"]
        report.sealed += 1
        if seq > self.expected_seq:
            report.add(_missing(self.expected_seq, seq - 1))
            self.prev_hash = report.digest = None
        self._check(row)
        if report.digest is not None:
            report.digest = link_hash(report.digest, row)
        self.prev_hash = row["hash"]
        self.expected_seq = seq + 1
        report.last_seq, report.last_hash, report.last_key_id = seq, row["hash"], row["key_id"]
        while self.pending and self.pending[0].seq <= seq:
            checkpoint = self.pending.pop(0)
            self._against(checkpoint, row if checkpoint.seq == seq else None)

    def _check(self, row: ChainRow) -> None:
        report, seq, row_id, key_id = self.report, row["seq"], row["id"], row["key_id"]
        expected: str | None = None
        if key_id is None:
            report.legacy += 1
            if self.keyed_from is not None:
                report.add(
                    Problem(
                        "unkeyed",
                        f"seq {seq} (id {row_id}): sealed without a key after seq {self.keyed_from} was sealed "
                        "with one (re-sealed by someone without the audit key)",
                        seq,
                        row_id,
                    )
                )
            else:
                expected = link_hash(row["prev_hash"] or "", row)
        else:
            if self.keyed_from is None:
                self.keyed_from = seq
            if self.keyring is None:
                report.unchecked += 1
            elif (key := self.keyring.get(key_id)) is not None:
                expected = link_hash(row["prev_hash"] or "", row, key)
            elif key_id not in self.unknown_keys:
                self.unknown_keys.add(key_id)
                report.add(
                    Problem(
                        "unknown-key",
                        f"seq {seq} (id {row_id}): sealed with audit key {key_id}, which is not configured "
                        "(if it is an earlier key, add it to CAREPLANE_AUDIT_KEYS_OLD); "
                        "it and later rows under that key are not checked",
                        seq,
                        row_id,
                    )
                )
        if expected is not None and row["hash"] != expected:
            report.add(
                Problem("edited", f"seq {seq} (id {row_id}): contents do not match its hash (row edited)", seq, row_id)
            )
        elif self.prev_hash is not None and row["prev_hash"] != self.prev_hash:
            what = "does not start from the genesis value" if seq == 1 else f"does not match the hash of seq {seq - 1}"
            report.add(
                Problem(
                    "relinked",
                    f"seq {seq} (id {row_id}): prev_hash {what} (seq {seq - 1} or {seq} was rewritten)",
                    seq,
                    row_id,
                )
            )

    def _against(self, checkpoint: Checkpoint, row: ChainRow | None) -> None:
        report = self.report
        where = f"checkpoint {checkpoint.name} (seq {checkpoint.seq}, signed {checkpoint.at:%Y-%m-%d %H:%M:%S} UTC)"
        if row is not None and row["hash"] == checkpoint.hash and report.digest in (None, checkpoint.digest):
            report.checkpoints_agreed += 1
            self.agreed_seq = checkpoint.seq
            return
        report.checkpoints_disagreed += 1
        if report.checkpoints_disagreed > 1:
            return  # once the chain departs from a checkpoint it departs from every later one
        if row is None:
            report.add(Problem("checkpoint", f"{where}: its row is gone from the chain", checkpoint.seq))
            return
        what = (
            "the hash of that row differs"
            if row["hash"] != checkpoint.hash
            else "the contents of the rows up to it differ"
        )
        first = min(
            (p.seq for p in report.problems if p.seq is not None and self.agreed_seq < p.seq <= checkpoint.seq),
            default=None,
        )
        if first is not None:
            why = f"; the first row that disagrees is seq {first} (above)"
        else:
            first = self.agreed_seq + 1
            where_in = f"; the change is in {span(first, checkpoint.seq)}"
            if self.keyring is None or report.unchecked:
                why = f"{where_in} (the audit key would name the row)"
            elif self.keyed_from is not None and self.keyed_from <= first:
                why = f"{where_in}, and every row there still matches its MAC: whoever changed them held the audit key"
            else:
                why = f"{where_in} (legacy rows there: no key names the row)"
        report.add(Problem("checkpoint", f"{where}: {what} from what was signed{why}", first))

    def finish(self) -> None:
        if self.pending:
            checkpoint = self.pending[-1]
            last = self.report.last_seq
            self.report.add(
                Problem(
                    "checkpoint",
                    f"checkpoint {checkpoint.name} (signed {checkpoint.at:%Y-%m-%d %H:%M:%S} UTC) "
                    f"says the chain reached seq {checkpoint.seq}, "
                    f"but it ends at seq {last}: {span(last + 1, checkpoint.seq)} deleted",
                    last + 1,
                )
            )


def _sealed_batches(
    session: Session, batch: int, *, after: int = 0, upto: int | None = None, release_between: bool
) -> Iterator[Sequence[RowMapping]]:
    """Sealed rows by seq. The query that finds no more rows runs in the same transaction as
    whatever the caller reads next (the head), so a concurrent seal cannot fall in between."""
    while True:
        stmt = select(*CHAIN_COLUMNS).where(_table.c.seq.is_not(None), _table.c.seq > after)
        if upto is not None:
            stmt = stmt.where(_table.c.seq <= upto)
        rows = session.execute(stmt.order_by(_table.c.seq).limit(batch)).mappings().all()
        if not rows:
            return
        yield rows
        after = rows[-1]["seq"]
        if release_between:
            session.rollback()


def verify(
    session: Session, keyring: Keyring | None, *, checkpoints: Iterable[Checkpoint] = (), batch: int = VERIFY_BATCH
) -> VerifyReport:
    """Check every sealed row, the chain head and the given (signature-checked) checkpoints.

    ``keyring`` None checks what can be checked without the audit key. Memory stays flat however
    long the chain is: rows are read ``batch`` at a time by seq. On PostgreSQL call it first thing
    in a fresh session, so the whole walk sees one snapshot. On SQLite, where every transaction
    holds the write lock, the session's transaction is ended after each batch so requests can
    keep writing during a long walk.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    report = VerifyReport()
    walk = _Walk(report, keyring, Anchor(), checkpoints)
    for rows in _sealed_batches(session, batch, release_between=not postgres):
        for row in rows:
            walk.row(row)
    walk.finish()
    _check_head(session, report)
    report.unsealed = session.scalar(select(func.count()).select_from(_table).where(_table.c.seq.is_(None))) or 0
    stray = (
        session.execute(select(_table.c.id).where(_table.c.seq.is_(None), _table.c.hash.is_not(None)).limit(20))
        .scalars()
        .all()
    )
    for row_id in stray:
        report.add(
            Problem("unsealed-hash", f"id {row_id}: carries a hash but no seq (its seq was removed)", None, row_id)
        )
    return report


def verify_since(
    session: Session, keyring: Keyring, start: Anchor, upto: int, *, batch: int = VERIFY_BATCH
) -> VerifyReport:
    """Check the rows after ``start`` up to seq ``upto`` (the rows a new checkpoint adds): their
    MACs, their links (the first onto ``start``) and that none is missing."""
    report = VerifyReport()
    walk = _Walk(report, keyring, start)
    for rows in _sealed_batches(session, batch, after=start.seq, upto=upto, release_between=False):
        for row in rows:
            walk.row(row)
    if report.last_seq < upto:
        report.add(_missing(report.last_seq + 1, upto, f" at the tail: the chain head says seq {upto}"))
    return report


def _check_head(session: Session, report: VerifyReport) -> None:
    head = session.get(AuditChainHead, HEAD_ID, populate_existing=True)
    last = report.last_seq
    if head is None:
        if last:
            report.add(Problem("head", f"chain head is missing although {report.sealed} rows are sealed"))
        return
    if head.last_seq > last:
        report.add(_missing(last + 1, head.last_seq, f" at the tail: the chain head says seq {head.last_seq}"))
        report.add(
            Problem(
                "head",
                f"head mismatch: head is seq {head.last_seq} but the last sealed row is seq {last}",
                last or None,
            )
        )
    elif head.last_seq < last:
        report.add(
            Problem("head", f"head mismatch: head is seq {head.last_seq} but sealed rows go on to seq {last}", last)
        )
    else:
        tail_hash = session.scalar(select(_table.c.hash).where(_table.c.seq == last)) if last else GENESIS_HASH
        if tail_hash != head.last_hash:
            report.add(Problem("head", f"head mismatch: hash of seq {last} differs from the chain head", last))
