"""dev.py, the newcomer's entry point: help, the install stamp, and how test runs end in CI."""

import importlib.util
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def dev(monkeypatch, tmp_path):  # noqa: ANN001, ANN201
    spec = importlib.util.spec_from_file_location("dev_script", ROOT / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    lock, pyproject = tmp_path / "requirements.lock", tmp_path / "pyproject.toml"
    lock.write_text("a==1\n")
    pyproject.write_text("[project]\n")
    monkeypatch.setattr(module, "LOCK", lock)
    monkeypatch.setattr(module, "ROOT", tmp_path)
    return module


def test_help_names_the_commands():
    out = subprocess.run([sys.executable, str(ROOT / "dev.py"), "--help"], capture_output=True, text=True, check=True)
    assert "dev.py demo" in out.stdout and "dev.py test" in out.stdout and "dev.py lint" in out.stdout
    bad = subprocess.run([sys.executable, str(ROOT / "dev.py"), "bogus"], capture_output=True, text=True)
    assert bad.returncode == 2


def test_the_install_stamp_changes_with_the_lock_file(dev):
    before = dev.install_fingerprint()
    assert dev.install_fingerprint() == before
    dev.LOCK.write_text("a==2\n")
    assert dev.install_fingerprint() != before


@pytest.mark.parametrize(
    ("ci", "pytest_code", "expected"), [("true", 5, 1), ("", 5, 5), ("true", 0, 0), ("true", 1, 1)]
)
def test_an_empty_test_run_fails_in_ci(dev, monkeypatch, ci, pytest_code, expected):  # noqa: ANN001
    monkeypatch.setenv("CI", ci)
    monkeypatch.setattr(dev, "ensure_environment", lambda: Path(sys.executable))
    calls = []
    monkeypatch.setattr(dev, "run_child", lambda cmd: calls.append(cmd) or pytest_code)
    assert dev.run_tests(["-k", "nothing"]) == expected
    assert calls == [[sys.executable, "-m", "pytest", "-k", "nothing"]]


def test_missing_browser_is_announced(dev, monkeypatch, capsys):  # noqa: ANN001
    monkeypatch.setenv("CAREPLANE_CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("CI", "")
    monkeypatch.setattr(dev, "ensure_environment", lambda: Path(sys.executable))
    monkeypatch.setattr(dev, "run_child", lambda cmd: 0)
    dev.run_tests([])
    assert "apt-get install chromium" in capsys.readouterr().out


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_dev_py_reaches_the_server_it_started_and_dev_py_waits_for_it(tmp_path, signum):  # noqa: ANN001
    """As `python3 dev.py demo` stopped with Ctrl-C, or by a service manager with SIGTERM."""
    child = tmp_path / "server.py"
    marker = tmp_path / "stopped"
    child.write_text(
        "import signal, sys, time, pathlib\n"
        "def stop(signum, frame):\n"
        "    time.sleep(0.5)  # shutting down takes a moment\n"
        f"    pathlib.Path({str(marker)!r}).write_text(str(signum))\n"
        "    sys.exit(3)\n"
        "signal.signal(signal.SIGTERM, stop)\nsignal.signal(signal.SIGINT, stop)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    runner = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import sys; sys.path.insert(0, {str(ROOT)!r}); import dev; "
            f"sys.exit(dev.run_child([sys.executable, {str(child)!r}]))",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert runner.stdout is not None and runner.stdout.readline().strip() == "ready"
    runner.send_signal(signum)
    assert runner.wait(timeout=20) == 3  # the server's own exit code, after it finished
    assert marker.read_text() == str(int(signum))


def test_lint_runs_every_check_and_names_those_that_fail(dev, monkeypatch, capsys):  # noqa: ANN001
    monkeypatch.setattr(dev, "ensure_environment", lambda: Path(sys.executable))
    calls = []
    monkeypatch.setattr(dev.subprocess, "call", lambda cmd, cwd: calls.append(cmd) or int("format" in cmd))
    assert dev.run_lint() == 1
    assert [Path(cmd[0]).name for cmd in calls] == ["ruff", "ruff", "mypy"]
    assert "lint FAILED: ruff format --check." in capsys.readouterr().out
    monkeypatch.setattr(dev.subprocess, "call", lambda cmd, cwd: 0)
    assert dev.run_lint() == 0
