"""The audit key: rows name the key that sealed them, keys rotate, and rows sealed before the
chain was keyed (migration 0005) still verify, as legacy rows."""

import pytest
from sqlalchemy import select, update

from careplane.kernel import clock
from careplane.kernel.audit.chain import CHAIN_COLUMNS, GENESIS_HASH, HEAD_ID, link_hash, seal_all
from careplane.kernel.audit.keys import AuditKey, Keyring, keyring, sealing_key, sealing_keyring
from careplane.kernel.audit.models import AuditChainHead, AuditEntry
from careplane.settings import Settings
from tests.kernel.audit import tamper
from tests.kernel.audit.helpers import KEYRING
from tests.kernel.audit.test_chain import add_entries, do_verify, sealed_rows

OLD_TEXT = "the-key-we-sealed-with-last-year-0123456789"
NEW_TEXT = "the-key-we-seal-with-from-today-9876543210"
OLD, NEW = AuditKey.from_text(OLD_TEXT), AuditKey.from_text(NEW_TEXT)

_table = AuditEntry.__table__


def seal_unkeyed(db):
    """What the sealer did before migration 0005: plain SHA-256, no key id."""
    with db.unit_of_work() as s:
        head = s.get(AuditChainHead, HEAD_ID)
        last_seq, last_hash = (head.last_seq, head.last_hash) if head else (0, GENESIS_HASH)
        rows = (
            s.execute(select(*CHAIN_COLUMNS).where(_table.c.seq.is_(None)).order_by(_table.c.occurred_at, _table.c.id))
            .mappings()
            .all()
        )
        for row in rows:
            last_seq += 1
            digest = link_hash(last_hash, dict(row, seq=last_seq))
            s.execute(
                update(_table)
                .where(_table.c.id == row["id"])
                .values(seq=last_seq, prev_hash=last_hash, hash=digest, sealed_at=clock.now())
            )
            last_hash = digest
        s.merge(AuditChainHead(id=HEAD_ID, last_seq=last_seq, last_hash=last_hash, sealed_at=clock.now()))


def legacy_then_keyed(db, legacy=3, keyed=2):
    add_entries(db, legacy)
    seal_unkeyed(db)
    add_entries(db, keyed, start=clock.now())
    with db.unit_of_work() as s:
        seal_all(s)


def test_the_first_keyed_row_links_onto_the_legacy_rows(db):
    legacy_then_keyed(db)
    with db.unit_of_work() as s:
        rows = s.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
        assert [r.key_id for r in rows] == [None, None, None, KEYRING.current.id, KEYRING.current.id]
        assert rows[3].prev_hash == rows[2].hash
    report = do_verify(db)
    assert report.ok and report.legacy == 3, report.problems


def test_a_legacy_row_cannot_be_rewritten_once_a_keyed_row_follows_it(db):
    legacy_then_keyed(db)
    tamper.relink(db, 2, None, {"outcome": "denied"})  # plain SHA-256 is all the legacy rows need
    report = do_verify(db)
    # the legacy rows agree with themselves; the first keyed row's MAC does not
    assert [(p.kind, p.seq) for p in report.problems][0] == ("edited", 4)


def test_an_unkeyed_row_after_a_keyed_one_is_reported(db):
    add_entries(db, 4)
    with db.unit_of_work() as s:
        seal_all(s)
    tamper.relink(db, 3, None, key_id=None)
    report = do_verify(db)
    assert [(p.kind, p.seq) for p in report.problems] == [("unkeyed", 3), ("unkeyed", 4)]
    assert "sealed without a key after seq 1 was sealed with one" in report.problems[0].message


def test_the_whole_chain_resealed_without_a_key_looks_legacy_to_verify(db):
    """The hole a checkpoint closes (test_checkpoints.py): without one, only the legacy count tells."""
    add_entries(db, 3)
    with db.unit_of_work() as s:
        seal_all(s)
    tamper.relink(db, 1, None, key_id=None)
    report = do_verify(db)
    assert report.ok and report.legacy == 3


def test_after_a_rotation_rows_sealed_with_the_earlier_key_verify_while_it_is_configured(db):
    add_entries(db, 2)
    with db.unit_of_work() as s:
        seal_all(s, key=OLD)
    add_entries(db, 2, start=clock.now())
    with db.unit_of_work() as s:
        seal_all(s, key=NEW)
    assert [r.seq for r in sealed_rows(db)] == [1, 2, 3, 4]
    assert do_verify(db, keyring=Keyring.of(NEW, OLD)).ok
    report = do_verify(db, keyring=Keyring.of(NEW))
    assert [(p.kind, p.seq) for p in report.problems] == [("unknown-key", 1)]  # once per key, at its first row
    assert f"sealed with audit key {OLD.id}, which is not configured" in report.problems[0].message
    assert "CAREPLANE_AUDIT_KEYS_OLD" in report.problems[0].message


def test_keys_come_from_the_settings(tmp_path):
    settings = Settings(data_dir=tmp_path, audit_key=NEW_TEXT, audit_keys_old=f" {OLD_TEXT} ,", _env_file=None)
    keys = keyring(settings)
    assert keys.current == NEW and set(keys.keys) == {NEW.id, OLD.id}
    assert sealing_keyring(settings) == keys
    assert NEW_TEXT not in NEW.id and len(NEW.id) == 16 and NEW.id != OLD.id
    with pytest.raises(ValueError, match="CAREPLANE_AUDIT_KEYS_OLD: an audit key must be at least 32"):
        keyring(Settings(data_dir=tmp_path, audit_key=NEW_TEXT, audit_keys_old="short", _env_file=None))


def test_development_generates_a_key_in_the_data_folder_and_production_requires_one(tmp_path, monkeypatch):
    monkeypatch.delenv("CAREPLANE_AUDIT_KEY")
    development = Settings(data_dir=tmp_path, _env_file=None)
    assert keyring(development) is None  # verifying never makes a key
    key = sealing_key(development)
    assert (tmp_path / "audit_key").stat().st_mode & 0o777 == 0o600
    assert sealing_key(Settings(data_dir=tmp_path, _env_file=None)) == key == keyring(development).current
    production = Settings(data_dir=tmp_path, environment="production", _env_file=None)
    with pytest.raises(RuntimeError, match="CAREPLANE_AUDIT_KEY must be set in production"):
        sealing_key(production)
    assert keyring(production) is None  # an auditor without the key still verifies what it can
