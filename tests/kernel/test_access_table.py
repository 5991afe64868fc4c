"""docs/access.md says what the permission registry decides: its tables are generated from it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from careplane.kernel import access_table
from tests import fake_unit
from tests.helpers import units_installed

DOC = Path(__file__).resolve().parents[2] / "docs" / "access.md"


def test_the_documented_tables_are_the_registrys():
    document = DOC.read_text()
    assert access_table.with_tables(document) == document, (
        "docs/access.md has drifted from the permission registry: run careplane access table --write docs/access.md"
    )


def test_a_units_permissions_and_work_appear_in_the_tables():
    with units_installed(fake_unit.UNIT):
        tables = access_table.markdown()
    row = next(line for line in tables.splitlines() if line.startswith(f"| `{fake_unit.ORDER}`"))
    assert "Order a lab test (staff: only in units doing that work)" in row
    assert row.split("|")[4].strip() == "yes"  # the Clinician column
    assert "| Fake Lab (`fake_lab`) | `fake_lab.order`, `patient.read` |" in tables


def test_the_command_prints_the_tables():
    result = subprocess.run(
        [sys.executable, "-m", "careplane.cli", "access", "table"], capture_output=True, text=True, check=True
    )
    assert result.stdout == access_table.markdown()
