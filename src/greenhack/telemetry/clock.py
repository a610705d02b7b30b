"""The offset between a GPU server's clock and Prometheus's, from node_exporter: ``measure_clock_offset``.

The script window is stamped by the server's clock (GitLab Runner's timestamps, the CI component's marks); the
samples are stamped by Prometheus's clock at scrape time. node_exporter's ``node_time_seconds`` is the server's
clock read during a scrape, and that sample's timestamp is Prometheus's clock at the scrape's start, so
``node_time_seconds - timestamp`` is the offset plus the time the scrape took to reach the collector. Prometheus
records each scrape's length (``scrape_duration_seconds``, same timestamp): the collector ran within it, so the
offset lies in ``[d - duration, d]``; the estimate is the middle of that interval and the bound its half width (plus
the millisecond Prometheus truncates timestamps to). ``node_timex_sync_status`` and ``node_timex_offset_seconds``
(node_exporter's ``timex`` collector, from the kernel's adjtimex) say whether NTP keeps the clock synchronised.

Metric names and meanings are node_exporter's own (``collector/time.go``, ``collector/timex.go``).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from greenhack.config import ServerConfig
from greenhack.telemetry.measure import SampleSource, fetch_margin
from greenhack.telemetry.models import Sample

__all__ = [
    "NODE_TIME_METRIC",
    "NTP_OFFSET_METRIC",
    "NTP_SYNC_METRIC",
    "SCRAPE_DURATION_METRIC",
    "ClockOffset",
    "clock_offset_from_samples",
    "measure_clock_offset",
]

NODE_TIME_METRIC = "node_time_seconds"
NTP_SYNC_METRIC = "node_timex_sync_status"
NTP_OFFSET_METRIC = "node_timex_offset_seconds"
SCRAPE_DURATION_METRIC = "scrape_duration_seconds"

_TIMESTAMP_TRUNCATION_S = 0.001  # Prometheus keeps sample timestamps in whole milliseconds


class ClockOffset(BaseModel):
    """A server's clock against Prometheus's around one window, or why it is not known.

    Attributes:
        server: the server's name in the event.
        known: an offset was measured.
        offset_s: the server's clock minus Prometheus's, seconds (positive: the server is ahead); None if unknown.
        uncertainty_s: half the width of the interval the offset surely lies in, seconds; None if unknown.
        samples: how many ``node_time_seconds`` samples were used.
        ntp_synchronised: False when any ``node_timex_sync_status`` sample around the window was 0 (the kernel
            says its clock is not synchronised); None when node_exporter's timex collector gave none.
        ntp_offset_s: the largest ``node_timex_offset_seconds`` in absolute value, seconds; None when absent.
        reason: why the offset is not known (for the organisers), None when it is.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    server: str
    known: bool
    offset_s: float | None = None
    uncertainty_s: float | None = None
    samples: int = 0
    ntp_synchronised: bool | None = None
    ntp_offset_s: float | None = None
    reason: str | None = None

    def to_prometheus_time(self, server_time: datetime) -> datetime:
        """A moment stamped by the server's clock, in Prometheus's clock (unchanged when the offset is unknown)."""
        return server_time - timedelta(seconds=self.offset_s or 0.0)

    def problem(self, *, max_offset: timedelta, required: bool) -> str | None:
        """Why a result measured with this offset must go to review, or None: an offset beyond ``max_offset``
        (``telemetry.max_clock_offset``), or none known when ``required`` (``telemetry.require_clock_offset``)."""
        limit_s = max_offset.total_seconds()
        if not self.known:
            if required:
                return (
                    f"the clock offset of server {self.server!r} is unknown ({self.reason}) and the event requires "
                    "one (telemetry.require_clock_offset)"
                )
            return None
        assert self.offset_s is not None
        if abs(self.offset_s) > limit_s:
            return (
                f"server {self.server!r}'s clock is {self.offset_s:+.3f} s (± {self.uncertainty_s or 0.0:.3f} s) from "
                f"Prometheus's, more than telemetry.max_clock_offset ({limit_s:g} s); the window was shifted by it"
            )
        return None


