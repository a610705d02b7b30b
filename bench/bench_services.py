"""Start-up figures of the test bench's real services: how long until each answers.

Run: ``.venv/bin/python bench/bench_services.py [--repeat N]``. Prints one table; every figure is measured in
this run (median, min and max over the repeats), on this machine.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from greenhack.services.boavizta import BoaviztaServer
from greenhack.services.openmetrics import SeriesSamples, openmetrics_text
from greenhack.services.postgres import temporary_database
from greenhack.services.prometheus import PrometheusServer

__all__ = ["main"]


def _hour_of_power(now_s: float, series: int) -> str:
    """``series`` gauges sampled every second over the last hour (3,600 samples each)."""
    return openmetrics_text(
        [
            SeriesSamples(
                "scaph_host_power_microwatts",
                "gauge",
                {"instance": f"gpu-{i}:8080"},
                [(now_s - 3600 + s, 40e6 + s) for s in range(3600)],
            )
            for i in range(series)
        ]
    )


def _prometheus_figures(repeat: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {
        "Prometheus: start, empty storage": [],
        "Prometheus: backfill 10 series x 3,600 samples": [],
        "Prometheus: start on backfilled storage": [],
        "Prometheus: restart (stop + start)": [],
    }
    text = _hour_of_power(time.time(), 10)
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            server = PrometheusServer(workdir=Path(tmp))
            try:
                figures["Prometheus: start, empty storage"].append(server.start())
                server.stop()
                started = time.monotonic()
                server.backfill(text)
                figures["Prometheus: backfill 10 series x 3,600 samples"].append(time.monotonic() - started)
                figures["Prometheus: start on backfilled storage"].append(server.start())
                started = time.monotonic()
                server.restart()
                figures["Prometheus: restart (stop + start)"].append(time.monotonic() - started)
            finally:
                server.stop()
    return figures


def _boavizta_figures(repeat: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {"BoaviztAPI: start": [], "BoaviztAPI: restart (stop + start)": []}
    with tempfile.TemporaryDirectory() as tmp:
        server = BoaviztaServer(workdir=Path(tmp))
        try:
            for _ in range(repeat):
                figures["BoaviztAPI: start"].append(server.start())
                started = time.monotonic()
                server.restart()
                figures["BoaviztAPI: restart (stop + start)"].append(time.monotonic() - started)
                server.stop()
        finally:
            server.stop()
    return figures


def _timed(action: Callable[[], None], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.monotonic()
        action()
        out.append(time.monotonic() - started)
    return out


def _create_and_drop() -> None:
    with temporary_database(prefix="greenhack_bench"):
        pass


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="measurements per figure (default 3)")
    repeat = parser.parse_args().repeat
    figures = {
        **_prometheus_figures(repeat),
        **_boavizta_figures(repeat),
        "PostgreSQL: create + drop a temporary database": _timed(_create_and_drop, repeat),
    }
    width = max(len(name) for name in figures)
    print(f"{'figure (seconds)':<{width}}  {'median':>7}  {'min':>7}  {'max':>7}")
    for name, values in figures.items():
        print(f"{name:<{width}}  {statistics.median(values):7.2f}  {min(values):7.2f}  {max(values):7.2f}")


if __name__ == "__main__":
    main()
