"""The ``careplane`` command."""

from __future__ import annotations

import typer

from careplane.kernel.audit.cli import audit_app
from careplane.kernel.events_cli import events_app, worker_command
from careplane.kernel.patients.cli import seed as seed_command
from careplane.settings import get_settings

app = typer.Typer(
    help="careplane: run, seed and operate the platform. Configuration comes from CAREPLANE_* "
    "environment variables or a .env file (see README).",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(events_app, name="events")
app.command("worker")(worker_command)
app.command("seed")(seed_command)


def _database():
    from careplane.kernel.db import Database

    return Database(get_settings().resolved_database_url())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema up to date (run before starting new app servers in production)."""
    from careplane.kernel import schema

    db = _database()
    schema.upgrade(db)
    typer.echo(f"schema up to date on {db.engine.url.render_as_string(hide_password=True)}")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    worker: bool = typer.Option(None, help="Run the background worker in this process (default: on for embedded SQLite)."),
    workers: int = typer.Option(1, help="App server processes (PostgreSQL only)."),
) -> None:
    """Run the web app and JSON API."""
    import uvicorn

    from careplane.app import create_app
    from careplane.kernel.observability import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    run_worker = settings.embedded_worker if worker is None else worker
    if workers > 1:
        if settings.embedded:
            raise typer.BadParameter("several app server processes need PostgreSQL (CAREPLANE_DATABASE_URL)")
        uvicorn.run("careplane.app:create_app", factory=True, host=host, port=port, workers=workers, access_log=False)
        return
    uvicorn.run(create_app(settings, run_worker=run_worker), host=host, port=port, access_log=False)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
