"""The demo server's telemetry: the simulated Scaphandre exporter serves the power *measured* on each team's run.

:class:`MeasuredPowerTrace` turns the measurements of the runs (RAPL or the CPU-time estimate, sampled while each
run goes) into the host power curve the exporter simulator serves: 0 W between jobs, each job's measured power
during it, in pieces whose integral over each job is exactly the measured energy.

The platform then reads the host's telemetry exactly as in production:

* when the ``prometheus`` binary is installed, a real Prometheus scrapes :class:`LiveScaphandre`, which serves
  Scaphandre's host metrics read from the running job's meters at each scrape, as Scaphandre reads RAPL;
* otherwise :class:`SimulatedPrometheus` holds what Prometheus would have stored: the exporter simulator's
  scrapes of the measured curve at the scrape interval, with the target labels Prometheus adds, answering the
  same calls as :class:`~greenhack.telemetry.PrometheusClient`.

Either way :func:`greenhack.telemetry.measure_energy` integrates the samples; nothing is computed on the side.
"""

from __future__ import annotations

import itertools
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from greenhack.errors import TelemetryError
from greenhack.measure.report import Progress
from greenhack.telemetry.models import Sample, SampleSeries
from greenhack.telemetry.prometheus import to_unix_s
from greenhack.telemetry.simulator import Constant, ExporterSim, PowerTrace

__all__ = ["LiveScaphandre", "MeasuredPowerTrace", "SimulatedPrometheus", "parse_selector", "power_segments"]

# readings closer than this to the end of a job are merged into the last piece (no spike from a tiny interval)
_MIN_PIECE_S = 0.05


def power_segments(
    start_s: float, end_s: float, readings: Sequence[tuple[float, float]], total_energy_j: float
) -> list[Constant]:
    """Constant-power pieces of one job whose integral over [start_s, end_s] is ``total_energy_j``.

    Args:
        start_s: the job's start, Unix seconds.
        end_s: the job's end, Unix seconds.
        readings: (Unix seconds, cumulative energy since the start in joules) read while the job ran.
        total_energy_j: the job's measured energy, joules.
    """
    points = [(start_s, 0.0)]
    for t_s, energy_j in readings:
        if points[-1][0] + _MIN_PIECE_S <= t_s <= end_s - _MIN_PIECE_S and energy_j >= points[-1][1]:
            points.append((t_s, min(energy_j, total_energy_j)))
    points.append((end_s, total_energy_j))
    return [
        Constant(a_s, b_s, (b_j - a_j) / (b_s - a_s))
        for (a_s, a_j), (b_s, b_j) in itertools.pairwise(points)
        if b_s > a_s
    ]


class MeasuredPowerTrace:
    """The demo host's power curve, built from the jobs' measurements (thread-safe).

    Args:
        baseline_w: the power served between jobs, in watts.
    """

    def __init__(self, baseline_w: float = 0.0) -> None:
        self._baseline_w = baseline_w
        self._done: list[Constant] = []
        self._lock = threading.Lock()

    def finished(
        self, start_s: float, end_s: float, readings: Sequence[tuple[float, float]], energy_j: float
    ) -> None:
        """A job ran over [start_s, end_s] and used ``energy_j`` joules (``readings``: (Unix s, cumulative J))."""
        pieces = power_segments(start_s, end_s, readings, energy_j) if end_s > start_s else []
        with self._lock:
            self._done.extend(pieces)

    def snapshot(self) -> PowerTrace:
        """The curve as known now."""
        with self._lock:
            return PowerTrace(self._baseline_w, tuple(self._done))


# --------------------------------------------------------------------------------------------------------------
# A live exporter of the measured host, for a real Prometheus to scrape
# --------------------------------------------------------------------------------------------------------------


class LiveScaphandre:
    """Scaphandre's host metrics for the demo host, read from the measurement at each scrape.

    Like Scaphandre reading RAPL when it is scraped, each ``/metrics`` request reads the running job's meters
    *now* (the function :func:`greenhack.measure.run_measured` hands to ``on_start``) and serves
    ``scaph_host_energy_microjoules`` (the host's energy since the demo started: jobs done plus the running job so
    far, integer µJ, never decreasing) and ``scaph_host_power_microwatts`` (the mean power since the previous
    scrape, µW), with Scaphandre's names, types and units.
    """

    def __init__(self) -> None:
        self._done_j = 0.0
        self._read: Callable[[], Progress] | None = None
        self._last_counter_uj = 0
        self._last_time_s: float | None = None
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def job_started(self, read_now: Callable[[], Progress]) -> None:
        """A job runs; ``read_now`` reads its energy so far."""
        with self._lock:
            self._read = read_now

    def job_finished(self, energy_j: float) -> None:
        """The running job ended having used ``energy_j`` joules."""
        with self._lock:
            self._done_j += energy_j
            self._read = None

    def exposition(self, now_s: float) -> str:
        """The ``/metrics`` text at a scrape at ``now_s`` (Unix seconds)."""
        with self._lock:
            energy_j = self._done_j
            if self._read is not None:
                progress = self._read()
                energy_j += progress.cpu_energy_j + (progress.gpu_energy_j or 0.0)
            counter_uj = max(self._last_counter_uj, math.floor(energy_j * 1e6))
            if self._last_time_s is None or now_s <= self._last_time_s:
                power_uw = 0.0
            else:
                power_uw = (counter_uj - self._last_counter_uj) / (now_s - self._last_time_s)
            self._last_counter_uj, self._last_time_s = counter_uj, now_s
        return (
            "# HELP scaph_host_power_microwatts Power measurement on the whole host, in microwatts\n"
            "# TYPE scaph_host_power_microwatts gauge\n"
            f"scaph_host_power_microwatts {round(power_uw)}\n"
            "# HELP scaph_host_energy_microjoules Energy measurement for the whole host, as extracted from the "
            "sensor, in microjoules.\n"
            "# TYPE scaph_host_energy_microjoules counter\n"
            f"scaph_host_energy_microjoules {counter_uj}\n"
        )

    def serve(self) -> str:
        """Serve ``/metrics`` on a free loopback port in a thread; returns ``host:port``."""
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404)
                    return
                body = exporter.exposition(time.time()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="live-scaphandre", daemon=True).start()
        port = self._server.server_address[1]
        return f"127.0.0.1:{port}"

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


