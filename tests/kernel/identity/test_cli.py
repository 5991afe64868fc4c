import pyotp
import pytest
from typer.testing import CliRunner

from careplane import cli
from careplane.kernel import cli_database
from careplane.kernel.identity import cli as users_cli
from careplane.kernel.identity.roles import Role
from careplane.settings import Settings

from .conftest import PASSWORD, load_user, make_user

runner = CliRunner()


@pytest.fixture
def cli_db(db, monkeypatch, settings):
    monkeypatch.setattr(cli_database, "database", lambda **_: db)
    monkeypatch.setattr(users_cli, "get_settings", lambda: settings)
    return db


def test_create_list_deactivate(cli_db):
    result = runner.invoke(
        cli.app,
        [
            "users",
            "create",
            "Ops@Example.org",
            "--name",
            "Olu Ops",
            "--role",
            "operations_lead",
            "--role",
            "clinician",
            "--unit",
            "virtual_care",
            "--password",
            PASSWORD,
        ],
    )
    assert result.exit_code == 0, result.output
    user = load_user(cli_db, "ops@example.org")
    assert user.roles == {Role.OPERATIONS_LEAD, Role.CLINICIAN} and user.unit == "virtual_care"
    listed = runner.invoke(cli.app, ["users", "list", "--role", "clinician"])
    assert "ops@example.org" in listed.output and "active" in listed.output
    make_user(cli_db, "pat@example.org")
    everyone = runner.invoke(cli.app, ["users", "list"]).output
    assert "ops@example.org" in everyone and "pat@example.org" not in everyone  # patients' accounts are not listed
    assert runner.invoke(cli.app, ["users", "deactivate", "ops@example.org"]).exit_code == 0
    assert load_user(cli_db, "ops@example.org").is_active is False


def test_create_prompts_for_the_password_and_checks_the_rules(cli_db):
    weak = runner.invoke(
        cli.app, ["users", "create", "a@example.org", "--name", "A", "--role", "biller"], input="short\nshort\n"
    )
    assert weak.exit_code == 1 and "at least 12 characters" in weak.output
    assert load_user(cli_db, "a@example.org") is None
    ok = runner.invoke(
        cli.app,
        ["users", "create", "a@example.org", "--name", "A", "--role", "biller"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert ok.exit_code == 0, ok.output
    assert (
        runner.invoke(
            cli.app, ["users", "create", "a@example.org", "--name", "A", "--role", "biller", "--password", PASSWORD]
        ).exit_code
        == 1
    )


def test_unknown_user_and_bad_role(cli_db):
    assert runner.invoke(cli.app, ["users", "deactivate", "nobody@example.org"]).exit_code == 1
    assert (
        runner.invoke(
            cli.app, ["users", "create", "x@example.org", "--name", "X", "--role", "wizard", "--password", PASSWORD]
        ).exit_code
        != 0
    )


def test_totp_prints_the_current_code_in_development_only(cli_db, settings, monkeypatch):
    make_user(cli_db, "doc@example.org", Role.CLINICIAN, mfa=True)
    secret = load_user(cli_db, "doc@example.org").mfa_secret
    result = runner.invoke(cli.app, ["users", "totp", "doc@example.org"])
    assert result.exit_code == 0 and result.output.strip() == pyotp.TOTP(secret).now()
    assert runner.invoke(cli.app, ["users", "reset-mfa", "doc@example.org"]).exit_code == 0
    assert runner.invoke(cli.app, ["users", "totp", "doc@example.org"]).exit_code == 1
    production = Settings(environment="production", secret_key="x", _env_file=None)  # type: ignore[call-arg]
    monkeypatch.setattr(users_cli, "get_settings", lambda: production)
    refused = runner.invoke(cli.app, ["users", "totp", "doc@example.org"])
    assert refused.exit_code == 2 and "not available in production" in refused.output


def test_a_command_run_where_there_is_no_database_says_where_it_looked_and_creates_nothing(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREPLANE_")}
    result = subprocess.run(
        [sys.executable, "-m", "careplane.cli", "users", "totp", "x@y.org"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert str(tmp_path / "var" / "careplane.db") in result.stderr and "careplane db upgrade" in result.stderr
    assert list(tmp_path.iterdir()) == []
