"""The layering rules of docs/architecture: the kernel names no unit, and `standards/` is pure."""

from __future__ import annotations

import ast
from pathlib import Path

import careplane

SOURCE = Path(careplane.__file__).parent


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def offenders(folder: Path, forbidden_prefix: str) -> list[str]:
    return [
        f"{path.relative_to(SOURCE)} imports {name}"
        for path in sorted(folder.rglob("*.py"))
        for name in sorted(imported_modules(path))
        if name == forbidden_prefix or name.startswith(forbidden_prefix + ".")
    ]


def test_standards_import_nothing_of_careplane() -> None:
    assert offenders(SOURCE / "standards", "careplane") == []


def test_the_kernel_imports_no_unit() -> None:
    assert offenders(SOURCE / "kernel", "careplane.units") == []
    text_mentions = [
        str(path.relative_to(SOURCE))
        for path in SOURCE.joinpath("kernel").rglob("*.py")
        if "careplane.units" in path.read_text()
    ]
    assert text_mentions == []
