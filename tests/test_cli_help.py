"""Every ``careplane`` command explains itself: a description, and help for each argument and option."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer.main
from typer.testing import CliRunner

from careplane.cli import app


def _commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, group
    for name, command in (getattr(group, "commands", None) or {}).items():
        yield from _commands(command, (*path, name))


def test_every_command_has_a_description_and_every_parameter_help():
    root = typer.main.get_command(app)
    missing = []
    for path, command in _commands(root):
        name = " ".join(("careplane", *path))
        if not (command.help or "").strip():
            missing.append(f"{name}: no description")
        for param in command.params:
            if param.name in ("help", "install_completion", "show_completion"):
                continue
            if not (getattr(param, "help", None) or "").strip():
                missing.append(f"{name}: {param.name} has no help")
    assert not missing, "\n".join(missing)


def test_help_runs_for_every_command():
    root = typer.main.get_command(app)
    runner = CliRunner()
    for path, _ in _commands(root):
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output
