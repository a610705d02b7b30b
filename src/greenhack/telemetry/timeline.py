"""Power timelines for the leaderboard's charts: per component, at most a few hundred (time, power_w) points."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from greenhack.telemetry.integrate import Interval
from greenhack.telemetry.models import PowerTimeline

__all__ = ["MAX_POINTS", "build_timeline", "downsample", "interval_points"]

MAX_POINTS = 300


def interval_points(intervals: Sequence[Interval], start_s: float, end_s: float) -> list[tuple[float, float]]:
    """(time, mean power W) at the end of each interval overlapping [start_s, end_s], clipped to the window."""
    points: list[tuple[float, float]] = []
    for iv in intervals:
        if iv.end_s <= start_s or iv.start_s >= end_s:
            continue
        points.append((min(max(iv.end_s, start_s), end_s), iv.power_w))
    return points


def downsample(points: Sequence[tuple[float, float]], max_points: int = MAX_POINTS) -> list[tuple[float, float]]:
    """At most ``max_points`` points: consecutive points are averaged in equal-count buckets.

    Averaging (rather than picking) keeps the area under the curve, so a chart's visual energy stays honest.
    """
    if max_points < 1:
        raise ValueError("max_points must be at least 1")
    n = len(points)
    if n <= max_points:
        return list(points)
    out: list[tuple[float, float]] = []
    for b in range(max_points):
        lo, hi = b * n // max_points, (b + 1) * n // max_points
        chunk = points[lo:hi]
        out.append((sum(t for t, _ in chunk) / len(chunk), sum(p for _, p in chunk) / len(chunk)))
    return out


def build_timeline(series: dict[str, Sequence[tuple[float, float]]], max_points: int = MAX_POINTS) -> PowerTimeline:
    """A PowerTimeline from per-series (Unix seconds, W) points, each downsampled to ``max_points``."""
    return PowerTimeline(
        series={
            name: [(datetime.fromtimestamp(t, tz=UTC), round(p, 3)) for t, p in downsample(points, max_points)]
            for name, points in series.items()
        }
    )
