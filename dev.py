#!/usr/bin/env python3
"""The newcomer's entry point. Needs only Python 3.11+ (standard library).

    python3 dev.py demo     # set up .venv, then run the demo at http://127.0.0.1:8000
    python3 dev.py test     # set up .venv, then run the whole test suite (SQLite and PostgreSQL)
    python3 dev.py lint     # set up .venv, then run ruff (lint and format) and mypy: no finding allowed

Each creates ./.venv when it is missing and (re)install the pinned dependencies from
requirements.lock plus careplane itself (editable) whenever the lock file or pyproject.toml
changed since the last install.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
LOCK = ROOT / "requirements.lock"
STAMP = VENV / ".careplane-installed"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
#: pytest's exit code when it collected no test at all.
PYTEST_NO_TESTS = 5
#: What ruff checks and formats (its settings, and mypy's files, are in pyproject.toml).
LINT_PATHS = ("src", "tests", "dev.py")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def say(message: str) -> None:
    print(f"dev.py: {message}", flush=True)


def venv_bin(name: str) -> Path:
    folder = "Scripts" if os.name == "nt" else "bin"
    suffix = ".exe" if os.name == "nt" else ""
    return VENV / folder / f"{name}{suffix}"


def install_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in (LOCK, ROOT / "pyproject.toml"):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_environment() -> Path:
    """Create .venv if needed and install what requirements.lock pins; returns the venv's python."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs under any python3 and says what it needs
        sys.exit(f"dev.py: careplane needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    python = venv_bin("python")
    if not python.exists():
        say(f"creating {VENV.relative_to(ROOT)} with {sys.executable}")
        result = subprocess.run([sys.executable, "-m", "venv", str(VENV)])
        if result.returncode != 0 or not python.exists():
            sys.exit(
                "dev.py: could not create the virtual environment. On Debian/Ubuntu install the venv module "
                "first: apt-get install python3-venv"
            )
    fingerprint = install_fingerprint()
    if STAMP.exists() and STAMP.read_text().strip() == fingerprint:
        return python
    say("installing the pinned dependencies (requirements.lock) and careplane (editable)")
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "install", "--quiet"]
    for step in (["-r", str(LOCK)], ["--no-deps", "--editable", str(ROOT)]):
        if subprocess.run(pip + step, cwd=ROOT).returncode != 0:
            sys.exit(f"dev.py: pip install {' '.join(step)} failed (see above)")
    STAMP.write_text(fingerprint + "\n")
    return python


def chromium_path() -> str:
    return os.environ.get("CAREPLANE_CHROMIUM") or DEFAULT_CHROMIUM


def run_child(command: list[str]) -> int:
    """Run ``command`` and return its exit code. Ctrl-C and SIGTERM sent to dev.py are passed on to
    it, and dev.py waits for it to finish shutting down (instead of killing it or leaving it running)."""
    started: list[subprocess.Popen[bytes]] = []

    def pass_on(signum: int, _frame: object) -> None:
        if started and started[0].poll() is None:
            started[0].send_signal(signum)

    previous = {sig: signal.signal(sig, pass_on) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        started.append(subprocess.Popen(command, cwd=ROOT))
        return started[0].wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_demo(extra: list[str]) -> int:
    ensure_environment()
    return run_child([str(venv_bin("careplane")), "demo", *extra])


def run_tests(extra: list[str]) -> int:
    python = ensure_environment()
    browser = chromium_path()
    if not Path(browser).exists():
        if in_ci():
            say(
                f"Chromium is missing at {browser}: the browser tests will FAIL (CI=true). "
                "Install it: apt-get install chromium"
            )
        else:
            say(
                f"Chromium is missing at {browser}, so the browser tests will be skipped. To run them: "
                "sudo apt-get install chromium (or set CAREPLANE_CHROMIUM to a Chromium binary)."
            )
    engines = os.environ.get("CAREPLANE_TEST_ENGINES", "sqlite,postgresql")
    where = os.environ.get("CAREPLANE_TEST_POSTGRES_URL") and "the server in CAREPLANE_TEST_POSTGRES_URL"
    say(f"running the test suite on {engines} (PostgreSQL: {where or 'a throwaway embedded server'})")
    code = run_child([str(python), "-m", "pytest", *extra])
    if code == PYTEST_NO_TESTS and in_ci():
        say("pytest collected no tests: that is a failure in CI")
        return 1
    return code


def lint_checks() -> list[tuple[str, list[str]]]:
    """Each check of ``dev.py lint``: its name and command (the pinned tools in .venv)."""
    ruff, mypy = str(venv_bin("ruff")), str(venv_bin("mypy"))
    return [
        ("ruff check", [ruff, "check", *LINT_PATHS]),
        ("ruff format --check", [ruff, "format", "--check", *LINT_PATHS]),
        ("mypy", [mypy]),
    ]


def run_lint(fix: bool = False) -> int:
    """Every check runs, so one run shows all the findings; any finding fails."""
    ensure_environment()
    if fix:
        ruff = str(venv_bin("ruff"))
        say("fixing what ruff can: ruff check --fix, then ruff format")
        subprocess.call([ruff, "check", "--fix", "--quiet", *LINT_PATHS], cwd=ROOT)
        subprocess.call([ruff, "format", "--quiet", *LINT_PATHS], cwd=ROOT)
    failed = []
    for name, command in lint_checks():
        say(f"lint: {name}")
        if subprocess.call(command, cwd=ROOT) != 0:
            failed.append(name)
    if failed:
        say(
            f"lint FAILED: {', '.join(failed)}. `python3 dev.py lint --fix` (ruff check --fix, ruff format) "
            "fixes formatting, import order and some findings; the rest, and mypy's, need fixing by hand."
        )
        return 1
    say("lint: no findings")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 dev.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "Environment: CAREPLANE_TEST_POSTGRES_URL=postgresql+psycopg://user@host/db uses that PostgreSQL server "
            "for the tests instead of an embedded one; CAREPLANE_TEST_ENGINES=sqlite (or postgresql) narrows the run; "
            f"CAREPLANE_CHROMIUM names the Chromium binary for browser tests (default {DEFAULT_CHROMIUM}); "
            "CI=true makes a missing browser or an empty test run a failure."
        ),
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.add_parser(
        "demo",
        help="run the demo: embedded SQLite in ./var, demo data, web + API + worker at http://127.0.0.1:8000",
        description="Set up .venv, then run `careplane demo` (any further arguments are passed on, e.g. --port 8080).",
    )
    commands.add_parser(
        "test",
        help="run the whole test suite on SQLite and PostgreSQL, browser tests included",
        description="Set up .venv, then run pytest (any further arguments are passed on, e.g. -x tests/kernel).",
    )
    lint = commands.add_parser(
        "lint",
        help="run ruff (lint, format, import order) and mypy; any finding fails",
        description="Set up .venv, then run `ruff check`, `ruff format --check` and `mypy` as pyproject.toml "
        "configures them; exits non-zero, naming the tool, on any finding.",
    )
    lint.add_argument("--fix", action="store_true", help="first let ruff fix what it can and reformat")
    commands.add_parser("setup", help="only create .venv and install the pinned dependencies")
    # Everything dev.py does not know itself goes on to `careplane demo` or pytest, in order.
    args, extra = parser.parse_known_args(argv)
    if extra and args.command in ("setup", "lint"):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        if args.command == "demo":
            return run_demo(extra)
        if args.command == "test":
            return run_tests(extra)
        if args.command == "lint":
            return run_lint(fix=args.fix)
        ensure_environment()
        say(f"ready: {venv_bin('python').relative_to(ROOT)}")
        return 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
