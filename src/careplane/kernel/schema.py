"""Bringing a database's schema up to date with Alembic migrations shipped inside the package."""

from __future__ import annotations

import importlib
import logging

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from careplane.kernel import units
from careplane.kernel.db import Database

#: Every kernel module that defines tables (units declare theirs: ``Unit.models``).
MODEL_MODULES = [
    "careplane.kernel.identity.models",
    "careplane.kernel.patients.models",
    "careplane.kernel.patients.allergies.models",
    "careplane.kernel.audit.models",
    "careplane.kernel.mail",
    "careplane.kernel.idempotency",
    "careplane.kernel.events",
    "careplane.kernel.jobs",
    "careplane.kernel.org.models",
    "careplane.kernel.work.models",
    "careplane.kernel.payments.models",
]

# Alembic narrates every step at INFO; the commands report the outcome themselves.
logging.getLogger("alembic").setLevel(logging.WARNING)

#: Several app servers may start at once; on PostgreSQL only one migrates at a time.
_MIGRATION_LOCK = 7_302_118_401


def load_models() -> None:
    for module_name in MODEL_MODULES + units.modules("models"):
        importlib.import_module(module_name)


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "careplane:migrations")
    return config


def upgrade(db: Database, revision: str = "head") -> None:
    """Apply every migration not yet applied (idempotent)."""
    config = alembic_config()
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def make_revision(db: Database, message: str) -> None:
    """Write a new migration by comparing the models with a database that is at head."""
    config = alembic_config()
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
