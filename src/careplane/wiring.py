"""Imports every module that registers event handlers or scheduled jobs, so the worker knows them."""

from __future__ import annotations

import importlib

HANDLER_MODULES: list[str] = [
    "careplane.kernel.audit.chain",
]


def load_all() -> None:
    for module_name in HANDLER_MODULES:
        importlib.import_module(module_name)
