"""Run one command and measure its energy: RAPL and NVML when readable, else the CPU-time estimate.

The meters start before the command and stop after it is reaped, so the window covers the whole run. While it
runs, every ``interval_s`` the meters are polled (which also keeps RAPL counters from wrapping twice unseen) and
``on_progress`` receives the energy so far.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType, ModuleType
from typing import IO, Any, Self

from greenhack.errors import MeasureError
from greenhack.measure.cpu_specs import CpuPower, cpu_power, local_cpu_model
from greenhack.measure.estimate import CpuTimeEstimate, ProcessTreeCpu, cpu_time_from_rusage_s
from greenhack.measure.nvml import NvmlMeter, NvmlProbe, probe_nvml
from greenhack.measure.rapl import DEFAULT_POWERCAP_ROOT, RaplMeter, probe_rapl
from greenhack.measure.report import EstimateDetails, MeasureReport, Progress, SourceName, SourceStatus

__all__ = ["FORWARDED_SIGNALS", "MeasureOptions", "run_measured"]

# Signals passed on to the command when greenhack receives them (SIGINT/SIGQUIT only when the terminal did not
# already send them to the command's process group).
FORWARDED_SIGNALS: tuple[signal.Signals, ...] = (
    signal.SIGINT,
    signal.SIGTERM,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGUSR1,
    signal.SIGUSR2,
)


@dataclass(frozen=True)
class MeasureOptions:
    """How to measure.

    Attributes:
        interval_s: seconds between two polls of the meters (and two progress updates).
        powercap_root: where RAPL zones live (tests point it at a fake tree).
        measure_gpu: whether to try NVML.
        nvml_loader: returns the ``pynvml`` module (tests pass a fake one); None imports the real one.
        cpu_tdp_w: a CPU TDP to use instead of the table, in watts (with ``cpu_threads``).
        cpu_threads: the hardware threads ``cpu_tdp_w`` is shared by.
        cpuinfo: where the CPU model name is read.
        forward_signals: pass SIGINT/SIGTERM/... on to the command (the CLI); when False a KeyboardInterrupt
            stops the command and propagates (a library caller such as the demo).
        cwd: the command's working directory.
        env: the command's environment (None: inherit).
        stdout: where the command's output goes (None: inherit).
        stderr: where the command's errors go (None: inherit).
        kill_grace_s: seconds between SIGTERM and SIGKILL when the command must be stopped.
        new_session: start the command in its own session and process group, so that stopping it stops every
            process it started, and none outlives it (the demo's jobs, as a CI runner does); False keeps it in
            the terminal's foreground group, so Ctrl-C and the terminal reach it directly (the CLI).
    """

    interval_s: float = 0.5
    powercap_root: Path = DEFAULT_POWERCAP_ROOT
    measure_gpu: bool = True
    nvml_loader: Callable[[], ModuleType] | None = None
    cpu_tdp_w: float | None = None
    cpu_threads: int | None = None
    cpuinfo: Path = Path("/proc/cpuinfo")
    forward_signals: bool = False
    cwd: Path | None = None
    env: Mapping[str, str] | None = None
    stdout: IO[Any] | None = None
    stderr: IO[Any] | None = None
    kill_grace_s: float = 5.0
    new_session: bool = False


def _terminal_sent_it() -> bool:
    """Whether a SIGINT/SIGQUIT we got was typed at the terminal, which sends it to our whole process group."""
    for fd in (0, 1, 2):
        try:
            if os.isatty(fd):
                return os.tcgetpgrp(fd) == os.getpgrp()
        except OSError:
            continue
    return False


class _SignalForwarder:
    def __init__(self, pid: int) -> None:
        self._pid = pid
        self._previous: dict[signal.Signals, Any] = {}

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if signum in (signal.SIGINT, signal.SIGQUIT) and _terminal_sent_it():
            return  # the command is in our process group and got it from the terminal too
        try:
            os.kill(self._pid, signum)
        except ProcessLookupError:
            pass

    def __enter__(self) -> Self:
        for sig in FORWARDED_SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *_exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _exit_code(status: int) -> tuple[int, str | None]:
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        return 128 - code, signal.Signals(-code).name
    return code, None


def _wait_or_sleep(pidfd: int | None, timeout_s: float) -> None:
    if pidfd is None:
        time.sleep(timeout_s)
        return
    select.select([pidfd], [], [], timeout_s)


def _signal(process: subprocess.Popen[bytes], sig: signal.Signals, *, group: bool) -> None:
    try:
        if group:
            os.killpg(process.pid, sig)
        else:
            os.kill(process.pid, sig)
    except ProcessLookupError:
        pass


def _stop(process: subprocess.Popen[bytes], grace_s: float, *, group: bool) -> tuple[int, Any]:
    """Terminate a command still running (SIGTERM, then SIGKILL after ``grace_s``) and reap it.

    With ``group``, the signals go to the command's whole process group.
    """
    _signal(process, signal.SIGTERM, group=group)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        pid, status, rusage = os.wait4(process.pid, os.WNOHANG)
        if pid == process.pid:
            return status, rusage
        time.sleep(0.05)
    _signal(process, signal.SIGKILL, group=group)
    _, status, rusage = os.wait4(process.pid, 0)
    return status, rusage


def run_measured(
    command: Sequence[str],
    *,
    options: MeasureOptions | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_start: Callable[[Callable[[], Progress]], None] | None = None,
) -> MeasureReport:
    """Run ``command``, measure it, and return the report (impacts are added by the caller).

    Args:
        command: the program and its arguments.
        options: how to measure (defaults: poll every 0.5 s, real RAPL and NVML).
        on_progress: called after every poll with the energy so far.
        on_start: called once the command started, with a thread-safe function that reads the meters *now*
            (an exporter serving the command's power reads it at each scrape); after the command ended it
            returns the last reading.

    Raises:
        MeasureError: the command could not be started (not found, not executable).
    """
    opts = options or MeasureOptions()
    if not command:
        raise MeasureError("no command to measure: write it after --, e.g. greenhack measure -- python train.py")

    rapl = probe_rapl(opts.powercap_root)
    if not opts.measure_gpu:
        nvml = NvmlProbe(None, "GPU measurement disabled (--no-gpu)")
    elif opts.nvml_loader is not None:
        nvml = probe_nvml(loader=opts.nvml_loader)
    else:
        nvml = probe_nvml()
    power = cpu_power(local_cpu_model(opts.cpuinfo), tdp_w=opts.cpu_tdp_w, threads=opts.cpu_threads)
    rapl_meter = RaplMeter(rapl.domains) if rapl.readable else None
    gpu_meter: NvmlMeter | None = nvml.meter
    try:
        return _run(command, opts, rapl_meter, rapl.reason, gpu_meter, nvml.reason, power, on_progress, on_start)
    finally:
        if gpu_meter is not None:
            gpu_meter.close()


def _run(
    command: Sequence[str],
    opts: MeasureOptions,
    rapl_meter: RaplMeter | None,
    rapl_reason: str,
    gpu_meter: NvmlMeter | None,
    nvml_reason: str,
    power: CpuPower,
    on_progress: Callable[[Progress], None] | None,
    on_start: Callable[[Callable[[], Progress]], None] | None,
) -> MeasureReport:
    if rapl_meter is not None:
        rapl_meter.begin()
    if gpu_meter is not None:
        gpu_meter.begin()
    started_at = datetime.now(UTC)
    t0 = time.monotonic()
    try:
        process = subprocess.Popen(
            list(command),
            cwd=opts.cwd,
            env=dict(opts.env) if opts.env is not None else None,
            stdout=opts.stdout,
            stderr=opts.stderr,
            start_new_session=opts.new_session,
        )
    except FileNotFoundError:
        raise MeasureError(f"command not found: {command[0]}") from None
    except PermissionError:
        raise MeasureError(f"command not executable: {command[0]}") from None
    except OSError as exc:
        raise MeasureError(f"cannot start {command[0]}: {exc.strerror}") from None

    tree = ProcessTreeCpu(process.pid)
    pidfd: int | None = None
    if hasattr(os, "pidfd_open"):
        try:
            pidfd = os.pidfd_open(process.pid)
        except OSError:
            pidfd = None
    forwarder = _SignalForwarder(process.pid) if opts.forward_signals else None
    lock = threading.Lock()
    last: list[Progress] = []
    source: SourceName = "rapl" if rapl_meter is not None else "estimate"

    def read_now() -> Progress:
        with lock:
            if last and status is not None:  # ended: the last reading stands
                return last[0]
            cpu_j = rapl_meter.poll() if rapl_meter is not None else tree.cpu_time_s() * power.power_per_thread_w
            gpu_j = gpu_meter.poll() if gpu_meter is not None else None
            last[:] = [Progress(time.monotonic() - t0, cpu_j, source, gpu_j)]
            return last[0]

    status: int | None = None
    rusage: Any = None
    try:
        if forwarder is not None:
            forwarder.__enter__()
        if on_start is not None:
            on_start(read_now)
        while True:
            pid, wait_status, wait_rusage = os.wait4(process.pid, os.WNOHANG)
            if pid == process.pid:
                with lock:
                    status, rusage = wait_status, wait_rusage
                break
            _wait_or_sleep(pidfd, opts.interval_s)
            progress = read_now()
            if on_progress is not None:
                on_progress(progress)
    finally:
        if forwarder is not None:
            forwarder.__exit__()
        if pidfd is not None:
            os.close(pidfd)
        if status is None:  # interrupted (KeyboardInterrupt, an error): stop the command, then propagate
            stopped_status, rusage = _stop(process, opts.kill_grace_s, group=opts.new_session)
            with lock:
                status = stopped_status
        elif opts.new_session:  # nothing the command started outlives it
            _signal(process, signal.SIGKILL, group=True)
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    duration_s = time.monotonic() - t0
    finished_at = datetime.now(UTC)
    exit_code, signal_name = _exit_code(status)
    # wait4 is exact for the command and every descendant it reaped; the /proc peak adds descendants that ran
    # but were reparented away before the end
    cpu_time_s = max(cpu_time_from_rusage_s(rusage), tree.peak_s)

    sources: list[SourceStatus] = []
    estimate = CpuTimeEstimate(cpu_time_s, power.power_per_thread_w)
    rapl_energy_j: dict[str, float] = {}
    if rapl_meter is not None:
        with lock:
            cpu_energy_j = rapl_meter.poll()
        rapl_energy_j = rapl_meter.energy_j_by_domain()
        sources.append(SourceStatus("rapl", "cpu", True, rapl_reason))
        estimate_details = None
    else:
        cpu_energy_j = estimate.energy_j
        sources.append(SourceStatus("rapl", "cpu", False, rapl_reason))
        sources.append(
            SourceStatus(
                "estimate",
                "cpu",
                True,
                f"fallback estimate, not a measurement: CPU time {cpu_time_s:.3f} s x "
                f"{power.power_per_thread_w:.2f} W per hardware thread ({power.source})",
            )
        )
        estimate_details = EstimateDetails(power.cpu_model, power.power_per_thread_w, power.source)
    if gpu_meter is not None:
        with lock:
            gpu_energy_j: float | None = gpu_meter.poll()
        gpus = tuple(gpu_meter.per_gpu())
        sources.append(SourceStatus("nvml", "gpu", True, nvml_reason))
    else:
        gpu_energy_j, gpus = None, ()
        sources.append(SourceStatus("nvml", "gpu", False, f"{nvml_reason}; GPU energy not measured"))
    return MeasureReport(
        command=tuple(command),
        exit_code=exit_code,
        signal=signal_name,
        started_at=started_at,
        finished_at=finished_at,
        duration_s=duration_s,
        cpu_time_s=cpu_time_s,
        sources=tuple(sources),
        cpu_energy_j=cpu_energy_j,
        gpu_energy_j=gpu_energy_j,
        rapl_energy_j=rapl_energy_j,
        gpus=gpus,
        estimate=estimate_details,
    )
