"""Imports every module that registers event handlers or scheduled jobs, so the worker knows them:
the kernel's own, and those each installed unit declares (:mod:`careplane.kernel.units`)."""

from __future__ import annotations

import importlib

from careplane.kernel import units
from careplane.kernel.org.offboarding import handover

KERNEL_HANDLER_MODULES: list[str] = [
    "careplane.kernel.audit.chain",
    "careplane.kernel.audit.checkpoints",
    "careplane.kernel.mail_delivery",
    "careplane.kernel.org.staff.licence_expiry",
    "careplane.kernel.work.patient_merges",
]


def handler_modules() -> list[str]:
    return KERNEL_HANDLER_MODULES + units.modules("handlers")


def load_all() -> None:
    for module_name in handler_modules():
        importlib.import_module(module_name)
    handover.register_handlers()
