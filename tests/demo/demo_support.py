"""Helpers of the demo tests (a module of its own name, so that test files import it without a conftest)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

__all__ = ["GREENHACK", "assert_serves"]

# the console script of the virtualenv the tests run in, as ./scripts/demo.sh runs it
GREENHACK = str(Path(sys.executable).parent / "greenhack")


def assert_serves(command: str, port: int, tmp_path: Path) -> None:
    """Run a printed shell command, with a PATH that has no greenhack on it, until its board answers."""
    bare = {k: v for k, v in os.environ.items() if not k.startswith("GREENHACK_")}
    bare |= {"PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "printed-command.log"
    with log.open("wb") as out:
        process = subprocess.Popen(["bash", "-c", command], stdout=out, stderr=subprocess.STDOUT,
                                   env=bare, cwd=tmp_path, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"the printed command exited: {command}\n{log.read_text()}"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
