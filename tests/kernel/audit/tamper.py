"""What an insider who can write the database (and switch its triggers off) does to hide a row.

Every rewrite leaves a chain that links up and a head that matches it, hashed with ``key``: None
for plain SHA-256 (not knowing the audit key), another key, or the real one (a stolen key).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update

from careplane.kernel.audit.chain import CHAIN_COLUMNS, GENESIS_HASH, link_hash
from careplane.kernel.audit.keys import AuditKey
from careplane.kernel.audit.models import AuditChainHead, AuditEntry
from careplane.kernel.db import Database
from tests.helpers import triggers_off

_table = AuditEntry.__table__
#: Keep each row's key id as it was (the insider cannot make the MAC, only a hash beside it).
KEEP = object()


def relink(
    db: Database, from_seq: int, key: AuditKey | None, changes: dict[str, Any] | None = None, key_id: Any = KEEP
) -> None:
    """Apply ``changes`` to row ``from_seq`` and re-hash it and every later row onto its predecessor; fix the head."""
    with triggers_off(db) as conn:
        prev = conn.scalar(select(_table.c.hash).where(_table.c.seq == from_seq - 1)) or GENESIS_HASH
        rows = (
            conn.execute(select(*CHAIN_COLUMNS).where(_table.c.seq >= from_seq).order_by(_table.c.seq)).mappings().all()
        )
        for row in rows:
            values = dict(row)
            if row["seq"] == from_seq and changes:
                values.update(changes)
            digest = link_hash(prev, values, key)
            new_key_id = row["key_id"] if key_id is KEEP else key_id
            conn.execute(
                update(_table)
                .where(_table.c.id == row["id"])
                .values(
                    **{k: values[k] for k in (changes or {}) if row["seq"] == from_seq},
                    prev_hash=prev,
                    hash=digest,
                    key_id=new_key_id,
                )
            )
            prev = digest
        _fix_head(conn)


def delete_and_renumber(db: Database, seq: int, key: AuditKey | None) -> None:
    """Delete row ``seq``, move every later row down one, and re-hash them."""
    with triggers_off(db) as conn:
        conn.execute(delete(_table).where(_table.c.seq == seq))
        later = conn.execute(select(_table.c.id, _table.c.seq).where(_table.c.seq > seq).order_by(_table.c.seq)).all()
        for row_id, old in later:
            conn.execute(update(_table).where(_table.c.id == row_id).values(seq=old - 1))
    relink(db, seq, key)


def truncate(db: Database, from_seq: int) -> None:
    """Delete row ``from_seq`` and every later one, and point the head at the row before."""
    with triggers_off(db) as conn:
        conn.execute(delete(_table).where(_table.c.seq >= from_seq))
        _fix_head(conn)


def _fix_head(conn) -> None:  # noqa: ANN001
    last = conn.execute(select(_table.c.seq, _table.c.hash).order_by(_table.c.seq.desc()).limit(1)).first()
    conn.execute(
        update(AuditChainHead).values(last_seq=last.seq if last else 0, last_hash=last.hash if last else GENESIS_HASH)
    )
