"""``careplane audit``: verify the hash chain, seal waiting rows, write signed checkpoints, search the log."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from careplane.kernel import cli_database

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from careplane.kernel.audit.checkpoints import Checkpoint
    from careplane.kernel.audit.verify import Problem, VerifyReport

audit_app = typer.Typer(help="The append-only, hash-chained audit log.", no_args_is_help=True)


@audit_app.command("verify")
def verify_command(
    checkpoints: Path | None = typer.Option(
        None, "--checkpoints", help="Folder of signed checkpoints to check the chain against."
    ),
    public_keys: list[Path] | None = typer.Option(
        None,
        "--public-key",
        help="Public key (PEM) the checkpoints are signed with; repeat for earlier keys. "
        "Default: the public half of the configured signing key.",
    ),
    batch: int = typer.Option(5000, min=100, help="Rows read per batch."),
) -> None:
    """Check every sealed row against the chain (and the checkpoints); exit 1 if any row was edited or deleted.

    Changes nothing. Without the audit key (CAREPLANE_AUDIT_KEY) it checks what the checkpoints'
    public key alone can: the links, and that the rows up to each checkpoint still hash to it.
    """
    from careplane.kernel.audit.checkpoints import CheckpointError, read_folder
    from careplane.kernel.audit.keys import keyring
    from careplane.kernel.audit.verify import verify

    loaded: list[Checkpoint] = []
    file_problems: list[Problem] = []
    if checkpoints is not None:
        try:
            loaded, file_problems = read_folder(checkpoints, _public_keys(public_keys))
        except CheckpointError as exc:
            typer.secho(str(exc), fg=typer.colors.RED, err=True)
            raise typer.Exit(2) from None
    try:
        keys = keyring()
    except ValueError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    db = cli_database.database()
    try:
        with db.session_factory() as session:  # closed without commit: nothing is written
            report = verify(session, keys, checkpoints=loaded, batch=batch)
    finally:
        db.dispose()
    for problem in file_problems:
        report.add(problem)
    _print_report(report, keyed=keys is not None, checkpoints=checkpoints)


def _public_keys(paths: list[Path] | None) -> list[Ed25519PublicKey]:
    from careplane.kernel.audit.checkpoints import CheckpointError, load_public_key, load_signing_key
    from careplane.settings import get_settings

    if paths:
        return [load_public_key(path) for path in paths]
    settings = get_settings()
    path = settings.resolved_audit_signing_key_file()
    if not path.exists():
        raise CheckpointError(
            f"no public key to check the checkpoints with: give --public-key FILE (no signing key at {path})"
        )
    return [load_signing_key(path).public_key()]


def _print_report(report: VerifyReport, *, keyed: bool, checkpoints: Path | None) -> None:
    shown = 50
    for problem in report.problems[:shown]:
        typer.secho(f"TAMPERED {problem.message}", fg=typer.colors.RED, err=True)
    hidden = len(report.problems) - shown + report.more_problems
    if hidden > 0:
        typer.secho(f"TAMPERED ... and {hidden} more problem(s)", fg=typer.colors.RED, err=True)
    if report.legacy:
        # a number that must never grow after the upgrade: a chain re-sealed without the key looks legacy
        typer.echo(
            f"legacy: seq 1-{report.legacy} were sealed before the chain was keyed (plain SHA-256); "
            "the first keyed row's MAC covers them"
        )
    if not keyed:
        typer.echo(
            "no audit key configured: rows' MACs were not checked, only their links"
            + (" and the checkpoints" if checkpoints else " (give --checkpoints to check the contents)")
        )
    if checkpoints is not None:
        disagreed = f", {report.checkpoints_disagreed} disagree" if report.checkpoints_disagreed else ""
        typer.echo(f"checkpoints: {report.checkpoints_agreed} agree with the chain{disagreed}")
    unsealed = f", {report.unsealed} waiting to be sealed" if report.unsealed else ""
    if report.ok:
        typer.echo(f"OK: {report.sealed} sealed rows verified up to seq {report.last_seq}{unsealed}")
        return
    if (first := report.first_bad) is not None:
        row = f" (id {first.entry_id})" if first.entry_id else ""
        typer.echo(f"first row that disagrees: seq {first.seq}{row}")
    total = len(report.problems) + report.more_problems
    typer.echo(f"FAILED: {total} problem(s) in {report.sealed} sealed rows{unsealed}")
    raise typer.Exit(1)


@audit_app.command("seal")
def seal_command() -> None:
    """Seal every waiting row into the chain now (the worker also does this every few seconds)."""
    from careplane.kernel.audit.chain import seal_all

    db = cli_database.database()
    try:
        with db.unit_of_work() as session:
            sealed = seal_all(session)
    finally:
        db.dispose()
    typer.echo(f"sealed {sealed} row(s)")


@audit_app.command("checkpoint")
def checkpoint_command(
    to: Path = typer.Option(..., "--to", help="Folder to write the checkpoint into (write-once storage is best)."),
    seal_first: bool = typer.Option(
        True, "--seal/--no-seal", help="Seal waiting rows first, so the checkpoint covers them."
    ),
) -> None:
    """Sign the chain head with the checkpoint signing key and write it into a folder outside the database.

    The rows sealed since the folder's newest checkpoint are verified first; if they do not
    verify, nothing is signed and the command exits 1.
    """
    from careplane.kernel.audit.chain import seal_all
    from careplane.kernel.audit.checkpoints import CheckpointError, CheckpointRefused, signing_key, take
    from careplane.kernel.audit.keys import sealing_keyring

    try:
        private_key, keys = signing_key(), sealing_keyring()
    except (CheckpointError, ValueError, RuntimeError) as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    db = cli_database.database()
    try:
        if seal_first:
            with db.unit_of_work() as session:
                seal_all(session, key=keys.current)
        with db.session_factory() as session:  # reads only: the file is the checkpoint
            taken = take(session, to, keys, private_key)
    except CheckpointRefused as exc:
        for problem in exc.problems[:50]:
            typer.secho(f"TAMPERED {problem.message}", fg=typer.colors.RED, err=True)
        typer.echo(f"REFUSED: {exc}")
        raise typer.Exit(1) from None
    except (CheckpointError, OSError) as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    finally:
        db.dispose()
    if taken is None:
        typer.echo("nothing to checkpoint: no row is sealed yet")
        return
    checkpoint, path = taken
    typer.echo(f"checkpoint written: {path} (seq {checkpoint.seq}, signed by key {checkpoint.signer})")


@audit_app.command("keygen")
def keygen_command(
    out: Path = typer.Option(..., "--out", help="File for the new private key (must not exist)."),
) -> None:
    """Make a checkpoint signing key (Ed25519): the private key goes to --out, the public key is printed.

    Point CAREPLANE_AUDIT_SIGNING_KEY_FILE at the private key on the machines that write
    checkpoints; give the public key to auditors.
    """
    from careplane.kernel.audit.checkpoints import CheckpointError, generate_signing_key, public_pem

    try:
        key = generate_signing_key(out)
    except CheckpointError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    typer.echo(public_pem(key.public_key()), nl=False)


@audit_app.command("public-key")
def public_key_command(
    out: Path | None = typer.Option(None, "--out", help="Write it to this file as well as printing it."),
) -> None:
    """Print the public key of the configured checkpoint signing key: what an auditor verifies with."""
    from careplane.kernel.audit.checkpoints import CheckpointError, public_pem, signing_key

    try:
        pem = public_pem(signing_key().public_key())
    except (CheckpointError, RuntimeError) as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    if out is not None:
        out.write_text(pem)
    typer.echo(pem, nl=False)


@audit_app.command("search")
def search_command(
    patient: str | None = typer.Option(None, help="MRN or patient id."),
    user: str | None = typer.Option(None, help="E-mail of the acting user (or a system label)."),
    since: str | None = typer.Option(None, help="YYYY-MM-DD or YYYY-MM-DDTHH:MM (in --tz)."),
    until: str | None = typer.Option(None, help="YYYY-MM-DD (whole day) or YYYY-MM-DDTHH:MM (in --tz)."),
    action: str | None = typer.Option(None, help="e.g. patient.read"),
    outcome: str | None = typer.Option(None, help="allowed or denied."),
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
    db = cli_database.database()
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
