"""One child process of the test bench, with its log file: start, wait until ready, stop, restart.

Processes are started in their own session (a Ctrl-C in the terminal reaches only the parent, which then stops
them in order) and are stopped at interpreter exit if still running. Where util-linux's ``setpriv`` exists and
the process is started from the main thread, the child also gets ``SIGTERM`` if its parent dies without cleaning
up (``PR_SET_PDEATHSIG``), so a killed test run leaves no server behind.
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from greenhack.errors import ServiceError
from greenhack.services.ports import log_tail, wait_until_ready

__all__ = ["ManagedProcess"]


def _with_parent_death_signal(argv: Sequence[str]) -> list[str]:
    setpriv = shutil.which("setpriv")
    # PR_SET_PDEATHSIG fires when the *thread* that forked exits: only the main thread lives as long as we do.
    if setpriv is None or threading.current_thread() is not threading.main_thread():
        return list(argv)
    return [setpriv, "--pdeathsig", "TERM", "--", *argv]


class ManagedProcess:
    """A child process whose output goes to ``log_path`` (appended to across restarts).

    Args:
        name: the service's name, for messages.
        log_path: file that receives the process's stdout and stderr.
        cwd: working directory of the process.
        env: its environment (the parent's when None).
        stop_timeout_s: seconds to wait after SIGTERM before SIGKILL.
    """

    def __init__(
        self,
        name: str,
        log_path: Path,
        *,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        stop_timeout_s: float = 10.0,
    ) -> None:
        self.name = name
        self.log_path = log_path
        self.cwd = cwd
        self.env = dict(env) if env is not None else None
        self.stop_timeout_s = stop_timeout_s
        self._process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    @property
    def running(self) -> bool:
        """True while the process exists and has not exited."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The process id while running, else None."""
        return self._process.pid if self.running and self._process is not None else None

    def start(self, argv: Sequence[str], ready: str | Callable[[], bool], timeout_s: float) -> float:
        """Start ``argv`` and wait until ``ready`` answers (see :func:`wait_until_ready`).

        Returns:
            Seconds from launching the process to its first successful answer.

        Raises:
            ServiceError: it is already running, could not be launched, exited early or did not answer in time
                (the process is then stopped, and the message carries the last lines of its log).
        """
        if self.running:
            raise ServiceError(f"{self.name} is already running (pid {self.pid})")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._log_offset = log.tell()
            log.write(f"=== greenhack: starting {' '.join(argv)}\n".encode())
            log.flush()
            started = time.monotonic()
            try:
                self._process = subprocess.Popen(
                    _with_parent_death_signal(argv),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.cwd,
                    env=self.env,
                    start_new_session=True,
                )
            except OSError as exc:
                raise ServiceError(f"cannot launch {self.name} ({argv[0]}): {exc.strerror}") from exc
        atexit.register(self.stop)
        try:
            wait_until_ready(ready, timeout_s, name=self.name, process=self._process, log_path=self.log_path)
        except ServiceError:
            self.stop()
            raise
        return time.monotonic() - started

    def log_since_start(self) -> str:
        """The log text written since the last :meth:`start` call."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(self._log_offset)
                return log.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the process: SIGTERM, then SIGKILL after ``stop_timeout_s``. Does nothing if not running."""
        atexit.unregister(self.stop)
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=self.stop_timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines of the log."""
        return log_tail(self.log_path, lines)
