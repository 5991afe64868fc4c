"""`careplane demo`: embedded database in the data directory, demo logins printed, app served."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import free_port

pytestmark = pytest.mark.slow


def run_demo(data_dir: Path) -> str:
    """Start the demo, wait until it answers, check a page, stop it; returns what it printed."""
    port = free_port()
    env = {
        **os.environ,
        "CAREPLANE_DATA_DIR": str(data_dir),
        "CAREPLANE_DATABASE_URL": "postgresql+psycopg://ignored/x",
    }
    env.pop("CAREPLANE_SECRET_KEY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "careplane.cli", "demo", "--port", str(port), "--patients", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, f"careplane demo exited early:\n{proc.stdout.read()}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as response:
                    assert response.status == 200
                    assert b"local mailbox" in response.read()
                break
            except OSError:
                assert time.monotonic() < deadline, "careplane demo did not start serving"
                time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            output, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
    return output


def test_demo_seeds_once_and_prints_the_logins(tmp_path):
    first = run_demo(tmp_path)
    assert "First run" in first
    assert (tmp_path / "careplane.db").exists(), "the demo ignores CAREPLANE_DATABASE_URL and uses embedded SQLite"
    for email in ("patient@demo.careplane.test", "clinician@demo.careplane.test", "administrator@demo.careplane.test"):
        assert email in first
    assert "careplane users totp" in first and "/mailbox" in first

    again = run_demo(tmp_path)
    assert "First run" not in again
    assert "operations_lead@demo.careplane.test" in again
