"""``careplane worker`` and ``careplane events``: run the background worker, inspect and replay dead letters."""

from __future__ import annotations

import os
import signal
import socket
import threading
import uuid

import typer

from careplane.kernel import cli_database

events_app = typer.Typer(help="The event outbox: pending deliveries, dead letters and replay.", no_args_is_help=True)


def worker_command(
    once: bool = typer.Option(False, "--once", help="Run everything due now, then exit."),
    name: str | None = typer.Option(None, help="This worker's name in logs (default: host-pid)."),
) -> None:
    """Deliver events and run scheduled jobs. Start one per machine or more; SIGTERM stops after the item in hand."""
    from careplane.kernel.observability import configure_logging
    from careplane.kernel.worker import Worker
    from careplane.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    db = cli_database.database()
    worker = Worker(db, settings, name=name or f"{socket.gethostname()}-{os.getpid()}")
    try:
        if once:
            total = 0
            while done := worker.run_once():
                total += done
            typer.echo(f"{total} item(s) done")
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        worker.run_forever(stop)
    finally:
        db.dispose()


@events_app.command("dead")
def dead_command(limit: int = typer.Option(100, min=1, help="Most rows shown.")) -> None:
    """List deliveries that failed every attempt."""
    from careplane.kernel import events

    _list_deliveries(events.DEAD, limit, "No dead deliveries.")


@events_app.command("pending")
def pending_command(limit: int = typer.Option(100, min=1, help="Most rows shown.")) -> None:
    """List deliveries still waiting for a worker: new ones, and failed ones waiting for their next attempt."""
    from careplane.kernel import events

    _list_deliveries(events.PENDING, limit, "No pending deliveries.")


def _list_deliveries(status: str, limit: int, none: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from careplane.kernel import events

    db = cli_database.database()
    try:
        with db.unit_of_work() as session:
            rows = events.deliveries_in(session, status, limit=limit)
    finally:
        db.dispose()
    if not rows:
        typer.echo(none)
        return
    table = Table("delivery", "event", "handler", "occurred (UTC)", "attempts", "next attempt (UTC)", "last error")
    for delivery, event in rows:
        error = (delivery.last_error or "").splitlines()[-1:] or [""]
        table.add_row(
            str(delivery.id),
            event.name,
            delivery.handler,
            event.occurred_at.strftime("%Y-%m-%d %H:%M:%S"),
            str(delivery.attempts),
            delivery.next_attempt_at.strftime("%Y-%m-%d %H:%M:%S") if status == events.PENDING else "",
            error[0][:120],
        )
    Console(width=240).print(table)


@events_app.command("replay")
def replay_command(
    delivery_id: str | None = typer.Argument(None, help="The dead delivery to send back to the queue."),
    all_dead: bool = typer.Option(False, "--all-dead", help="Replay every dead delivery."),
) -> None:
    """Send dead deliveries back to the queue with a fresh set of attempts."""
    from careplane.kernel import events
    from careplane.kernel.errors import CareplaneError

    if bool(delivery_id) == all_dead:
        raise typer.BadParameter("give a delivery id or --all-dead (not both)")
    ident = None
    if delivery_id:
        try:
            ident = uuid.UUID(delivery_id)
        except ValueError:
            raise typer.BadParameter(f"{delivery_id!r} is not a delivery id") from None
    db = cli_database.database()
    try:
        with db.unit_of_work() as session:
            count = events.replay_all_dead(session) if ident is None else (events.replay(session, ident) and 1)
    except CareplaneError as exc:
        typer.secho(exc.detail, fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    typer.echo(f"{count} deliver{'y' if count == 1 else 'ies'} sent back to the queue")
