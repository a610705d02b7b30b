"""Fixtures of the deployment tests: event files, a VictoriaMetrics server, a Prometheus run from a generated file."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from greenhack.services.ports import free_port, log_tail, wait_until_ready
from greenhack.services.victoriametrics import VictoriaMetricsServer, start_victoriametrics

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_EVENT = REPO / "examples" / "event.yaml"

EventWriter = Callable[..., Path]


@pytest.fixture
def write_event(tmp_path: Path) -> EventWriter:
    """Write the example event with its ``servers`` (and optionally ``telemetry``) replaced; return its path.

    The truth file is copied next to it so the event loads.
    """

    def write(
        servers: list[dict[str, object]] | None = None,
        *,
        raw_servers: str | None = None,
        scrape_interval: str | None = None,
        name: str = "event.yaml",
    ) -> Path:
        data = yaml.safe_load(EXAMPLE_EVENT.read_text(encoding="utf-8"))
        (tmp_path / "secrets").mkdir(exist_ok=True)
        shutil.copy(REPO / "examples" / "secrets" / "truth.csv", tmp_path / "secrets" / "truth.csv")
        if scrape_interval is not None:
            data["telemetry"]["scrape_interval"] = scrape_interval
        path = tmp_path / name
        if raw_servers is not None:
            data.pop("servers")
            path.write_text(yaml.safe_dump(data, sort_keys=False) + raw_servers, encoding="utf-8")
            return path
        if servers is not None:
            data["servers"] = servers
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return path

    return write


def _server_entry(name: str, scaphandre: str, gpu: str | None = None, **extra: object) -> dict[str, object]:
    """One ``servers`` item shaped like the example's."""
    entry: dict[str, object] = {
        "name": name,
        "runner_tags": [f"tag-{name}"],
        "scaphandre": scaphandre,
        "hardware": {"cpu": {"name": "Intel Xeon Gold 6248", "units": 2}, "ram_gb": 192},
        **extra,
    }
    if gpu is not None:
        entry["gpu"] = gpu
        entry["hardware"] = {**entry["hardware"], "gpu": {"name": "NVIDIA A100 80GB", "units": 1}}  # type: ignore[dict-item]
    return entry


@pytest.fixture
def server_entry() -> Callable[..., dict[str, object]]:
    """Builds one ``servers`` item: ``server_entry(name, scaphandre_selector, gpu_selector=None, **keys)``."""
    return _server_entry


@pytest.fixture(scope="session")
def victoriametrics() -> Iterator[VictoriaMetricsServer]:
    """One VictoriaMetrics for the session (temporary storage, removed at the end)."""
    with start_victoriametrics() as server:
        yield server


class GeneratedPrometheus:
    """A real Prometheus running a ``prometheus.yml`` written by ``greenhack deploy prometheus-config``."""

    def __init__(self, config_dir: Path, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "prometheus.log"
        argv = [
            shutil.which("prometheus") or "prometheus",
            f"--config.file={config_dir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        try:
            wait_until_ready(
                f"{self.url}/-/ready", 30, name="prometheus", process=self.process, log_path=self.log_path
            )
        except Exception:
            self.stop()
            raise

    def log(self) -> str:
        return log_tail(self.log_path, 40)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture
def run_generated_prometheus(tmp_path: Path) -> Iterator[Callable[[Path], GeneratedPrometheus]]:
    started: list[GeneratedPrometheus] = []

    def run(config_dir: Path) -> GeneratedPrometheus:
        workdir = tmp_path / f"prom-{len(started)}"
        workdir.mkdir()
        server = GeneratedPrometheus(config_dir, workdir)
        started.append(server)
        return server

    yield run
    for server in started:
        server.stop()
