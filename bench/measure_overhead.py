"""How much `greenhack measure` slows the command it measures, and how its CPU time compares with the kernel's.

Runs one CPU-bound Python command N times directly and N times under ``run_measured`` at several polling
intervals (alternating, so load drifts hit both alike), then prints the median wall time of each and the ratio,
plus the CPU time the report gives next to the CPU time the kernel accounts for the direct runs
(``RUSAGE_CHILDREN``).

    .venv/bin/python bench/measure_overhead.py [--runs 5] [--seconds 1.0]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from greenhack.measure import MeasureOptions, run_measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0, help="CPU seconds the command burns")
    args = parser.parse_args()
    command = [sys.executable, "-c",
               f"import time\nt=time.process_time()\nwhile time.process_time()-t<{args.seconds}: pass\n"]
    no_rapl = Path(tempfile.mkdtemp()) / "none"  # the same code path on every machine: the CPU-time estimate
    intervals = (0.1, 0.25, 0.5)
    direct_wall: list[float] = []
    direct_cpu: list[float] = []
    measured: dict[float, list[tuple[float, float]]] = {i: [] for i in intervals}
    for _ in range(args.runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        subprocess.run(command, check=True)
        direct_wall.append(time.monotonic() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        direct_cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        for interval in intervals:
            t0 = time.monotonic()
            report = run_measured(command, options=MeasureOptions(interval_s=interval, powercap_root=no_rapl,
                                                                  measure_gpu=False))
            measured[interval].append((time.monotonic() - t0, report.cpu_time_s))
    base = statistics.median(direct_wall)
    print(f"command: burn {args.seconds:g} CPU s in Python; {args.runs} runs each; medians")
    print(f"{'mode':<24} {'wall s':>8} {'vs direct':>10} {'cpu s':>8} {'cpu vs kernel':>14}")
    print(f"{'direct (subprocess.run)':<24} {base:8.3f} {1.0:10.3f} {statistics.median(direct_cpu):8.3f} {'-':>14}")
    kernel_cpu = statistics.median(direct_cpu)
    for interval, rows in measured.items():
        wall = statistics.median(w for w, _ in rows)
        cpu = statistics.median(c for _, c in rows)
        print(f"{'measure, poll ' + format(interval, 'g') + ' s':<24} {wall:8.3f} {wall / base:10.3f} {cpu:8.3f} "
              f"{cpu / kernel_cpu:14.3f}")


if __name__ == "__main__":
    main()
