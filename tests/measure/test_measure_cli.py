"""`greenhack measure -- COMMAND`, run as a user runs it: a real process, its JSON report, its exit status."""

from __future__ import annotations

import json
import os
import re
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
    result = measure(["--powercap-root", str(tmp_path), "--json", "--", PY, "-c", "import sys; sys.exit(4)"])
    assert result.returncode == 4
    report = json.loads(result.stderr[result.stderr.index("{") :])
    assert report["exit_code"] == 4
    assert report["cpu_source"] == "estimate"


def test_given_tdp_is_used_for_the_estimate(tmp_path: Path) -> None:
    result = measure(
        ["--powercap-root", str(tmp_path), "--cpu-tdp-w", "64", "--cpu-threads", "8", "--json", "--", PY, "-c", "pass"]
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


def test_unreachable_boavizta_falls_back_to_the_shipped_factors(tmp_path: Path) -> None:
    # issue 18: as the demo does, the factors BoaviztAPI 2.5.0 gave for the demo's server, shipped with greenhack
    report_path = tmp_path / "report.json"
    args = ["--powercap-root", str(tmp_path), "-o", str(report_path), "--", PY, "-c", "sum(range(2_000_000))"]
    env = {"GREENHACK_BOAVIZTA_URL": "http://127.0.0.1:9", "GREENHACK_DATA_DIR": str(tmp_path / "data")}
    result = measure(["--config", str(DEMO_EVENT), *args], env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(report_path.read_text())
    assert report["impacts"] is not None, report["impacts_note"]
    assert "BoaviztAPI at http://127.0.0.1:9 did not answer" in report["impacts_note"]
    assert "shipped with greenhack" in report["impacts_note"]

    from greenhack.config import load_event
    from greenhack.impacts import impacts_from_factors
    from greenhack.measure.impacts import shipped_factors

    event = load_event(DEMO_EVENT)
    factors = shipped_factors(event.servers[0], event)
    assert factors is not None and factors.boavizta_version == "2.5.0"
    expected = impacts_from_factors(factors, event.impact, report["total_energy_j"], report["duration_s"])
    # the report writes energy and duration to 1e-6 J and s, so a job of ~0.1 J recomputes to within ~1e-5 of
    # the impacts computed from the unrounded figures (a factor's lookup going wrong would differ by far more)
    assert report["impacts"]["gwp_kgco2e"] == pytest.approx(expected.gwp.total, rel=1e-4)
    assert re.search(r"carbon +[\d.]+ [mµ]?gCO2e", result.stderr)

    # hardware the shipped factors do not cover: said, and the measurement kept
    other = tmp_path / "other.yaml"
    other.write_text(DEMO_EVENT.read_text().replace("Intel Xeon Gold 6248", "Intel Xeon Gold 6230"))
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "truth.csv").write_bytes((DEMO_EVENT.parent / "secrets" / "truth.csv").read_bytes())
    result = measure(["--config", str(other), *args], env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(report_path.read_text())
    assert report["impacts"] is None
    assert report["impacts_note"].startswith("impacts not computed: BoaviztAPI at http://127.0.0.1:9")
    assert "do not cover server 'demo-1' at FRA" in report["impacts_note"]
    assert report["total_energy_j"] > 0


def test_the_default_summary_reads_in_j_wh_and_says_what_was_estimated(tmp_path: Path) -> None:
    result = measure(["--powercap-root", str(tmp_path / "none"), "--no-gpu", "--", PY, "-c", "sum(range(10**6))"])
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("greenhack measure: ") and "{" not in result.stderr
    assert re.fullmatch(r"  energy +[\d.]+ J = [\d.]+ Wh \(average [\d.]+ m?W\)", lines[2]), lines[2]
    assert "estimate: no readable RAPL" in lines[3] and "memory not counted" in lines[3]
    assert lines[4].startswith("  GPU        –: not measured")
    assert "carbon     not computed: give --config EVENT.yaml" in result.stderr
    assert not re.search(r"\de[-+]\d", result.stderr)


def test_summary_of_a_rapl_measurement_says_memory_is_counted() -> None:
    from datetime import UTC, datetime

    from greenhack.measure.report import MeasureReport, SourceStatus
    from greenhack.measure.summary import summary_lines

    now = datetime(2026, 12, 1, tzinfo=UTC)
    report = MeasureReport(
        command=("python", "train.py"), exit_code=0, signal=None, started_at=now, finished_at=now,
        duration_s=12.5, cpu_time_s=11.0,
        sources=(SourceStatus("rapl", "cpu", True, "readable"), SourceStatus("nvml", "gpu", False, "no GPU")),
        cpu_energy_j=5400.0, gpu_energy_j=None, rapl_energy_j={"package-0": 5000.0, "dram-0": 400.0},
    )
    lines = summary_lines(report)
    assert lines[2] == "  energy     5400 J = 1.5 Wh (average 432 W)"
    assert lines[3] == "  CPU+memory 5400 J (1.5 Wh): measured by RAPL (dram-0, package-0); memory counted (RAPL DRAM domain)"
