"""The ``careplane`` command."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from careplane.kernel import cli_database, units
from careplane.kernel.audit.cli import audit_app
from careplane.kernel.events_cli import events_app, worker_command
from careplane.kernel.identity.cli import users_app
from careplane.kernel.org.staff.cli import staff_app
from careplane.kernel.patients.cli import seed as seed_command
from careplane.settings import get_settings

if TYPE_CHECKING:
    from careplane.kernel.db import Database
    from careplane.kernel.identity.roles import Role
    from careplane.settings import Settings

app = typer.Typer(
    help="careplane: run, seed and operate the platform. Configuration comes from CAREPLANE_* "
    "environment variables or a .env file (see README).",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(staff_app, name="staff")
app.add_typer(audit_app, name="audit")
app.add_typer(events_app, name="events")
app.command("worker")(worker_command)
app.command("seed")(seed_command)
for _unit in units.installed():
    if _unit.cli:
        app.add_typer(units.load(_unit.cli), name=_unit.code.replace("_", "-"))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema up to date (run before starting new app servers in production)."""
    from careplane.kernel import schema

    db = cli_database.database(create=True)
    schema.upgrade(db)
    typer.echo(f"schema up to date on {db.engine.url.render_as_string(hide_password=True)}")


@db_app.command("revision")
def db_revision(message: str = typer.Option(..., "-m", "--message", help="What the migration changes.")) -> None:
    """Write a new migration from the difference between the models and the database (for developers).

    Bring the database to the newest migration first (`careplane db upgrade`); the new file lands in
    src/careplane/migrations/versions/ - read it before committing.
    """
    from careplane.kernel import schema

    schema.make_revision(cli_database.database(), message)


access_app = typer.Typer(help="Who may do what: the permission registry.", no_args_is_help=True)
app.add_typer(access_app, name="access")


@access_app.command("table")
def access_table(
    write: Path | None = typer.Option(
        None,
        help="Rewrite the tables between the markers in this Markdown file "
        "(e.g. docs/access.md) instead of printing them.",
    ),
) -> None:
    """Print the access tables (permissions by role, and by business function) from the registry."""
    from careplane.kernel import access_table as tables

    if write is None:
        typer.echo(tables.markdown(), nl=False)
        return
    typer.echo(f"{write}: {'updated' if tables.write(write) else 'already up to date'}")


org_app = typer.Typer(help="Organisation structure: units, teams and work queues.", no_args_is_help=True)
app.add_typer(org_app, name="org")


@org_app.command("seed")
def org_seed() -> None:
    """Create a business unit for each installed unit, with its first team and queues, if missing (safe to re-run)."""
    from careplane.kernel.org.structure.service import ensure_units

    with cli_database.database().unit_of_work() as session:
        seeded = ensure_units(session)
        lines = [f"  {u.code:<14} {u.name} ({u.status})" for u in seeded]
    typer.echo("The business units:\n" + "\n".join(lines))


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    worker: bool | None = typer.Option(
        None, help="Run the background worker in this process (default: on for embedded SQLite)."
    ),
    workers: int = typer.Option(1, help="App server processes (PostgreSQL only)."),
) -> None:
    """Run the web app and JSON API."""
    import uvicorn

    from careplane.kernel.observability import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    run_worker = settings.embedded_worker if worker is None else worker
    if workers > 1:
        if settings.embedded:
            raise typer.BadParameter("several app server processes need PostgreSQL (CAREPLANE_DATABASE_URL)")
        uvicorn.run(
            "careplane.app:create_served_app", factory=True, host=host, port=port, workers=workers, access_log=False
        )
        return
    _serve_one_process(settings, host, port, run_worker=run_worker)


def _serve_one_process(
    settings: Settings, host: str, port: int, *, run_worker: bool, db: Database | None = None
) -> None:
    import uvicorn

    from careplane.app import create_served_app

    uvicorn.run(create_served_app(settings, db, run_worker=run_worker), host=host, port=port, access_log=False)


@app.command()
def demo(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    patients: int = typer.Option(200, help="Synthetic patients to create on the first run."),
) -> None:
    """Try careplane here: embedded SQLite in ./var, demo data, web + API + worker in one process."""
    from sqlalchemy import func, select

    from careplane import demo as demo_data
    from careplane.kernel import schema
    from careplane.kernel.db import Database
    from careplane.kernel.identity.models import User
    from careplane.kernel.identity.roles import Role
    from careplane.kernel.identity.users import find_by_email
    from careplane.kernel.observability import configure_logging

    url_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    settings = get_settings().model_copy(
        update={
            "database_url": "",
            "environment": "development",
            "base_url": f"http://{url_host}:{port}",
            "demo_mailbox": True,
        }
    )
    configure_logging(settings.log_level, json_logs=False)
    db = Database.configured(settings)
    schema.upgrade(db)
    with db.unit_of_work() as session:
        has_users = bool(session.scalar(select(func.count()).select_from(User)))
    if not has_users:
        typer.echo(f"First run: creating demo logins and {patients} synthetic patients ...")
        logins = [
            (login.role, login.email, login.mfa) for login in demo_data.seed_demo(db, settings, patients=patients)
        ]
    else:
        with db.unit_of_work() as session:
            logins = [
                (role, user.email, user.is_staff)
                for role in Role
                if (user := find_by_email(session, demo_data.demo_email(role))) is not None
            ]
    _print_demo_welcome(settings, logins, demo_data.DEMO_PASSWORD)
    _serve_one_process(settings, host, port, run_worker=True, db=db)


def _print_demo_welcome(settings: Settings, logins: list[tuple[Role, str, bool]], password: str) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"Demo logins (password for all: {password})", title_justify="left")
    table.add_column("role", no_wrap=True)
    table.add_column("e-mail", no_wrap=True)
    table.add_column("MFA", no_wrap=True)
    for role, email, mfa in logins:
        table.add_row(role.label, email, "6-digit code" if mfa else "none")
    console.print()
    console.print(f"careplane demo: [bold]{settings.base_url}[/bold]   (data in {settings.data_dir.resolve()})")
    console.print(table)
    console.print(
        "Staff log in with the password and then a 6-digit code. Print a demo account's current code in "
        "another terminal: [bold].venv/bin/careplane users totp EMAIL[/bold]"
    )
    console.print(f"E-mails careplane sends (verification, password reset) arrive in {settings.base_url}/mailbox")
    console.print(
        f"JSON API: {settings.base_url}/api/docs   Stop with Ctrl+C; delete {settings.data_dir}/ to start over."
    )
    console.print()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
