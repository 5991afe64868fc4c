"""Imports every module that registers event handlers or scheduled jobs, so the worker knows them."""

from __future__ import annotations

import importlib

HANDLER_MODULES: list[str] = [
    "careplane.kernel.audit.chain",
    "careplane.kernel.audit.checkpoints",
    "careplane.kernel.mail_delivery",
    "careplane.kernel.org.licence_expiry",
    "careplane.kernel.org.patient_merges",
    "careplane.units.virtual_care.events",
    "careplane.units.primary_care.events",
    "careplane.units.pharmacy.events",
    "careplane.units.revenue_cycle.events",
    "careplane.units.benefits.events",
    "careplane.units.health_tech.events",
]


def load_all() -> None:
    for module_name in HANDLER_MODULES:
        importlib.import_module(module_name)
