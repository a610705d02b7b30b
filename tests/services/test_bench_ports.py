"""Free ports, readiness waits and process stops behave as the services rely on."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from greenhack.errors import ServiceError
from greenhack.services._process import ManagedProcess
from greenhack.services.ports import free_port, log_tail, wait_until_ready


def test_free_port_can_be_bound() -> None:
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))
    assert 1024 <= port <= 65535


def test_wait_until_ready_returns_once_the_check_passes() -> None:
    calls = []

    def ready() -> bool:
        calls.append(1)
        return len(calls) >= 3

    waited_s = wait_until_ready(ready, timeout_s=5)
    assert len(calls) == 3
    assert 0.15 <= waited_s < 1.0  # two polls of 0.1 s


def test_wait_until_ready_times_out_with_the_log_tail(tmp_path: Path) -> None:
    log = tmp_path / "svc.log"
    log.write_text("".join(f"line {i}\n" for i in range(30)))
    started = time.monotonic()
    with pytest.raises(ServiceError) as info:
        wait_until_ready(f"http://127.0.0.1:{free_port()}/ready", 0.5, name="demo service", log_path=log)
    assert time.monotonic() - started < 3
    message = str(info.value)
    assert "demo service did not answer" in message and "within 0.5 s" in message
    assert "line 29" in message and "line 10" in message and "line 9\n" not in message


def test_wait_until_ready_fails_at_once_when_the_process_exits(tmp_path: Path) -> None:
    log = tmp_path / "svc.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", "print('cannot open storage'); raise SystemExit(3)"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    with pytest.raises(ServiceError) as info:
        wait_until_ready(lambda: False, 30, name="svc", process=process, log_path=log)
    assert "svc exited with status 3" in str(info.value)
    assert "cannot open storage" in str(info.value)


def test_log_tail_says_why_there_is_nothing(tmp_path: Path) -> None:
    assert "empty" in log_tail(_touch(tmp_path / "empty.log"))
    assert "unreadable" in log_tail(tmp_path / "missing.log")
    assert log_tail(None) == "(no log captured)"


def _touch(path: Path) -> Path:
    path.write_text("")
    return path


def test_stop_kills_a_process_that_ignores_sigterm(tmp_path: Path) -> None:
    script = (
        "import signal, time, http.server, sys\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), http.server.SimpleHTTPRequestHandler)"
        ".serve_forever()\n"
    )
    port = free_port()
    managed = ManagedProcess("stubborn", tmp_path / "stubborn.log", cwd=tmp_path, stop_timeout_s=0.5)
    managed.start([sys.executable, "-c", script, str(port)], f"http://127.0.0.1:{port}/", 15)
    pid = managed.pid
    assert pid is not None and managed.running
    managed.stop()
    assert not managed.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