# --------------------------------------------------------------------------------------------------------------
# Prometheus's view of the simulator, without Prometheus
# --------------------------------------------------------------------------------------------------------------

_SELECTOR = re.compile(r"^\s*(?P<metric>[a-zA-Z_:][a-zA-Z0-9_:]*)?\s*(?:\{(?P<body>.*)\})?\s*$", re.DOTALL)
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')


@dataclass(frozen=True)
class _Matcher:
    label: str
    op: str
    value: str

    def matches(self, labels: dict[str, str]) -> bool:
        have = labels.get(self.label, "")
        if self.op == "=":
            return have == self.value
        if self.op == "!=":
            return have != self.value
        found = re.fullmatch(self.value, have) is not None
        return found if self.op == "=~" else not found


def parse_selector(selector: str) -> tuple[str | None, tuple[_Matcher, ...]]:
    """``metric{label="v", other=~"re"}`` -> (metric, matchers); double-quoted values only.

    Raises:
        TelemetryError: not an instant vector selector.
    """
    match = _SELECTOR.match(selector)
    if match is None:
        raise TelemetryError(f"not a series selector: {selector!r}")
    body = (match.group("body") or "").strip()
    matchers: list[_Matcher] = []
    pos = 0
    while pos < len(body):
        item = _MATCHER.match(body, pos)
        if item is None:
            raise TelemetryError(f"cannot read the label matchers of {selector!r} at character {pos + 1}")
        label, op, value = item.groups()
        matchers.append(_Matcher(label, op, value.encode().decode("unicode_escape")))
        pos = item.end()
    return match.group("metric"), tuple(matchers)


class SimulatedPrometheus:
    """What a Prometheus scraping the given simulated exporters every ``interval_s`` would hold.

    Samples are the simulator's own scrapes (:meth:`ExporterSim.scrapes`) with each exporter's target labels added,
    as Prometheus adds ``instance`` and ``job``; values stay in the exporters' units. It answers the calls the
    evaluation makes of :class:`~greenhack.telemetry.PrometheusClient`: ``raw_samples``, ``query`` (instant
    selectors) and ``latest_sample_time``.

    A sample exists only once its scrape time has passed (``clock``), as in a live Prometheus, so the evaluation
    waits for the scrape after a window's end just as it does in production.

    Args:
        sims: the exporters, with their ``target_labels``.
        start_s: the first scrape, Unix seconds.
        end_s: the last scrape, Unix seconds.
        interval_s: the scrape interval, seconds.
        clock: the present, Unix seconds.
    """

    def __init__(
        self,
        sims: Iterable[ExporterSim],
        *,
        start_s: float,
        end_s: float,
        interval_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        series: dict[tuple[str, tuple[tuple[str, str], ...]], list[Sample]] = {}
        for sim in sims:
            for t_s, families in sim.scrapes(start_s, end_s, interval_s):
                for metric, rows in families.items():
                    for labels, value in rows:
                        key = (metric, tuple(sorted({**labels, **sim.target_labels}.items())))
                        series.setdefault(key, []).append(Sample(t_s, float(value)))
        self._series = {key: tuple(sorted(samples)) for key, samples in series.items()}

    def _matching(self, selector: str) -> list[tuple[str, dict[str, str], tuple[Sample, ...]]]:
        metric, matchers = parse_selector(selector)
        now_s = self._clock()
        found = []
        for (name, label_items), samples in self._series.items():
            labels = dict(label_items)
            if (metric is None or name == metric) and all(m.matches(labels) for m in matchers):
                found.append((name, labels, tuple(s for s in samples if s.t_s <= now_s)))
        return found

    def raw_samples(self, selector: str, *, start: datetime, end: datetime) -> list[SampleSeries]:
        """Every sample of the matching series with a timestamp in [start, end], exporter units."""
        start_s, end_s = to_unix_s(start), to_unix_s(end)
        if end_s <= start_s:
            raise TelemetryError("raw_samples needs start < end")
        return [
            SampleSeries(name, labels, tuple(s for s in samples if start_s - 1e-3 <= s.t_s <= end_s + 1e-3))
            for name, labels, samples in self._matching(selector)
        ]

    def query(self, promql: str, *, at: datetime | None = None) -> list[SampleSeries]:
        """An instant selector at ``at``: the newest sample of each matching series in the 5 minutes before it."""
        at_s = to_unix_s(at) if at is not None else datetime.now(UTC).timestamp()
        out = []
        for name, labels, samples in self._matching(promql):
            recent = [s for s in samples if at_s - 300.0 <= s.t_s <= at_s]
            if recent:
                out.append(SampleSeries(name, labels, (Sample(at_s, recent[-1].value),)))
        return out

    def latest_sample_time(self, selector_metric: str) -> datetime | None:
        """The newest sample's time among the matching series, or None when there is none."""
        times = [samples[-1].t_s for _, _, samples in self._matching(selector_metric) if samples]
        return datetime.fromtimestamp(max(times), tz=UTC) if times else None
