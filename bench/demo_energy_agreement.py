"""How close the platform's energy (scraped exporter, integrated by greenhack.telemetry) comes to the energy
measured on the machine, for demo-like jobs: the edge effect the demo's output mentions, as figures.

A job drawing a constant power starts and stops abruptly at a random phase of the scrape schedule; the demo's
MeasuredPowerTrace serves it through the simulated Scaphandre; SimulatedPrometheus holds the scrapes; the
platform's measure_energy integrates them. Printed: the median and worst relative error per job duration and
scrape interval (negative: the platform counts less than was measured).

    .venv/bin/python bench/demo_energy_agreement.py [--jobs 40]
"""

from __future__ import annotations

import argparse
import random
import statistics
from datetime import UTC, datetime, timedelta

from greenhack.config import load_event
from greenhack.demo.stack import target_labels
from greenhack.demo.teams import demo_event_dir
from greenhack.demo.telemetry import MeasuredPowerTrace, SimulatedPrometheus
from greenhack.telemetry import SCAPHANDRE, measure_energy
from greenhack.telemetry.simulator import ExporterSim, SimDevice


def relative_error(duration_s: float, interval_s: float, phase_s: float, power_w: float = 5.0) -> float:
    server = load_event(demo_event_dir() / "event.yaml").servers[0]
    start_s = 1_780_000_000.0 + phase_s
    end_s = start_s + duration_s
    trace = MeasuredPowerTrace()
    trace.finished(start_s, end_s, [], power_w * duration_s)
    sim = ExporterSim(SCAPHANDRE, (SimDevice(trace.snapshot()),), target_labels=target_labels(server))
    now_s = end_s + 10 * interval_s + 5
    source = SimulatedPrometheus([sim], start_s=1_780_000_000.0 - 60, end_s=now_s, interval_s=interval_s,
                                 clock=lambda: now_s)
    energy = measure_energy(server, datetime.fromtimestamp(start_s, tz=UTC), datetime.fromtimestamp(end_s, tz=UTC),
                            source=source, scrape_interval=timedelta(seconds=interval_s),
                            now=datetime.fromtimestamp(now_s, tz=UTC))
    return energy.total_energy_j / (power_w * duration_s) - 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=40, help="random phases per cell")
    args = parser.parse_args()
    rng = random.Random(7)
    durations = (2.0, 5.0, 10.0, 30.0, 120.0)
    intervals = (0.5, 1.0, 5.0)
    print(f"relative error of the platform's energy vs the measured energy, {args.jobs} random phases per cell")
    print(f"{'job s':>6} " + " ".join(f"{f'scrape {i:g}s median/worst':>28}" for i in intervals))
    for duration in durations:
        cells = []
        for interval in intervals:
            errors = [relative_error(duration, interval, rng.uniform(0, interval)) for _ in range(args.jobs)]
            worst = max(errors, key=abs)
            cells.append(f"{statistics.median(errors):+13.2%} / {worst:+9.2%}")
        print(f"{duration:6g} " + " ".join(f"{c:>28}" for c in cells))


if __name__ == "__main__":
    main()
