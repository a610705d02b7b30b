"""Free loopback ports, and waiting until a freshly started service answers.

Every service the test bench starts listens on ``127.0.0.1`` on a port the kernel just handed out. Between
:func:`free_port` closing its socket and the service binding it, another process may take the port; the servers
in this package retry once on "address already in use" for that reason.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from greenhack.errors import ServiceError

__all__ = ["POLL_INTERVAL_S", "free_port", "log_tail", "wait_until_ready"]

# How often readiness is polled: short, so a start costs its real duration plus at most 0.1 s.
POLL_INTERVAL_S = 0.1


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on ``host`` right now (the kernel's choice of an ephemeral port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def log_tail(log_path: Path | None, lines: int = 20) -> str:
    """Return the last ``lines`` lines of a process log, or a note saying why there are none."""
    if log_path is None:
        return "(no log captured)"
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"(log {log_path} unreadable: {exc.strerror})"
    tail = text.rstrip("\n").splitlines()[-lines:]
    return "\n".join(tail) if tail else f"(log {log_path} is empty)"


def _url_answers(url: str) -> bool:
    try:
        response = httpx.get(url, timeout=1.0)
    except httpx.HTTPError:
        return False
    return response.is_success


def wait_until_ready(
    target: str | Callable[[], bool],
    timeout_s: float,
    *,
    name: str = "service",
    process: subprocess.Popen[bytes] | None = None,
    log_path: Path | None = None,
) -> float:
    """Poll until ``target`` answers, every :data:`POLL_INTERVAL_S` seconds.

    Args:
        target: a URL that must answer ``GET`` with a 2xx status, or a callable that returns True once ready
            (it may raise ``OSError`` or ``httpx.HTTPError`` while not ready).
        timeout_s: how long to wait, in seconds.
        name: the service's name, for error messages.
        process: the service's process; if it exits while we wait, fail at once instead of at the timeout.
        log_path: the service's log, whose last lines go into the error message.

    Returns:
        The seconds waited until the first successful answer.

    Raises:
        ServiceError: the process exited, or nothing answered within ``timeout_s``; the message carries the
            last lines of the log.
    """
    if isinstance(target, str):
        url, what = target, target

        def check() -> bool:
            return _url_answers(url)

    else:
        check, what = target, getattr(target, "__name__", "readiness check")
    started = time.monotonic()
    deadline = started + timeout_s
    while True:
        try:
            if check():
                return time.monotonic() - started
        except (OSError, httpx.HTTPError):
            pass
        if process is not None and process.poll() is not None:
            raise ServiceError(
                f"{name} exited with status {process.returncode} before answering {what}; "
                f"last lines of its log:\n{log_tail(log_path)}"
            )
        if time.monotonic() >= deadline:
            raise ServiceError(
                f"{name} did not answer {what} within {timeout_s:g} s; last lines of its log:\n"
                f"{log_tail(log_path)}"
            )
        time.sleep(POLL_INTERVAL_S)
