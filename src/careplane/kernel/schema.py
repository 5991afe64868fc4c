"""Bringing a database's schema up to date."""

from __future__ import annotations

import importlib

from careplane.kernel.db import Base, Database

#: Every module that defines tables. Units add theirs here.
MODEL_MODULES = [
    "careplane.kernel.identity.models",
    "careplane.kernel.patients.models",
    "careplane.kernel.audit.models",
    "careplane.kernel.mail",
    "careplane.kernel.idempotency",
    "careplane.kernel.events",
    "careplane.kernel.jobs",
    "careplane.kernel.org.models",
]


def load_models() -> None:
    for module_name in MODEL_MODULES:
        importlib.import_module(module_name)


def upgrade(db: Database) -> None:
    load_models()
    Base.metadata.create_all(db.engine)
