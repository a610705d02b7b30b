"""A throwaway single-node VictoriaMetrics (the Debian ``victoria-metrics`` binary) on a free loopback port.

Used by the tests and benches to check that the collector, which speaks only the Prometheus HTTP API, reads the
same samples from VictoriaMetrics as from Prometheus. Exact samples go in through
``/api/v1/import/prometheus`` (text exposition format, timestamps in milliseconds), or through Prometheus's
remote_write to ``/api/v1/write``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

from greenhack.errors import ServiceError
from greenhack.services.ports import free_port, log_tail, wait_until_ready

__all__ = ["VICTORIA_METRICS_BINARY", "VictoriaMetricsServer", "format_import_lines", "start_victoriametrics"]

VICTORIA_METRICS_BINARY = "victoria-metrics"


def _label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def format_import_lines(
    metric: str, labels: dict[str, str], samples: Iterable[tuple[float, float]]
) -> str:
    """Exposition-format lines for ``/api/v1/import/prometheus``: one per ``(t_s, value)``, time in integer ms."""
    label_text = ",".join(f'{k}="{_label_value(v)}"' for k, v in sorted(labels.items()))
    head = f"{metric}{{{label_text}}}" if label_text else metric
    return "".join(f"{head} {value!r} {round(t_s * 1000)}\n" for t_s, value in samples)


@dataclass
class VictoriaMetricsServer:
    """A running VictoriaMetrics; stop it with :meth:`stop` (or use it as a context manager).

    Attributes:
        url: ``http://127.0.0.1:PORT``, serving the Prometheus querying API under ``/api/v1/``.
        data_dir: its storage folder (removed by :meth:`stop` when this object created it).
    """

    url: str
    data_dir: Path
    _process: subprocess.Popen[bytes]
    _log_path: Path
    _owns_dir: bool = field(default=False)

    @property
    def remote_write_url(self) -> str:
        """Where Prometheus's remote_write should send samples."""
        return f"{self.url}/api/v1/write"

    def import_prometheus(self, text: str, *, timeout_s: float = 10.0) -> None:
        """Store exposition-format lines (with millisecond timestamps) and make them searchable at once."""
        try:
            response = httpx.post(f"{self.url}/api/v1/import/prometheus", content=text.encode(), timeout=timeout_s)
            if response.status_code >= 300:
                raise ServiceError(f"VictoriaMetrics refused the import: HTTP {response.status_code} {response.text}")
        except httpx.HTTPError as exc:
            raise ServiceError(f"VictoriaMetrics at {self.url} did not take the import: {exc}") from exc
        self.flush(timeout_s=timeout_s)

    def flush(self, *, timeout_s: float = 10.0) -> None:
        """Make every ingested sample visible to queries (``/internal/force_flush``)."""
        try:
            httpx.get(f"{self.url}/internal/force_flush", timeout=timeout_s).raise_for_status()
        except httpx.HTTPError as exc:
            raise ServiceError(f"VictoriaMetrics at {self.url} could not flush: {exc}") from exc

    def log(self) -> str:
        """The last lines the server wrote to stdout/stderr."""
        return log_tail(self._log_path)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s) and remove its storage if this object made it."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        if self._owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> VictoriaMetricsServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_victoriametrics(
    *,
    data_dir: Path | None = None,
    binary: str = VICTORIA_METRICS_BINARY,
    retention: str = "100y",
    extra_args: Iterable[str] = (),
    timeout_s: float = 20.0,
) -> VictoriaMetricsServer:
    """Start VictoriaMetrics on a free loopback port and wait until ``/health`` answers.

    Args:
        data_dir: storage folder; a temporary one (removed on stop) when None.
        binary: the executable (Debian's package installs ``victoria-metrics``).
        retention: ``-retentionPeriod``; samples older than it are dropped at import, so tests use a long one.
        extra_args: more command-line flags.
        timeout_s: how long to wait for it to answer, in seconds.

    Raises:
        ServiceError: the binary is missing or the server did not come up.
    """
    executable = shutil.which(binary)
    if executable is None:
        raise ServiceError(
            f"{binary} not found on PATH; install the Debian package victoria-metrics (scripts/setup.sh --test)"
        )
    owns_dir = data_dir is None
    storage = Path(tempfile.mkdtemp(prefix="greenhack-vm-")) if data_dir is None else data_dir
    storage.mkdir(parents=True, exist_ok=True)
    log_path = storage.parent / f"{storage.name}.log" if not owns_dir else storage / "server.log"
    last_error: ServiceError | None = None
    for _attempt in range(2):  # another process may take the free port between the probe and the bind
        port = free_port()
        args = [
            executable,
            f"-httpListenAddr=127.0.0.1:{port}",
            f"-storageDataPath={storage / 'data'}",
            f"-retentionPeriod={retention}",
            # queries must see imported samples at once and never a cached older answer
            "-search.disableCache",
            "-search.latencyOffset=0s",
            "-loggerLevel=ERROR",
            *extra_args,
        ]
        with log_path.open("ab") as log:
            process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        server = VictoriaMetricsServer(f"http://127.0.0.1:{port}", storage, process, log_path, owns_dir)
        try:
            wait_until_ready(
                f"{server.url}/health", timeout_s, name="VictoriaMetrics", process=process, log_path=log_path
            )
        except ServiceError as exc:
            last_error = exc
            server._owns_dir = False  # keep the folder for the retry; removed below if all tries fail
            server.stop()
            continue
        return server
    if owns_dir:
        shutil.rmtree(storage, ignore_errors=True)
    raise ServiceError(f"VictoriaMetrics did not start: {last_error}")
