"""What every local server greenhack starts (Prometheus, BoaviztAPI) does the same way: a process on
``127.0.0.1:port`` logging into its workdir, started with one retry on a port taken meanwhile, stopped, restarted
on the same port, closed with its temporary workdir."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from types import TracebackType
from typing import Self

from greenhack.errors import ServiceError
from greenhack.services._process import ManagedProcess
from greenhack.services.ports import free_port

__all__ = ["LocalServer"]

logger = logging.getLogger(__name__)


class LocalServer:
    """Base of the local servers. Subclasses set the attributes below in ``__init__`` and give ``_argv()``.

    Attributes:
        port: the loopback port; ``_fixed_port`` when the caller chose it (then it is never changed).
        workdir: absolute; removed by :meth:`close` when ``_owns_workdir``.
        startup_timeout_s: how long :meth:`start` waits for the first answer, in seconds.
        start_durations_s: seconds from launch to the first answer, for each start.
    """

    ready_path: str = "/"
    port: int
    workdir: Path
    startup_timeout_s: float
    start_durations_s: list[float]
    _fixed_port: bool
    _owns_workdir: bool
    _process: ManagedProcess

    def _argv(self) -> list[str]:
        raise NotImplementedError

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:9090``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """The server's log (appended to across restarts)."""
        return self._process.log_path

    @property
    def running(self) -> bool:
        """True while the server process runs."""
        return self._process.running

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs, else None."""
        return self._process.pid

    def start(self) -> float:
        """Start the server and wait until ``ready_path`` answers.

        If the port was chosen here and another process took it meanwhile, one new port is tried.

        Returns:
            Seconds from launch to the first answer.

        Raises:
            ServiceError: the server exited or did not answer; the message ends with its log's last lines.
        """
        try:
            waited_s = self._process.start(self._argv(), self.url + self.ready_path, self.startup_timeout_s)
        except ServiceError:
            if self._fixed_port or "address already in use" not in self._process.log_since_start():
                raise
            self.port = free_port()
            logger.info("port taken meanwhile; starting %s again on %d", self._process.name, self.port)
            waited_s = self._process.start(self._argv(), self.url + self.ready_path, self.startup_timeout_s)
        self.start_durations_s.append(waited_s)
        return waited_s

    def stop(self) -> None:
        """Stop the server (SIGTERM, SIGKILL after 10 s); its workdir is kept. Does nothing if not running."""
        self._process.stop()

    def restart(self) -> float:
        """Stop, then start again on the same port and workdir (a "server restarted" or "server down" fault).

        Returns:
            Seconds from the new launch to the first answer.
        """
        self.stop()
        return self.start()

    def close(self) -> None:
        """Stop the server and remove its workdir if it was created here."""
        self.stop()
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        if not self.running:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
