"""``careplane users ...``: manage accounts from the command line (first administrator, demos, offboarding)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlalchemy.orm import Session

from careplane.kernel import cli_database
from careplane.kernel.access import Actor
from careplane.kernel.errors import CareplaneError
from careplane.kernel.identity import mfa, service
from careplane.kernel.identity.models import User
from careplane.kernel.identity.roles import Role
from careplane.settings import get_settings

users_app = typer.Typer(
    help="User accounts: create, list, deactivate, reset two-step verification.", no_args_is_help=True
)

CLI_ACTOR = Actor.for_system("cli", via="cli")
EMAIL = typer.Argument(..., help="The account's e-mail address (its login name).")


@contextmanager
def _unit_of_work() -> Iterator[Session]:
    from careplane.kernel import schema

    db = cli_database.database()
    schema.upgrade(db)
    try:
        with db.unit_of_work() as session:
            yield session
    except CareplaneError as exc:
        errors = getattr(exc, "errors", None)
        for field, message in (errors or {"": exc.detail}).items():
            typer.echo(f"error: {field + ': ' if field else ''}{message}", err=True)
        raise typer.Exit(1) from None
    finally:
        db.dispose()


def _user(session: Session, email: str) -> User:
    user = service.find_user(session, CLI_ACTOR, email)  # a patient's own account: audited, as their record
    if user is None:
        typer.echo(f"error: no user with the e-mail {email}", err=True)
        raise typer.Exit(1)
    return user


@users_app.command("create")
def create(
    email: str = typer.Argument(..., help="Their e-mail address (the login name)."),
    name: str = typer.Option(..., "--name", help="Display name."),
    role: list[Role] = typer.Option(..., "--role", help="A staff role; repeat for several."),
    unit: str | None = typer.Option(None, "--unit", help=f"Business unit: {', '.join(service.UNITS)}."),
    password: str | None = typer.Option(None, "--password", help="Initial password (prompted for when left out)."),
) -> None:
    """Create a staff account with a password. They set up two-step verification at first login."""
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _unit_of_work() as session:
        user = service.create_staff_user(
            session,
            CLI_ACTOR,
            get_settings(),
            email=email,
            display_name=name,
            roles=[r.value for r in role],
            unit=unit,
            password=password,
        )
        typer.echo(f"created {user.email} ({', '.join(sorted(user.roles))})")


@users_app.command("list")
def list_users(role: Role | None = typer.Option(None, "--role", help="Only users with this role.")) -> None:
    """List staff and employer admin accounts (patients' accounts belong to their records)."""
    with _unit_of_work() as session:
        page, more = 1, True
        while more:
            users, more = service.list_users(session, CLI_ACTOR, role=role, page=page)
            page += 1
            for user in users:
                status = "active" if user.is_active else "deactivated"
                typer.echo(
                    f"{user.email:40} {user.display_name:28} {','.join(sorted(user.roles)):30} "
                    f"{user.unit or '-':14} {status:12} mfa={'on' if user.mfa_enabled else 'off'}"
                )


@users_app.command("deactivate")
def deactivate(email: str = EMAIL) -> None:
    """Deactivate an account: its sessions and API tokens stop working at once."""
    with _unit_of_work() as session:
        user = _user(session, email)
        service.deactivate_user(session, CLI_ACTOR, user)
        typer.echo(f"deactivated {user.email}")


@users_app.command("reset-mfa")
def reset_mfa(email: str = EMAIL) -> None:
    """Forget a user's authenticator app (lost phone); staff set it up again at next login."""
    with _unit_of_work() as session:
        user = _user(session, email)
        mfa.reset_user_mfa(session, CLI_ACTOR, user)
        typer.echo(f"two-step verification reset for {user.email}")


@users_app.command("totp")
def totp(email: str = EMAIL) -> None:
    """Development only: print a user's current authenticator code (for demo visitors without the app)."""
    if get_settings().environment == "production":
        typer.echo("error: not available in production", err=True)
        raise typer.Exit(2)
    with _unit_of_work() as session:
        typer.echo(mfa.current_code(_user(session, email)))
