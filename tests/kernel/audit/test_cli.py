"""careplane audit verify / seal / search against the test database."""

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
from tests.kernel.audit.helpers import add_patient, count_entries
from tests.helpers import triggers_off

DOC = Actor(user_id=uuid.uuid4(), label="doc@example.org", roles=frozenset({Role.CLINICIAN}), unit="virtual_care", unit_function="virtual_care")


@pytest.fixture
def cli(db, monkeypatch):
    monkeypatch.setenv("CAREPLANE_DATABASE_URL", db.url)
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
