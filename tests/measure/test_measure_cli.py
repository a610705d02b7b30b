"""`greenhack measure -- COMMAND`, run as a user runs it: a real process, its JSON report, its exit status."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

GREENHACK = str(Path(sys.executable).parent / "greenhack")
PY = sys.executable
REPO = Path(__file__).resolve().parents[2]
DEMO_EVENT = REPO / "examples" / "demo" / "event.yaml"


def measure(
    args: list[str], *, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GREENHACK, "measure", *args],
        capture_output=True,
        check=False,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def test_report_fields_and_the_named_fallback_without_rapl(tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    result = measure(
        [
            "--powercap-root",
            str(tmp_path / "no-rapl-here"),
            "--no-gpu",
            "-o",
            str(report_path),
            "--",
            PY,
            "-c",
            "print('hello from the command'); sum(i * i for i in range(2_000_000))",
        ]
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello from the command\n"  # the command's stdout is left alone
    report: dict[str, Any] = json.loads(report_path.read_text())
    assert report["command"][1:] == [
        "-c",
        "print('hello from the command'); sum(i * i for i in range(2_000_000))",
    ]
    assert report["exit_code"] == 0 and report["signal"] is None
    assert report["duration_s"] > 0
    assert report["cpu_time_s"] > 0.05
    assert report["cpu_source"] == "estimate"
    assert report["cpu_energy_j"] == pytest.approx(
        report["cpu_time_s"] * report["estimate"]["power_per_thread_w"], rel=1e-4
    )
    assert report["gpu_energy_j"] is None
    assert report["total_energy_j"] == report["cpu_energy_j"]
    sources = {(s["source"], s["component"]): s for s in report["energy_sources"]}
    assert sources["rapl", "cpu"]["used"] is False
    assert "no-rapl-here does not exist" in sources["rapl", "cpu"]["reason"]
    assert sources["estimate", "cpu"]["used"] is True
    assert sources["estimate", "cpu"]["reason"].startswith("fallback estimate, not a measurement: CPU time")
    assert "W per hardware thread" in sources["estimate", "cpu"]["reason"]
    assert sources["nvml", "gpu"]["used"] is False
    assert report["estimate"]["formula"] == "cpu_energy_j = cpu_time_s x power_per_thread_w"
    assert report["impacts"] is None and "no --config" in report["impacts_note"]
    assert "estimate: no readable RAPL" in result.stderr


def test_report_goes_to_stderr_and_the_exit_status_is_the_commands(tmp_path: Path) -> None:
    result = measure(["--powercap-root", str(tmp_path), "--", PY, "-c", "import sys; sys.exit(4)"])
    assert result.returncode == 4
    report = json.loads(result.stderr[result.stderr.index("{") :])
    assert report["exit_code"] == 4
    assert report["cpu_source"] == "estimate"


def test_given_tdp_is_used_for_the_estimate(tmp_path: Path) -> None:
    result = measure(
        ["--powercap-root", str(tmp_path), "--cpu-tdp-w", "64", "--cpu-threads", "8", "--", PY, "-c", "pass"]
    )
    report = json.loads(result.stderr[result.stderr.index("{") :])
    assert report["estimate"]["power_per_thread_w"] == 8.0
    assert "given TDP 64 W shared by 8 hardware threads" in report["estimate"]["power_source"]


def test_a_missing_command_exits_127_without_a_traceback() -> None:
    result = measure(["--", "no-such-command-for-greenhack"])
    assert result.returncode == 127
    assert "command not found: no-such-command-for-greenhack" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("sig", "code", "name"), [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "SIGINT")]
)
def test_signals_are_forwarded_to_the_command(
    tmp_path: Path, sig: signal.Signals, code: int, name: str
) -> None:
    ready = tmp_path / "ready"
    report_path = tmp_path / "report.json"
    script = f"import time\nopen({str(ready)!r}, 'w').close()\ntime.sleep(60)\n"
    process = subprocess.Popen(
        [
            GREENHACK,
            "measure",
            "--powercap-root",
            str(tmp_path),
            "-o",
            str(report_path),
            "--",
            PY,
            "-c",
            script,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ready.exists()
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=30)

    assert process.returncode == code, stderr
    report = json.loads(report_path.read_text())
    assert (report["exit_code"], report["signal"]) == (code, name)


def test_impacts_with_the_events_methodology(tmp_path: Path, boavizta_url: str) -> None:
    report_path = tmp_path / "report.json"
    result = measure(
        [
            "--config",
            str(DEMO_EVENT),
            "--powercap-root",
            str(tmp_path),
            "-o",
            str(report_path),
            "--",
            PY,
            "-c",
            "sum(range(3_000_000))",
        ],
        env={"GREENHACK_BOAVIZTA_URL": boavizta_url, "GREENHACK_DATA_DIR": str(tmp_path / "data")},
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(report_path.read_text())
    impacts = report["impacts"]
    assert impacts is not None, report["impacts_note"]
    assert (impacts["server"], impacts["pue"], impacts["location"]) == ("demo-1", 1.3, "FRA")
    assert impacts["criterion"] == "gwp" and impacts["criterion_unit"] == "kgCO2e"
    assert impacts["gwp_kgco2e"] > 0 and impacts["criterion_value"] == impacts["gwp_kgco2e"]
    assert "PUE 1.3 at FRA" in report["impacts_note"]


def test_unreachable_boavizta_is_said_and_the_measurement_kept(tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    result = measure(
        [
            "--config",
            str(DEMO_EVENT),
            "--powercap-root",
            str(tmp_path),
            "-o",
            str(report_path),
            "--",
            PY,
            "-c",
            "pass",
        ],
        env={"GREENHACK_BOAVIZTA_URL": "http://127.0.0.1:9", "GREENHACK_DATA_DIR": str(tmp_path / "data")},
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(report_path.read_text())
    assert report["impacts"] is None
    assert report["impacts_note"].startswith("impacts not computed: BoaviztAPI at http://127.0.0.1:9")
    assert report["total_energy_j"] > 0
