"""``careplane audit``: verify the hash chain, seal waiting rows, search the log."""

from __future__ import annotations

import getpass

import typer

audit_app = typer.Typer(help="The append-only, hash-chained audit log.", no_args_is_help=True)


def _database():
    from careplane.kernel.db import Database
    from careplane.settings import get_settings

    return Database(get_settings().resolved_database_url())


@audit_app.command("verify")
def verify_command(
    batch: int = typer.Option(5000, min=100, help="Rows read per batch."),
) -> None:
    """Check every sealed row against the chain; exit 1 if any row was edited or deleted. Changes nothing."""
    from careplane.kernel.audit.keys import keyring
    from careplane.kernel.audit.verify import verify

    db = _database()
    try:
        with db.session_factory() as session:  # closed without commit: nothing is written
            report = verify(session, keyring(), batch=batch)
    finally:
        db.dispose()
    for problem in report.problems:
        typer.secho(f"TAMPERED {problem.message}", fg=typer.colors.RED, err=True)
    unsealed = f", {report.unsealed} waiting to be sealed" if report.unsealed else ""
    if report.ok:
        typer.echo(f"OK: {report.sealed} sealed rows verified up to seq {report.last_seq}{unsealed}")
        return
    typer.echo(f"FAILED: {len(report.problems)} problem(s) in {report.sealed} sealed rows{unsealed}")
    raise typer.Exit(1)


@audit_app.command("seal")
def seal_command() -> None:
    """Seal every waiting row into the chain now (the worker also does this every few seconds)."""
    from careplane.kernel.audit.chain import seal_all

    db = _database()
    try:
        with db.unit_of_work() as session:
            sealed = seal_all(session)
    finally:
        db.dispose()
    typer.echo(f"sealed {sealed} row(s)")


@audit_app.command("search")
def search_command(
    patient: str = typer.Option(None, help="MRN or patient id."),
    user: str = typer.Option(None, help="E-mail of the acting user (or a system label)."),
    since: str = typer.Option(None, help="YYYY-MM-DD or YYYY-MM-DDTHH:MM (in --tz)."),
    until: str = typer.Option(None, help="YYYY-MM-DD (whole day) or YYYY-MM-DDTHH:MM (in --tz)."),
    action: str = typer.Option(None, help="e.g. patient.read"),
    outcome: str = typer.Option(None, help="allowed or denied."),
    tz: str = typer.Option("UTC", help="IANA time zone for the dates given and shown."),
    limit: int = typer.Option(50, min=1, max=500, help="Most entries to show."),
) -> None:
    """Show audit entries, newest first. The search is itself recorded in the audit log."""
    from rich.console import Console
    from rich.table import Table

    from careplane.kernel.access import Actor
    from careplane.kernel.audit.search import AuditFilters, search
    from careplane.kernel.errors import ValidationFailed

    actor = Actor.for_system(f"cli:{getpass.getuser()}", via="cli")
    filters = AuditFilters(patient=patient, user=user, since=since, until=until, action=action, outcome=outcome, tz=tz)
    db = _database()
    try:
        with db.unit_of_work() as session:
            page = search(session, actor, filters, limit=limit)
    except ValidationFailed as exc:
        for field, message in exc.errors.items():
            typer.secho(f"--{field}: {message}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    finally:
        db.dispose()

    table = Table(title=f"Audit log (times in {page.tz})")
    for column in ("When", "Who", "Role", "Action", "Patient", "Outcome", "Reason", "From", "Seq"):
        table.add_column(column)
    for row in page.rows:
        e = row.entry
        patient_cell = f"{row.patient_mrn} {row.patient_name}" if row.patient_mrn else str(e.patient_id or "")
        table.add_row(
            row.occurred_local.strftime("%Y-%m-%d %H:%M:%S"),
            e.actor_label,
            ", ".join(row.roles),
            e.action,
            patient_cell,
            "[red]denied[/red]" if e.outcome == "denied" else "allowed",
            e.reason or "",
            f"{e.ip or ''} {e.via}".strip(),
            str(e.seq) if e.seq is not None else "-",
        )
    Console(width=200).print(table)
    if page.next_cursor:
        typer.echo("more entries exist; narrow the filters or raise --limit (max 500)")
