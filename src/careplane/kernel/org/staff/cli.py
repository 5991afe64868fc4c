"""``careplane staff ...``: import staff and licences from CSV, ask the licensure query, send expiry warnings."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from careplane.kernel import cli_database
from careplane.kernel.access import Actor
from careplane.kernel.org.staff import csv_import

staff_app = typer.Typer(help="Staff and licences: CSV import, licensure, expiry warnings.", no_args_is_help=True)

CLI_ACTOR = Actor.for_system("cli", via="cli")

_IMPORT_HELP = (
    "Import staff and their state licences from a CSV file (UTF-8, first line names the columns). "
    "One row per licence; a person's further rows repeat only the e-mail and the licence columns. "
    "Every row is checked first; if any row is bad, every bad row is listed with its line and column, "
    "nothing is imported, and the exit code is 1. See docs/staff-import.md.\n\nColumns:\n\n"
    + "\n\n".join(f"[bold]{name}[/bold]: {text}" for name, text in csv_import.COLUMNS.items())
)


@staff_app.command("import", help=_IMPORT_HELP)
def import_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="The CSV file."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Check every row and list what would be created; import nothing."
    ),
    invite: bool = typer.Option(True, "--invite/--no-invite", help="E-mail new logins a link to choose a password."),
) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from careplane.kernel import schema
    from careplane.settings import get_settings

    console = Console(stderr=True, soft_wrap=True)
    try:
        text = csv_import.decode(file.read_bytes())
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    settings = get_settings()
    db = cli_database.database()
    schema.upgrade(db)
    try:
        with (
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            ) as progress,
            db.unit_of_work() as session,
        ):
            task = progress.add_task("reading", total=None)

            def report(phase: str, done: int, total: int) -> None:
                progress.update(task, description=phase, completed=done, total=total)

            result = csv_import.import_staff(
                session, CLI_ACTOR, text, dry_run=dry_run, settings=settings if invite else None, progress=report
            )
    finally:
        db.dispose()
    plan = result.plan
    for warning in plan.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    if not plan.ok:
        for error in plan.errors:
            console.print(f"[red]error:[/red] {error}")
        console.print(f"{len(plan.errors)} problem(s) in {file}: nothing was imported.")
        raise typer.Exit(1)
    if dry_run:
        typer.echo(f"Dry run: {plan.rows} rows are valid. Would create:")
        for person in plan.people:
            who = (
                f"{person.data.display_name} <{person.email}> ({', '.join(r.value for r in person.data.roles)})"
                if person.data
                else f"licences for {person.email} (already on staff)"
            )
            typer.echo(f"  line {person.line}: {who}")
            for line, lic in person.licences:
                typer.echo(f"    line {line}: {lic.state} {lic.kind} licence {lic.number}, expires {lic.expires_on}")
        typer.echo(f"{len(plan.new_people)} staff members and {plan.licence_count} licences; nothing was imported.")
        return
    typer.echo(f"Imported {len(plan.new_people)} staff members and {plan.licence_count} licences from {file}.")


@staff_app.command("licensed")
def licensed_command(
    state: str = typer.Argument(..., help="Two-letter state code, e.g. NY."),
    on: str | None = typer.Option(None, "--on", help="Day to ask about, YYYY-MM-DD (default: today)."),
) -> None:
    """List the active clinicians licensed to treat a patient located in STATE."""
    from careplane.kernel.org.staff.licensure import clinicians_licensed_in

    db = cli_database.database()
    try:
        with db.unit_of_work() as session:
            people = clinicians_licensed_in(session, state, date.fromisoformat(on) if on else None)
            for member in people:
                typer.echo(f"{member.user.display_name}\t{member.user.email}\tNPI {member.npi or '-'}")
            typer.echo(f"{len(people)} clinician(s) licensed in {state.upper()}.", err=True)
    finally:
        db.dispose()


@staff_app.command("expiry-warnings")
def expiry_warnings_command() -> None:
    """Send the licence and DEA expiry warnings due today now (the worker does this daily at 13:00 UTC)."""
    from careplane.kernel.org.staff.licence_expiry import send_expiry_warnings

    db = cli_database.database()
    try:
        with db.unit_of_work() as session:
            sent = send_expiry_warnings(session)
            typer.echo(f"{len(sent)} warning(s) sent.")
    finally:
        db.dispose()
