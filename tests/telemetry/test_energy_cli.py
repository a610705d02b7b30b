"""greenhack energy: the example event's server, measured from a real Prometheus backfilled by the simulator."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from greenhack.cli import app
from greenhack.services.ports import free_port
from greenhack.telemetry import NVIDIA_SMI, SCAPHANDRE
from greenhack.telemetry.simulator import ExporterSim, SimDevice, job_trace, openmetrics

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "event.yaml"
UUID = "GPU-0c3b2a19-8f1e-4d7a-b6c5-9e8d7f6a5b4c"


@pytest.fixture(scope="module")
def example(prometheus_factory: Callable[..., object], tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The example event's gpu-1 (Scaphandre + nvidia_gpu_exporter, 5 s scrape) running a 90 s job."""
    folder = tmp_path_factory.mktemp("event")
    shutil.copy(EXAMPLE, folder / "event.yaml")
    (folder / "secrets").mkdir()
    shutil.copy(EXAMPLE.parent / "secrets" / "truth.csv", folder / "secrets" / "truth.csv")
    t0 = math.floor(time.time()) - 1800.0
    start_s, end_s = t0 + 60.123456, t0 + 150.654321
    cpu_trace = job_trace("steps", start_s, end_s, idle_w=95.0, load_w=210.0, seed=3)
    gpu_trace = job_trace("noise", start_s, end_s, idle_w=60.0, load_w=320.0, seed=4)
    cpu = ExporterSim(SCAPHANDRE, (SimDevice(cpu_trace, counter_offset_j=7e4),),
                      target_labels={"instance": "gpu-1:8080", "job": "scaphandre"})
    gpu = ExporterSim(NVIDIA_SMI, (SimDevice(gpu_trace, uuid=UUID),), with_counter=False,
                      target_labels={"instance": "gpu-1:9835", "job": "nvidia_gpu"})
    server = prometheus_factory(openmetrics([cpu, gpu], t0, t0 + 240.0, 5.0, jitter_s=0.02))
    return {
        "config": folder / "event.yaml",
        "url": server.url,  # type: ignore[attr-defined]
        "start": datetime.fromtimestamp(start_s, tz=UTC).isoformat(),
        "end": datetime.fromtimestamp(end_s, tz=UTC).isoformat(),
        "cpu_j": cpu_trace.energy_j(start_s, end_s),
        "gpu_j": gpu_trace.energy_j(start_s, end_s),
    }


def invoke(example: dict[str, object], *extra: str) -> tuple[int, str, str]:
    args = ["energy", "--config", str(example["config"]), "--server", "gpu-1", "--start", str(example["start"]),
            "--end", str(example["end"]), "--prometheus", str(example["url"]), *extra]
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.stdout, result.stderr


def test_json_has_the_documented_keys_and_the_true_energy(example: dict[str, object]) -> None:
    code, out, _ = invoke(example, "--format", "json")
    assert code == 0, out
    data = json.loads(out)
    for key in ("server", "start", "end", "duration_s", "cpu_joules", "gpu_joules", "gpus", "total_joules",
                "coverage", "max_gap_s", "valid", "problems"):
        assert key in data
    assert data["server"] == "gpu-1" and data["valid"] is True and data["problems"] == []
    assert data["start"] == example["start"] and data["duration_s"] == pytest.approx(90.530865, abs=1e-6)
    assert data["cpu_joules"] == pytest.approx(example["cpu_j"], rel=0.01)
    assert list(data["gpus"]) == [UUID]
    assert data["gpu_joules"] == pytest.approx(example["gpu_j"], rel=0.03)
    assert data["total_joules"] == pytest.approx(data["cpu_joules"] + data["gpu_joules"])
    assert data["coverage"] == 1.0 and data["max_gap_s"] < 5.1
    assert data["methods"] == {"cpu": "counter", f"gpu:{UUID}": "gauge"}


def test_json_bounds_the_total_by_its_interval_and_its_parts(example: dict[str, object]) -> None:
    code, out, _ = invoke(example, "--format", "json")
    assert code == 0, out
    data = json.loads(out)
    low, total, high = data["total_joules_low"], data["total_joules"], data["total_joules_high"]
    assert low < total < high
    truth = example["cpu_j"] + example["gpu_j"]  # type: ignore[operator]
    assert low <= truth <= high
    parts = data["uncertainty"]
    assert parts["confidence"] == 0.95
    assert parts["edges_joules"] == 0.0  # the window as given on the command line is exact
    # the GPU is a gauge alone here: its unobserved seconds cost something, and NVIDIA's +/- 5 W sensor term too
    assert parts["integration_joules"] > 0 and parts["sensor_joules"] > 0
    assert high - total == pytest.approx(parts["total_joules"])
    assert parts["total_joules"] == pytest.approx(
        (parts["integration_joules"] ** 2 + parts["edges_joules"] ** 2 + parts["sensor_joules"] ** 2) ** 0.5
    )
    gpu = data["gpus"][UUID]
    assert gpu["joules_low"] < gpu["joules"] < gpu["joules_high"]
    assert data["cpu_joules_low"] < data["cpu_joules"] < data["cpu_joules_high"]


def test_table_format(example: dict[str, object]) -> None:
    code, out, _ = invoke(example)
    assert code == 0
    assert "CPU+DRAM" in out and UUID in out and "total" in out and "valid" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2026-12-01T10:00:00"], "has no UTC offset"),
        (["--start", "yesterday"], "is not an ISO 8601 time"),
        (["--server", "gpu-9"], "no server 'gpu-9'"),
    ],
)
def test_bad_input_exits_2(example: dict[str, object], args: list[str], message: str) -> None:
    code, _, err = invoke(example, *args)
    assert code == 2
    assert message in err


def test_unreachable_prometheus_exits_3_with_one_line(example: dict[str, object]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "greenhack", "energy", "--config", str(example["config"]), "--server", "gpu-1",
         "--start", str(example["start"]), "--end", str(example["end"]),
         "--prometheus", f"http://127.0.0.1:{free_port()}"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "unreachable" in lines[0] and "Traceback" not in result.stderr
