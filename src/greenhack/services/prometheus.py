"""A real Prometheus server (Debian's ``prometheus`` 2.42 binary) on a free loopback port, for tests and demos.

Data gets in two ways: ``backfill()`` turns OpenMetrics text into TSDB blocks with ``promtool tsdb
create-blocks-from openmetrics`` (the server is stopped for it and started again if it was running), and an
optional scrape configuration lets the server scrape live targets such as a simulated exporter.

What was checked against the real binaries:

- Backfilled samples are queryable whatever their age, seconds or days old, as long as they lie within the
  retention (``10y`` here, counted back from the newest block), including samples right up to "now".
  ``metric[w] @ t`` returns them with their exact millisecond timestamps. The ``@`` modifier is on by default
  since Prometheus 2.33, so no ``--enable-feature`` is needed. In 2.42 the range is closed at *both* ends: a
  sample at exactly ``t - w`` is returned too (Prometheus 3 leaves it out).
- On start, the head block refuses samples older than the newest backfilled sample ("out of bounds"). Backfilled
  samples in the *future* are queryable, but every scraped sample before them is then dropped: when a test mixes
  backfilled and scraped data, keep backfilled timestamps at or before the time the server starts.
- The scrape manager applies the target list about 5 s after the start, so the first scrape comes 5 s plus up
  to one scrape interval after :meth:`PrometheusServer.start` returns.
- A server started on a storage directory (``restart()``) keeps every backfilled and scraped sample.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from greenhack.errors import ServiceError
from greenhack.services._process import ManagedProcess
from greenhack.services._server import LocalServer
from greenhack.services.openmetrics import MetricKind, SeriesSamples, openmetrics_text
from greenhack.services.ports import free_port

__all__ = [
    "MetricKind",
    "PrometheusBinaries",
    "PrometheusServer",
    "SeriesSamples",
    "find_prometheus_binaries",
    "openmetrics_text",
    "static_scrape_config",
]

_INSTALL_HINT = "install it with `sudo apt-get install prometheus` (or run scripts/setup.sh --test)"
_DEFAULT_SEARCH = (Path("/usr/bin"), Path("/usr/local/bin"))


@dataclass(frozen=True)
class PrometheusBinaries:
    """Where the ``prometheus`` server and its ``promtool`` are."""

    prometheus: Path
    promtool: Path


def _find(name: str, search_path: str | None) -> Path | None:
    found = shutil.which(name, path=search_path)
    if found is not None:
        return Path(found)
    if search_path is None:
        for folder in _DEFAULT_SEARCH:
            candidate = folder / name
            if candidate.is_file():
                return candidate
    return None


def find_prometheus_binaries(search_path: str | None = None) -> PrometheusBinaries:
    """Find ``prometheus`` and ``promtool`` on ``search_path`` (``$PATH`` when None, then /usr/bin).

    Raises:
        ServiceError: either binary is missing, with an install hint.
    """
    prometheus = _find("prometheus", search_path)
    promtool = _find("promtool", search_path)
    missing = [name for name, path in (("prometheus", prometheus), ("promtool", promtool)) if path is None]
    if prometheus is None or promtool is None:
        raise ServiceError(f"{' and '.join(missing)} not found on PATH: {_INSTALL_HINT}")
    return PrometheusBinaries(prometheus=prometheus, promtool=promtool)


def static_scrape_config(
    job_name: str, targets: Sequence[str], *, scrape_interval_s: float = 1.0, metrics_path: str = "/metrics"
) -> str:
    """YAML for ``scrape_configs``: one job scraping fixed ``host:port`` targets every ``scrape_interval_s``."""
    job = {
        "job_name": job_name,
        "scrape_interval": f"{int(scrape_interval_s * 1000)}ms",
        "scrape_timeout": f"{int(scrape_interval_s * 1000)}ms",
        "metrics_path": metrics_path,
        "static_configs": [{"targets": list(targets)}],
    }
    text: str = yaml.safe_dump([job], sort_keys=False)
    return text


class PrometheusServer(LocalServer):
    """A Prometheus server on ``127.0.0.1`` with its own storage, config and log in ``workdir``.

    Args:
        scrape_config: YAML text of the ``scrape_configs`` list (see :func:`static_scrape_config`), or None for
            a server that only serves backfilled data.
        workdir: where storage, config and log go; a temporary folder (removed by :meth:`close`) when None.
        port: the port to listen on; a free one when None.
        retention: ``--storage.tsdb.retention.time``; long, so old backfilled data is not deleted on start.
        enable_admin_api: pass ``--web.enable-admin-api`` (delete series, snapshots).
        startup_timeout_s: seconds to wait for ``/-/ready``.
        binaries: where the binaries are; found on ``PATH`` when None.

    Raises:
        ServiceError: the binaries are missing or ``scrape_config`` is not a YAML list.
    """

    ready_path = "/-/ready"

    def __init__(
        self,
        *,
        scrape_config: str | None = None,
        workdir: Path | None = None,
        port: int | None = None,
        retention: str = "10y",
        enable_admin_api: bool = False,
        startup_timeout_s: float = 30.0,
        binaries: PrometheusBinaries | None = None,
    ) -> None:
        self.binaries = binaries if binaries is not None else find_prometheus_binaries()
        self._owns_workdir = workdir is None
        # absolute: the process runs inside workdir, where a relative path would point one level too deep
        self.workdir = (
            Path(tempfile.mkdtemp(prefix="greenhack-prometheus-")) if workdir is None else workdir.resolve()
        )
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.storage_dir = self.workdir / "data"
        self.storage_dir.mkdir(exist_ok=True)
        self.config_path = self.workdir / "prometheus.yml"
        self.config_path.write_text(self._config_text(scrape_config), encoding="utf-8")
        self._fixed_port = port is not None
        self.port = port if port is not None else free_port()
        self.retention = retention
        self.enable_admin_api = enable_admin_api
        self.startup_timeout_s = startup_timeout_s
        self._process = ManagedProcess("prometheus", self.workdir / "prometheus.log", cwd=self.workdir)
        # seconds from launch to the first answer of /-/ready, for each start (benches report these)
        self.start_durations_s: list[float] = []

    @staticmethod
    def _config_text(scrape_config: str | None) -> str:
        config: dict[str, object] = {"global": {"scrape_interval": "15s", "evaluation_interval": "15s"}}
        if scrape_config is not None:
            try:
                jobs = yaml.safe_load(scrape_config)
            except yaml.YAMLError as exc:
                raise ServiceError(f"scrape_config is not valid YAML: {exc}") from exc
            if not isinstance(jobs, list):
                raise ServiceError(
                    "scrape_config must be a YAML list of scrape jobs (the scrape_configs list)"
                )
            config["scrape_configs"] = jobs
        text: str = yaml.safe_dump(config, sort_keys=False)
        return text

    def _argv(self) -> list[str]:
        argv = [
            str(self.binaries.prometheus),
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={self.storage_dir}",
            f"--storage.tsdb.retention.time={self.retention}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=info",
        ]
        if self.enable_admin_api:
            argv.append("--web.enable-admin-api")
        return argv

    def backfill(self, text: str | Sequence[SeriesSamples]) -> None:
        """Write samples into the storage with ``promtool tsdb create-blocks-from openmetrics``.

        A running server is stopped first and started again afterwards, since Prometheus only loads new blocks
        on its own schedule (about once a minute).

        Args:
            text: OpenMetrics text ending in ``# EOF``, or series to render with :func:`openmetrics_text`.

        Raises:
            ServiceError: the text does not end with ``# EOF``, or promtool refused it (its output is quoted).
        """
        if not isinstance(text, str):
            text = openmetrics_text(text)
        if text.rstrip().splitlines()[-1:] != ["# EOF"]:
            raise ServiceError("OpenMetrics text for backfilling must end with a '# EOF' line")
        was_running = self.running
        self.stop()
        source = self.workdir / "backfill.om"
        source.write_text(text, encoding="utf-8")
        argv = [
            str(self.binaries.promtool),
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            str(source),
            str(self.storage_dir),
        ]
        try:
            result = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ServiceError(f"promtool could not backfill {source}: {exc}") from exc
        finally:
            source.unlink(missing_ok=True)
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip().splitlines()[-10:]
            raise ServiceError("promtool refused the backfill data:\n" + "\n".join(output))
        if was_running:
            self.start()
