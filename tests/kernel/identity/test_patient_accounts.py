"""A patient's own account is part of their record. Administrators list and manage staff accounts;
a patient's is reached only as the record is, through kernel.access, and audited: refused to an
administrator on the web, allowed to an operator's CLI and recorded."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from typer.testing import CliRunner

from careplane import cli
from careplane.kernel import cli_database
from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.identity import cli as users_cli
from careplane.kernel.identity.roles import Role

from .conftest import full_login, load_user, make_user, post

runner = CliRunner()


def _audit(db, **where) -> list[AuditEntry]:  # noqa: ANN001, ANN003
    with db.unit_of_work() as s:
        return list(s.scalars(select(AuditEntry).filter_by(**where)))


def test_an_administrator_cannot_reach_a_patients_account_by_its_id(db, client):
    pat = make_user(db, "pat@example.org")
    make_user(db, "admin@example.org", Role.ADMINISTRATOR, mfa=True)
    full_login(client, db, "admin@example.org")
    assert "pat@example.org" not in client.get("/admin/users").text
    for action in ("deactivate", "reset-mfa"):
        refused = post(client, f"/admin/users/{pat.id}/{action}")
        assert refused.status_code == 403 and "pat@example.org" not in refused.text
    assert load_user(db, "pat@example.org").is_active
    denied = _audit(db, outcome="denied", resource_type="patient.account")
    assert len(denied) == 2 and {d.resource_id for d in denied} == {str(pat.id)}
    # a staff account is managed as before, and an unknown id is not found
    bill = make_user(db, "bill@example.org", Role.BILLER)
    assert post(client, f"/admin/users/{bill.id}/deactivate").status_code == 303
    assert post(client, f"/admin/users/{uuid.uuid4()}/deactivate").status_code == 404


def test_the_cli_lists_staff_only_and_records_reaching_a_patients_account(db, monkeypatch, settings):
    monkeypatch.setattr(cli_database, "database", lambda **_: db)
    monkeypatch.setattr(users_cli, "get_settings", lambda: settings)
    pat = make_user(db, "pat@example.org")
    make_user(db, "doc@example.org", Role.CLINICIAN)
    listed = runner.invoke(cli.app, ["users", "list"]).output
    assert "doc@example.org" in listed and "pat@example.org" not in listed
    assert _audit(db, resource_type="patient.account") == []
    done = runner.invoke(cli.app, ["users", "deactivate", "pat@example.org"])
    assert done.exit_code == 0, done.output
    assert load_user(db, "pat@example.org").is_active is False
    (row,) = _audit(db, resource_type="patient.account")
    assert (row.outcome, row.resource_id, row.actor_label) == ("allowed", str(pat.id), "system:cli")
    # a staff account leaves no patient-access row
    assert runner.invoke(cli.app, ["users", "deactivate", "doc@example.org"]).exit_code == 0
    assert len(_audit(db, resource_type="patient.account")) == 1
