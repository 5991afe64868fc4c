"""careplane audit verify / seal / checkpoint / keygen / public-key / search against the test database."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, text
from typer.testing import CliRunner

from careplane.cli import app
from careplane.kernel.access import Actor
from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.audit.record import entry_for
from careplane.kernel.identity.roles import Role
from careplane.settings import get_settings
from tests.helpers import triggers_off
from tests.kernel.audit import tamper
from tests.kernel.audit.helpers import add_patient, count_entries

DOC = Actor(
    user_id=uuid.uuid4(),
    label="doc@example.org",
    roles=frozenset({Role.CLINICIAN}),
    unit="virtual_care",
    unit_function="virtual_care",
)


@pytest.fixture
def cli(db, monkeypatch, tmp_path):
    monkeypatch.setenv("CAREPLANE_DATABASE_URL", db.url)
    monkeypatch.setenv("CAREPLANE_DATA_DIR", str(tmp_path / "data"))  # the development signing key is made here
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, ["audit", *args])
    get_settings.cache_clear()


def add_rows(db, count):
    with db.unit_of_work() as s:
        patient = add_patient(s, "MRN-CLI", "Cli", "Person")
        for i in range(count):
            entry = entry_for(DOC, "patient.read", outcome="denied" if i == 0 else "allowed", patient_id=patient.id)
            entry.occurred_at = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=i)
            s.add(entry)


def test_seal_then_verify_ok(db, cli):
    add_rows(db, 4)
    result = cli("verify")
    assert result.exit_code == 0 and "OK: 0 sealed rows" in result.stdout and "4 waiting" in result.stdout
    assert count_entries(db, seq=None) == 4  # verify seals nothing
    result = cli("seal")
    assert result.exit_code == 0 and "sealed 4 row(s)" in result.stdout
    result = cli("verify")
    assert result.exit_code == 0 and "OK: 4 sealed rows verified up to seq 4" in result.stdout


def test_verify_exits_1_and_names_tampered_rows(db, cli):
    add_rows(db, 5)
    assert cli("seal").exit_code == 0
    with triggers_off(db) as conn:
        conn.execute(text("UPDATE audit_log SET reason = 'edited' WHERE seq = 2"))
        conn.execute(delete(AuditEntry).where(AuditEntry.seq == 4))
    result = cli("verify")
    assert result.exit_code == 1
    assert "seq 2 (id " in result.stderr and "row edited" in result.stderr
    assert "seq 4: row is missing (deleted)" in result.stderr
    assert "FAILED: 2 problem(s)" in result.stdout


def test_verify_detects_deleted_tail(db, cli):
    add_rows(db, 3)
    cli("seal")
    with triggers_off(db) as conn:
        conn.execute(delete(AuditEntry).where(AuditEntry.seq == 3))
    result = cli("verify")
    assert result.exit_code == 1 and "head mismatch" in result.stderr


def test_search_prints_a_table_and_is_audited(db, cli):
    add_rows(db, 3)
    result = cli("search", "--patient", "MRN-CLI", "--outcome", "denied")
    assert result.exit_code == 0, result.output
    assert "MRN-CLI" in result.stdout and "denied" in result.stdout and "doc@example.org" in result.stdout
    assert count_entries(db, action="audit.read", via="cli") == 1
    bad = cli("search", "--since", "2026-03-05", "--until", "2026-03-01")
    assert bad.exit_code == 2 and "--until:" in bad.stderr


def test_checkpoint_then_verify_against_it(db, cli, tmp_path):
    add_rows(db, 3)
    assert "nothing to checkpoint" in cli("checkpoint", "--to", str(tmp_path / "worm"), "--no-seal").stdout
    result = cli("checkpoint", "--to", str(tmp_path / "worm"))  # seals the waiting rows first
    assert result.exit_code == 0, result.output
    assert "checkpoint written: " in result.stdout and "(seq 3, signed by key " in result.stdout
    result = cli("verify", "--checkpoints", str(tmp_path / "worm"))
    assert result.exit_code == 0, result.output
    assert "checkpoints: 1 agree with the chain" in result.stdout and "OK: 3 sealed rows" in result.stdout


def test_an_auditor_verifies_with_the_public_key_alone(db, cli, tmp_path, monkeypatch):
    add_rows(db, 4)
    cli("checkpoint", "--to", str(tmp_path / "worm"))
    public = cli("public-key", "--out", str(tmp_path / "auditor.pem"))
    assert public.exit_code == 0 and public.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    # the auditor's machine: no audit key, no signing key, the checkpoint folder and the public key
    monkeypatch.delenv("CAREPLANE_AUDIT_KEY")
    monkeypatch.setenv("CAREPLANE_DATA_DIR", str(tmp_path / "auditor"))
    get_settings.cache_clear()
    args = ("verify", "--checkpoints", str(tmp_path / "worm"), "--public-key", str(tmp_path / "auditor.pem"))
    result = cli(*args)
    assert result.exit_code == 0, result.output
    assert "no audit key configured: rows' MACs were not checked, only their links and the checkpoints" in result.stdout
    with triggers_off(db) as conn:
        conn.execute(text("UPDATE audit_log SET reason = 'edited' WHERE seq = 2"))
    result = cli(*args)
    assert result.exit_code == 1
    assert "contents of the rows up to it differ from what was signed" in result.stderr
    assert "first row that disagrees: seq 1" in result.stdout  # the checkpoint before it: none
    missing = cli("verify", "--checkpoints", str(tmp_path / "worm"))
    assert missing.exit_code == 2 and "give --public-key FILE" in missing.stderr


def test_verify_names_the_first_row_that_disagrees_with_a_checkpoint(db, cli, tmp_path):
    add_rows(db, 5)
    cli("checkpoint", "--to", str(tmp_path / "worm"))
    tamper.truncate(db, 4)
    assert cli("verify").exit_code == 0  # without the checkpoint, a cut tail with its head fixed is not seen
    result = cli("verify", "--checkpoints", str(tmp_path / "worm"))
    assert result.exit_code == 1
    assert "says the chain reached seq 5, but it ends at seq 3: seq 4-5 deleted" in result.stderr
    assert "first row that disagrees: seq 4" in result.stdout and "FAILED: 1 problem(s)" in result.stdout


def test_checkpoint_refuses_to_sign_a_chain_that_does_not_verify(db, cli, tmp_path):
    add_rows(db, 3)
    cli("seal")
    tamper.relink(db, 2, None, {"outcome": "allowed"})
    result = cli("checkpoint", "--to", str(tmp_path / "worm"))
    assert result.exit_code == 1
    assert "seq 2 (id " in result.stderr and "REFUSED: the audit chain does not verify" in result.stdout
    assert not list((tmp_path / "worm").glob("*"))


def test_an_edited_checkpoint_file_fails_verify(db, cli, tmp_path):
    add_rows(db, 2)
    cli("checkpoint", "--to", str(tmp_path / "worm"))
    path = next((tmp_path / "worm").glob("*.json"))
    path.write_text(path.read_text().replace('"seq": 2', '"seq": 1'))
    result = cli("verify", "--checkpoints", str(tmp_path / "worm"))
    assert result.exit_code == 1
    assert f"checkpoint {path.name}: signature does not verify: the file was edited or forged" in result.stderr
    assert cli("verify", "--checkpoints", str(tmp_path / "nowhere")).exit_code == 2


def test_keygen_writes_a_private_key_once_and_prints_the_public_key(cli, tmp_path, monkeypatch):
    out = tmp_path / "keys" / "signing.pem"
    result = cli("keygen", "--out", str(out))
    assert result.exit_code == 0 and result.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    assert out.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert cli("keygen", "--out", str(out)).exit_code == 2
    monkeypatch.setenv("CAREPLANE_AUDIT_SIGNING_KEY_FILE", str(out))
    get_settings.cache_clear()
    assert cli("public-key").stdout == result.stdout
