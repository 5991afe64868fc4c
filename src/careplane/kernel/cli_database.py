"""The database a ``careplane`` command works on: the one the settings name (``CAREPLANE_DATABASE_URL``,
or the embedded SQLite file under ``CAREPLANE_DATA_DIR``). Every command gets it here. (Imports
are inside, so that ``careplane --help`` loads no database driver.)

Only the commands that set a database up (``db upgrade``, ``seed``, ``demo``) may create one. Any
other command run in the wrong folder, or with a mistyped URL, says where it looked and stops,
instead of quietly making an empty database there and reporting that it holds nothing.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from careplane.kernel.db import Database
    from careplane.settings import Settings


def database(*, create: bool = False) -> Database:
    from careplane.kernel.db import Database
    from careplane.settings import get_settings

    settings = get_settings()
    if not create:
        _refuse_unless_there(settings)
    db = Database.configured(settings)
    if not create and (missing := _why_unusable(db)):
        db.dispose()
        _refuse(settings, missing)
    return db


def _refuse_unless_there(settings: Settings) -> None:
    if not settings.database_url and not settings.embedded_database_path.is_file():
        _refuse(settings, "there is no such file")


def _why_unusable(db: Database) -> str | None:
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with db.engine.connect() as connection:
            return None if inspect(connection).has_table("alembic_version") else "it holds no careplane tables"
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc
        return f"it could not be opened ({str(reason).strip().splitlines()[0]})"


def _refuse(settings: Settings, why: str) -> None:
    if settings.database_url:
        from sqlalchemy.engine import make_url

        where = (
            f"the database at {make_url(settings.database_url).render_as_string(hide_password=True)} "
            "(CAREPLANE_DATABASE_URL)"
        )
    else:
        where = (
            f"{settings.embedded_database_path.resolve()} (the embedded database under CAREPLANE_DATA_DIR, "
            f"'{settings.data_dir}', seen from {os.getcwd()})"
        )
    typer.echo(
        f"careplane: no careplane database found: looked at {where}, and {why}.\n"
        "Run the command from the folder where you ran `careplane demo` or `careplane seed` (the checkout, "
        "with `python3 dev.py demo`), or point CAREPLANE_DATA_DIR or CAREPLANE_DATABASE_URL at the database. "
        "To set up a new one: `careplane db upgrade` (empty) or `careplane seed --demo` (with demo data).",
        err=True,
    )
    raise typer.Exit(2)
