"""run_measured on real processes: exit codes, signals, CPU time of a process tree, RAPL and NVML sources."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest
from measure_helpers import MakeZone, fake_pynvml

from greenhack.errors import MeasureError
from greenhack.measure import MeasureOptions, Progress, run_measured

PY = sys.executable
BURN = "import time\nt=time.process_time()\nwhile time.process_time()-t<{s}: pass\n"


def no_rapl(tmp_path: Path, **kwargs: object) -> MeasureOptions:
    return MeasureOptions(powercap_root=tmp_path / "no-powercap", measure_gpu=False, interval_s=0.1, **kwargs)  # type: ignore[arg-type]


def test_estimate_counts_the_cpu_time_of_children_and_grandchildren(tmp_path: Path) -> None:
    # the command burns 0.3 s itself and starts a child that burns 0.4 s
    script = (
        "import subprocess, sys\n"
        f"child = subprocess.Popen([sys.executable, '-c', {BURN.format(s=0.4)!r}])\n"
        + BURN.format(s=0.3)
        + "child.wait()\n"
    )
    seen: list[Progress] = []
    report = run_measured([PY, "-c", script], options=no_rapl(tmp_path), on_progress=seen.append)

    assert report.exit_code == 0
    assert report.cpu_time_s >= 0.7
    assert report.cpu_time_s < 0.7 + 1.0  # interpreter start-up of two Pythons, not more
    assert report.cpu_source == "estimate"
    assert report.estimate is not None
    assert report.cpu_energy_j == pytest.approx(report.cpu_time_s * report.estimate.power_per_thread_w)
    assert report.gpu_energy_j is None
    assert report.total_energy_j == report.cpu_energy_j
    # the live figures grow and stay below the final one
    energies = [p.cpu_energy_j for p in seen]
    assert energies == sorted(energies)
    assert energies and energies[-1] <= report.cpu_energy_j + 1e-9
    assert all(p.cpu_source == "estimate" for p in seen)
    assert report.finished_at > report.started_at


def test_exit_code_and_signal_are_reported(tmp_path: Path) -> None:
    assert run_measured([PY, "-c", "import sys; sys.exit(3)"], options=no_rapl(tmp_path)).exit_code == 3
    killed = run_measured(
        [PY, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"], options=no_rapl(tmp_path)
    )
    assert (killed.exit_code, killed.signal) == (143, "SIGTERM")


def test_a_command_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(MeasureError, match="command not found: no-such-command-x"):
        run_measured(["no-such-command-x"], options=no_rapl(tmp_path))
    with pytest.raises(MeasureError, match="no command"):
        run_measured([], options=no_rapl(tmp_path))


def test_an_interrupted_measurement_stops_the_command(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    script = f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(60)\n"

    def interrupt(progress: Progress) -> None:
        if pid_file.exists() and progress.elapsed_s > 0.3:
            raise KeyboardInterrupt

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_measured([PY, "-c", script], options=no_rapl(tmp_path, kill_grace_s=2.0), on_progress=interrupt)
    assert time.monotonic() - started < 10
    pid = int(pid_file.read_text())
    assert not Path(f"/proc/{pid}").exists()  # stopped and reaped, no zombie left


def test_rapl_counters_are_used_when_readable(tmp_path: Path, make_zone: MakeZone, powercap: Path) -> None:
    zone = make_zone("intel-rapl:0", "package-0", energy_uj=1_000_000)
    stop = threading.Event()

    def draw_10_watts() -> None:  # a fake package drawing 10 W, updated every 10 ms
        start, value = time.monotonic(), 1_000_000
        while not stop.is_set():
            value = 1_000_000 + int((time.monotonic() - start) * 10_000_000)
            (zone / "energy_uj.new").write_text(f"{value}\n")
            os.replace(zone / "energy_uj.new", zone / "energy_uj")  # atomic, as sysfs reads are
            time.sleep(0.01)

    writer = threading.Thread(target=draw_10_watts)
    writer.start()
    try:
        report = run_measured(
            [PY, "-c", "import time; time.sleep(0.6)"],
            options=MeasureOptions(powercap_root=powercap, measure_gpu=False, interval_s=0.1),
        )
    finally:
        stop.set()
        writer.join()
    assert report.cpu_source == "rapl"
    assert report.estimate is None
    assert report.cpu_energy_j == pytest.approx(10.0 * report.duration_s, abs=1.0)
    assert set(report.rapl_energy_j) == {"package-0"}
    rapl = next(s for s in report.sources if s.source == "rapl")
    assert rapl.used and "package-0" in rapl.reason


def test_gpus_are_measured_through_nvml(tmp_path: Path) -> None:
    module = fake_pynvml(
        [
            {
                "name": "NVIDIA A100 80GB PCIe",
                "uuid": "GPU-1234",
                "energy_mj": [0, 0, 2_000, 5_000],
                "power_mw": [0],
            }
        ]
    )
    report = run_measured(
        [PY, "-c", "pass"],
        options=MeasureOptions(
            powercap_root=tmp_path / "none",
            nvml_loader=lambda: module,  # type: ignore[arg-type,return-value]
            interval_s=5.0,
        ),
    )
    assert report.gpu_energy_j is not None and report.gpu_energy_j > 0
    assert [g.uuid for g in report.gpus] == ["GPU-1234"]
    assert report.total_energy_j == pytest.approx(report.cpu_energy_j + report.gpu_energy_j)
    assert any(s.source == "nvml" and s.used for s in report.sources)
    assert module.state["shutdown"] == 1


def test_in_its_own_session_nothing_the_command_started_outlives_it(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    # the command starts a grandchild that would sleep for a minute, and exits at once
    script = (
        "import subprocess, sys\n"
        f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
    )
    report = run_measured([PY, "-c", script], options=no_rapl(tmp_path, new_session=True))
    assert report.exit_code == 0
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while Path(f"/proc/{grandchild}").exists() and time.monotonic() < deadline:
        state = Path(f"/proc/{grandchild}/stat").read_text()
        if state[state.rfind(")") + 2] == "Z":
            break  # killed; waiting for init to reap it
        time.sleep(0.05)
    assert not Path(f"/proc/{grandchild}").exists() or "Z" in Path(f"/proc/{grandchild}/stat").read_text().split()[2]
