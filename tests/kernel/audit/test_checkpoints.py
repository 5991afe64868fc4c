"""Signed checkpoints: an insider who rewrites the chain is caught at the right row, the key
holder too once a checkpoint exists, and a checkpoint file cannot be forged or edited."""

import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from careplane import wiring
from careplane.kernel import jobs
from careplane.kernel.audit.chain import seal_all
from careplane.kernel.audit.checkpoints import (
    CheckpointError,
    CheckpointRefused,
    checkpoint_job,
    generate_signing_key,
    load_signing_key,
    read_folder,
    signing_key,
    take,
)
from careplane.kernel.audit.keys import AuditKey
from careplane.kernel.audit.verify import verify
from careplane.settings import get_settings
from tests.helpers import triggers_off
from tests.kernel.audit import tamper
from tests.kernel.audit.helpers import KEYRING
from tests.kernel.audit.test_chain import T0, add_entries, sealed_rows

SIGNER = Ed25519PrivateKey.generate()
PUBLIC_KEYS = (SIGNER.public_key(),)
OTHER_KEY = AuditKey.from_text("an-insider-s-own-key-that-is-long-enough")


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "worm"


def add_sealed(db, count, start=T0):
    add_entries(db, count, start=start)
    with db.unit_of_work() as s:
        seal_all(s)


def checkpoint(db, folder):
    with db.session_factory() as s:
        return take(s, folder, KEYRING, SIGNER)


def stored_hash(db, seq):
    with db.session_factory() as s:
        return s.scalar(text("SELECT hash FROM audit_log WHERE seq = :seq"), {"seq": seq})


def verify_without_checkpoints(db, keyring=KEYRING):
    with db.session_factory() as s:
        return verify(s, keyring)


def check(db, folder, keyring=KEYRING, public_keys=PUBLIC_KEYS):
    loaded, file_problems = read_folder(folder, public_keys)
    assert file_problems == []
    with db.session_factory() as s:
        return verify(s, keyring, checkpoints=loaded)


def test_a_checkpoint_signs_the_head_and_the_next_starts_where_it_ended(db, folder):
    assert checkpoint(db, folder) is None  # nothing sealed yet: nothing to sign
    add_sealed(db, 4)
    first, path = checkpoint(db, folder)
    assert (first.seq, first.hash, first.key_id) == (4, stored_hash(db, 4), KEYRING.current.id)
    assert path.parent == folder and json.loads(path.read_text())["signature"]
    add_sealed(db, 3, start=T0 + timedelta(hours=1))
    second, _ = checkpoint(db, folder)
    assert second.seq == 7
    report = check(db, folder)
    assert report.ok and report.checkpoints_agreed == 2, report.problems


@pytest.mark.parametrize("attacker", ["sha256", "sha256-as-legacy", "own-key"])
def test_an_edited_row_with_every_later_hash_recomputed_is_named(db, folder, attacker):
    add_sealed(db, 8)
    checkpoint(db, folder)
    key, key_id = {
        "sha256": (None, tamper.KEEP),
        "sha256-as-legacy": (None, None),
        "own-key": (OTHER_KEY, OTHER_KEY.id),
    }[attacker]
    target = sealed_rows(db)[4]
    tamper.relink(db, 5, key, {"outcome": "denied"}, key_id=key_id)
    for report in (check(db, folder), verify_without_checkpoints(db)):
        assert not report.ok
        assert (report.first_bad.seq, report.first_bad.entry_id) == (5, target.id), report.problems


def test_a_deleted_middle_row_with_the_rest_renumbered_is_named(db, folder):
    add_sealed(db, 8)
    checkpoint(db, folder)
    tamper.delete_and_renumber(db, 3, None)
    report = check(db, folder)
    assert report.first_bad.seq == 3
    assert [p.kind for p in report.problems if p.seq == 3][0] == "edited"
    assert any("it ends at seq 7: seq 8 deleted" in p.message for p in report.problems)


def test_deleted_newest_rows_with_the_head_fixed_are_caught_only_by_a_checkpoint(db, folder):
    add_sealed(db, 6)
    checkpoint(db, folder)
    tamper.truncate(db, 5)
    assert verify_without_checkpoints(db).ok  # the chain itself cannot tell: the rows after it are gone
    report = check(db, folder)
    assert [(p.kind, p.seq) for p in report.problems] == [("checkpoint", 5)]
    assert "says the chain reached seq 6, but it ends at seq 4: seq 5-6 deleted" in report.problems[0].message


def test_the_audit_key_holder_rewriting_history_is_caught_by_the_checkpoint(db, folder):
    add_sealed(db, 3)
    checkpoint(db, folder)
    add_sealed(db, 4, start=T0 + timedelta(hours=1))
    checkpoint(db, folder)
    tamper.relink(db, 5, KEYRING.current, {"reason": "nothing to see"})
    assert verify_without_checkpoints(db).ok  # every MAC is right: the key alone cannot tell
    report = check(db, folder)
    assert report.checkpoints_agreed == 1 and report.checkpoints_disagreed == 1
    assert [(p.kind, p.seq) for p in report.problems] == [("checkpoint", 4)]
    assert (
        "the change is in seq 4-7" in report.problems[0].message and "held the audit key" in report.problems[0].message
    )