def clock_offset_from_samples(
    server: str,
    times: Sequence[Sample],
    *,
    durations: Sequence[Sample] = (),
    sync: Sequence[Sample] = (),
    ntp_offsets: Sequence[Sample] = (),
    max_latency_s: float = 1.0,
) -> ClockOffset:
    """The offset from raw samples (pure).

    Args:
        server: the server's name.
        times: ``node_time_seconds`` samples: (Prometheus's timestamp, the server's clock), seconds.
        durations: ``scrape_duration_seconds`` of the same target (matched to ``times`` by timestamp).
        sync: ``node_timex_sync_status`` samples.
        ntp_offsets: ``node_timex_offset_seconds`` samples.
        max_latency_s: the bound on how late in a scrape the collector ran, for samples with no recorded duration.
    """
    ntp_synchronised = None if not sync else all(s.value >= 0.5 for s in sync)
    ntp_offset_s = max((s.value for s in ntp_offsets), key=abs) if ntp_offsets else None
    if not times:
        return ClockOffset(
            server=server,
            known=False,
            ntp_synchronised=ntp_synchronised,
            ntp_offset_s=ntp_offset_s,
            reason=f"no {NODE_TIME_METRIC} sample around the window: is its node_exporter scraped?",
        )
    # one scrape's samples share its timestamp (Prometheus keeps milliseconds)
    duration_by_ms = {round(d.t_s * 1000): d.value for d in durations}

    def duration_at(t_s: float) -> float:
        return duration_by_ms.get(round(t_s * 1000), max_latency_s)

    estimates: list[float] = []
    half_widths: list[float] = []
    for sample in times:
        lag_s = sample.value - sample.t_s
        duration_s = duration_at(sample.t_s)
        estimates.append(lag_s - duration_s / 2)
        half_widths.append(duration_s / 2 + _TIMESTAMP_TRUNCATION_S)
    offset_s = statistics.median(estimates)
    # a clock that moved during the window (an NTP step) widens the bound by half the spread
    uncertainty_s = max(half_widths) + (max(estimates) - min(estimates)) / 2
    return ClockOffset(
        server=server,
        known=True,
        offset_s=offset_s,
        uncertainty_s=uncertainty_s,
        samples=len(times),
        ntp_synchronised=ntp_synchronised,
        ntp_offset_s=ntp_offset_s,
    )


def _samples(source: SampleSource, metric: str, selector: str, start: datetime, end: datetime) -> list[Sample]:
    return sorted(x for s in source.raw_samples(f"{metric}{selector}", start=start, end=end) for x in s.samples)


def measure_clock_offset(
    server: ServerConfig,
    start: datetime,
    end: datetime,
    *,
    source: SampleSource,
    scrape_interval: timedelta,
) -> ClockOffset:
    """The server's clock offset around [start, end] (Prometheus's clock), from its node_exporter.

    Samples are read from a little before to a little after the window (as the energy's:
    :func:`~greenhack.telemetry.measure.fetch_margin`).

    Returns:
        The offset, or ``known=False`` with the reason (no ``node_exporter`` selector, no sample).

    Raises:
        PrometheusUnavailable: Prometheus did not answer.
        TelemetryError: Prometheus refused a query.
    """
    if server.node_exporter is None:
        return ClockOffset(
            server=server.name, known=False, reason="the server has no node_exporter in the event YAML"
        )
    margin = fetch_margin(scrape_interval)
    a, b = start - margin, end + margin
    selector = server.node_exporter
    return clock_offset_from_samples(
        server.name,
        _samples(source, NODE_TIME_METRIC, selector, a, b),
        durations=_samples(source, SCRAPE_DURATION_METRIC, selector, a, b),
        sync=_samples(source, NTP_SYNC_METRIC, selector, a, b),
        ntp_offsets=_samples(source, NTP_OFFSET_METRIC, selector, a, b),
        max_latency_s=min(scrape_interval.total_seconds(), 10.0),
    )
