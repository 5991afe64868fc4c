"""CSV import of staff and licences: all rows checked first, all or nothing, bad rows named by line."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from careplane import cli
from careplane.kernel import cli_database, clock
from careplane.kernel.errors import AccessDenied
from careplane.kernel.identity.models import User
from careplane.kernel.identity.roles import Role
from careplane.kernel.mail import OutboxMail
from careplane.kernel.org.models import Licence, StaffMember, TeamMembership
from careplane.kernel.org.staff import csv_import
from careplane.settings import get_settings
from tests.kernel.org.test_staff import CLINICIAN, NPI_A, OPS, hire, units_and_teams

DATA = Path(__file__).parent / "data"
VALID = (DATA / "staff_valid.csv").read_text()
ONE_BAD = (DATA / "staff_one_bad_row.csv").read_text()
runner = CliRunner()


def _counts(db) -> tuple[int, int, int, int]:  # noqa: ANN001
    with db.unit_of_work() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(t)) for t in (User, StaffMember, Licence, TeamMembership)
        )


def _import(db, text, **kwargs):  # noqa: ANN001, ANN003, ANN202
    with db.unit_of_work() as s:
        return csv_import.import_staff(s, OPS, text, **kwargs)


def test_a_valid_file_imports_everyone_and_every_licence(db):
    units_and_teams(db)
    seen: list[tuple[str, int, int]] = []
    result = _import(db, VALID, progress=lambda *a: seen.append(a))
    assert result.imported and result.plan.ok
    assert _counts(db) == (4, 4, 5, 2)
    assert seen[-1] == ("importing", 4, 4) and ("checking", 6, 6) in seen
    with db.unit_of_work() as s:
        amara = s.scalar(select(StaffMember).join(User).where(User.email == "amara.okafor@example.org"))
        assert sorted(lic.state for lic in amara.licences) == ["CA", "NJ", "NY"]
        assert amara.dea_number == "BO5940780" and amara.user.roles == {Role.CLINICIAN}
        assert amara.memberships[0].team.name == "Async West"
        linh = s.scalar(select(StaffMember).join(User).where(User.email == "linh.nguyen@example.org"))
        assert linh.credentials == ["NP", "RN"] and linh.user.unit == "virtual_care"


def test_a_file_with_one_bad_row_imports_nothing_and_names_the_row(db):
    units_and_teams(db)
    result = _import(db, ONE_BAD)
    assert not result.imported
    assert [(e.line, e.column) for e in result.plan.errors] == [(5, "npi")]
    assert str(result.plan.errors[0]).startswith("line 5: npi: This NPI's check digit is wrong")
    assert _counts(db) == (0, 0, 0, 0)


def test_dry_run_imports_nothing(db):
    units_and_teams(db)
    result = _import(db, VALID, dry_run=True)
    assert result.plan.ok and not result.imported
    assert len(result.plan.new_people) == 4 and result.plan.licence_count == 5
    assert _counts(db) == (0, 0, 0, 0)


def test_every_bad_row_is_listed_with_line_and_column(db):
    units_and_teams(db)
    existing = hire(db, npi=NPI_A, email="already@example.org")
    text = (
        "email,name,roles,unit,npi,licence_state,licence_number,licence_kind,licence_expires_on,licence_issued_on\n"
        "a@example.org,Ann A,clinician,virtual_care,1104332188,NY,N1,MD,2027-01-01,\n"  # 2 ok
        "b@example.org,Bob B,clinician,atlantis,1104332188,ZZ,N2,MD,2027-01-01,\n"  # 3 unit, npi dup, state
        "a@example.org,Ann Other,,,,NY,N1,MD,2027-01-01,\n"  # 4 name differs, licence repeated
        "c@example.org,,wizard,,,NY,N3,XX,2027-02-30,2028-01-01\n"  # 5 name, roles, kind, expiry
        ",Nobody,biller,,,,,,,\n"  # 6 email
        "already@example.org,,,,,CA,C9,MD,2027-01-01,\n"  # 7 ok: licence for existing staff
        "already@example.org,,clinician,,,CA,C10,MD,2027-01-01,\n"  # 8 roles for someone on staff
        "\n"  # blank lines are skipped
        "d@example.org,Dee D,biller,,,,,,,,extra\n"  # 10 too many values
    )
    result = _import(db, text)
    found = {(e.line, e.column) for e in result.plan.errors}
    assert found == {
        (3, "unit"),
        (3, "npi"),
        (3, "licence_state"),
        (4, "name"),
        (4, "licence_number"),
        (5, "name"),
        (5, "roles"),
        (5, "licence_kind"),
        (5, "licence_expires_on"),
        (6, "email"),
        (8, "roles"),
        (10, ""),
    }
    assert "also given on line 2" in next(e.message for e in result.plan.errors if (e.line, e.column) == (3, "npi"))
    assert _counts(db) == (1, 1, 0, 0)
    # Fixed, the licence for the person already on staff is added to them.
    good = text.splitlines()[0] + "\n" + text.splitlines()[6] + "\n"
    assert _import(db, good).imported
    with db.unit_of_work() as s:
        assert [lic.number for lic in s.get(StaffMember, existing.id).licences] == ["C9"]


def test_header_problems(db):
    assert [(e.line, e.column) for e in _import(db, "").plan.errors] == [(1, "")]
    assert {(e.line, e.column) for e in _import(db, "name,colour\nA,red\n").plan.errors} == {
        (1, "colour"),
        (1, "email"),
    }


def test_only_org_managers_import(db):
    with db.unit_of_work() as s, pytest.raises(AccessDenied):
        csv_import.import_staff(s, CLINICIAN, VALID)


@pytest.fixture
def cli_db(db, monkeypatch, tmp_path):  # noqa: ANN001, ANN201
    monkeypatch.setattr(cli_database, "database", lambda **_: db)
    # Settings through the environment, as the other CLI tests do: replacing get_settings itself
    # would stay bound in every module that imports it during this test.
    monkeypatch.setenv("CAREPLANE_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    units_and_teams(db)
    yield db
    get_settings.cache_clear()


def test_cli_bad_file_exits_non_zero_naming_the_line(cli_db):
    result = runner.invoke(cli.app, ["staff", "import", str(DATA / "staff_one_bad_row.csv")])
    assert result.exit_code == 1
    assert "line 5: npi: This NPI's check digit is wrong" in result.output
    assert "nothing was imported" in result.output
    assert _counts(cli_db) == (0, 0, 0, 0)


def test_cli_dry_run_lists_and_imports_nothing_then_the_import(cli_db):
    dry = runner.invoke(cli.app, ["staff", "import", "--dry-run", str(DATA / "staff_valid.csv")])
    assert dry.exit_code == 0, dry.output
    assert "line 2: Amara Okafor, MD <amara.okafor@example.org> (clinician)" in dry.output
    assert "line 3: NJ MD licence 25MA11223, expires 2026-12-31" in dry.output
    assert "4 staff members and 5 licences; nothing was imported" in dry.output
    assert _counts(cli_db) == (0, 0, 0, 0)
    done = runner.invoke(cli.app, ["staff", "import", str(DATA / "staff_valid.csv")])
    assert done.exit_code == 0, done.output
    assert "Imported 4 staff members and 5 licences" in done.output
    assert _counts(cli_db) == (4, 4, 5, 2)
    with cli_db.unit_of_work() as s:  # new logins are invited to choose a password
        assert s.scalar(select(func.count()).select_from(OutboxMail)) == 4
    again = runner.invoke(cli.app, ["staff", "import", str(DATA / "staff_valid.csv")])
    assert again.exit_code == 1 and "line 2: roles: This person is already on staff" in again.output


def test_cli_licensed_lists_clinicians(cli_db):
    runner.invoke(cli.app, ["staff", "import", "--no-invite", str(DATA / "staff_valid.csv")])
    clock.travel(None)
    result = runner.invoke(cli.app, ["staff", "licensed", "ny", "--on", "2026-06-01"])
    assert result.exit_code == 0 and "amara.okafor@example.org" in result.output
    assert "linh" not in result.output and "sam.patel" not in result.output