def test_a_chain_resealed_without_a_key_to_look_legacy_is_caught_by_the_checkpoint(db, folder):
    add_sealed(db, 4)
    checkpoint(db, folder)
    tamper.relink(db, 1, None, key_id=None)
    assert verify_without_checkpoints(db).ok  # every row looks sealed before the chain was keyed
    report = check(db, folder)
    assert [(p.kind, p.seq) for p in report.problems] == [("checkpoint", 1)]
    assert "the hash of that row differs" in report.problems[0].message
    assert "legacy rows there" in report.problems[0].message


def test_the_public_key_alone_checks_the_rows_contents_up_to_each_checkpoint(db, folder):
    add_sealed(db, 5)
    checkpoint(db, folder)
    report = check(db, folder, keyring=None)
    assert report.ok and report.unchecked == 5 and report.checkpoints_agreed == 1
    with triggers_off(db) as conn:  # an edit that leaves every hash alone
        conn.execute(text("UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 2"))
    assert verify_without_checkpoints(db, keyring=None).ok  # links alone cannot see it
    report = check(db, folder, keyring=None)
    assert [(p.kind, p.seq) for p in report.problems] == [("checkpoint", 1)]
    assert "contents of the rows up to it" in report.problems[0].message
    assert "the audit key would name the row" in report.problems[0].message
    assert check(db, folder).first_bad.seq == 2  # with the key, the row itself


def test_rows_sealed_after_the_newest_checkpoint_are_checked_before_the_next_is_signed(db, folder):
    add_sealed(db, 3)
    checkpoint(db, folder)
    add_sealed(db, 3, start=T0 + timedelta(hours=1))
    tamper.relink(db, 5, None, {"outcome": "denied"})
    with pytest.raises(CheckpointRefused) as refused:
        checkpoint(db, folder)
    assert refused.value.problems[0].seq == 5
    tamper.truncate(db, 3)
    with pytest.raises(CheckpointRefused) as refused:
        checkpoint(db, folder)
    assert (
        "says the chain reached seq 3, but the chain head is at seq 2: seq 3 deleted"
        in refused.value.problems[0].message
    )
    assert len(list(folder.iterdir())) == 1


def test_an_edited_or_forged_checkpoint_file_does_not_count(db, folder):
    add_sealed(db, 4)
    _, path = checkpoint(db, folder)
    body = json.loads(path.read_text())
    body["seq"] = 2
    path.write_text(json.dumps(body))
    forger = Ed25519PrivateKey.generate()
    tamper.truncate(db, 3)
    with db.session_factory() as s:  # the forger signs the truncated head with a key of their own
        take(s, folder, KEYRING, forger)
    loaded, problems = read_folder(folder, [SIGNER.public_key()])
    assert loaded == []
    messages = [p.message for p in problems]
    assert len(messages) == 2
    assert any(m.endswith("signature does not verify: the file was edited or forged") for m in messages)
    assert any("which is not among the public keys given" in m for m in messages)
    with pytest.raises(CheckpointError, match="is not a folder"):
        read_folder(folder / "nowhere", [SIGNER.public_key()])


def test_an_empty_checkpoint_folder_is_a_problem(db, folder):
    folder.mkdir()
    loaded, problems = read_folder(folder, [SIGNER.public_key()])
    assert loaded == [] and [p.kind for p in problems] == ["checkpoint-file"]


def test_signing_keys_are_made_once_and_never_overwritten(tmp_path):
    path = tmp_path / "keys" / "signing.pem"
    key = generate_signing_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_signing_key(path).public_key() == key.public_key()
    with pytest.raises(CheckpointError, match="never overwritten"):
        generate_signing_key(path)
    with pytest.raises(CheckpointError, match="careplane audit keygen"):
        load_signing_key(tmp_path / "missing.pem")


def test_the_worker_writes_a_checkpoint_every_15_minutes_when_a_folder_is_configured(db, folder, tmp_path, monkeypatch):
    wiring.load_all()
    assert jobs.registered()["audit.checkpoint"].every == timedelta(minutes=15)
    monkeypatch.setenv("CAREPLANE_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    add_sealed(db, 3)
    with db.unit_of_work() as s:
        checkpoint_job(s)  # no folder configured: nothing to do
    monkeypatch.setenv("CAREPLANE_AUDIT_CHECKPOINT_DIR", str(folder))
    get_settings.cache_clear()
    try:
        with db.unit_of_work() as s:
            checkpoint_job(s)
        report = check(db, folder, public_keys=[signing_key().public_key()])  # the key made in the data folder
        assert report.ok and report.checkpoints_agreed == 1
        tamper.truncate(db, 2)
        with pytest.raises(CheckpointRefused), db.unit_of_work() as s:
            checkpoint_job(s)
    finally:
        get_settings.cache_clear()
