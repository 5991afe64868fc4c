"""``careplane seed``: a synthetic population, and (with --demo) the demo logins."""

from __future__ import annotations

import time

import typer

DEMO_POPULATION = 200


def seed(
    patients: int | None = typer.Option(
        None,
        "--patients",
        min=0,
        help="How many synthetic patients to add (with --demo: the registry size to reach, default 200).",
    ),
    seed: int | None = typer.Option(None, "--seed", help="Make the generated people reproducible."),
    demo: bool = typer.Option(
        False,
        "--demo",
        help="Also create one demo login per role and a portal patient "
        "(idempotent; --patients then tops the registry up to N).",
    ),
    batch_size: int = typer.Option(2000, "--batch-size", min=100, help="Rows per insert transaction."),
) -> None:
    """Fill the database with realistic synthetic patients (and demo logins) for demos and benchmarks."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from careplane.kernel import cli_database, schema
    from careplane.kernel.patients.synthetic import insert_synthetic_patients
    from careplane.settings import get_settings

    settings = get_settings()
    db = cli_database.database(create=True)
    schema.upgrade(db)
    console = Console()
    if demo:
        from careplane.demo import seed_demo

        wanted = DEMO_POPULATION if patients is None else patients
        logins = seed_demo(db, settings, patients=wanted, seed=2026 if seed is None else seed)
        table = Table(title=f"Demo logins (password for all: {logins[0].password})")
        for column in ("role", "e-mail", "second factor"):
            table.add_column(column, overflow="fold")
        for login in logins:
            table.add_row(login.role.label, login.email, "TOTP" if login.mfa else "none")
        console.print(table)
        console.print("Staff log in with a TOTP code: [bold]careplane users totp EMAIL[/bold] prints the current one.")
        console.print(f"Synthetic patients: {wanted:,}. Open {settings.base_url} and log in.")
        return
    if not patients:
        raise typer.BadParameter("give --patients N (or --demo)")
    started = time.perf_counter()
    with Progress(
        TextColumn("[bold]patients"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("patients", total=patients)
        insert_synthetic_patients(
            db, patients, seed=seed, batch_size=batch_size, on_progress=lambda n: progress.advance(task, n)
        )
    elapsed = time.perf_counter() - started
    console.print(f"added {patients:,} synthetic patients in {elapsed:.1f}s ({patients / elapsed:,.0f}/s)")
