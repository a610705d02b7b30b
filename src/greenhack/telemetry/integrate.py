"""Pure integration of raw samples into the energy of a window (no I/O; times in Unix seconds, SI units).

Every estimator first turns samples into contiguous :class:`Interval` s whose energy is known, then attributes the
parts of the intervals that straddle the window edges.

* Energy counters (``intervals_from_counter``): the energy of (t[i-1], t[i]] is E[i] - E[i-1], exactly. A
  decrease is reported as a :class:`CounterDrop` (a RAPL wrap or a driver reset) and leaves a hole that the caller
  may bridge with the power gauge (``bridge_drops``).
* Interval-average gauges (Scaphandre, ``intervals_from_average_gauge``): the sample at t[i] is the mean power
  over (t[i-1], t[i]], so that interval's energy is P[i] * (t[i] - t[i-1]), exactly.
* Trailing-average gauges (nvidia-smi's and DCGM's power, a 1 s average ending at the read on Ampere and newer,
  ``intervals_from_trailing_gauge``): the sample at t[i] is the mean power over (t[i] - w, t[i]], so that stretch's
  energy is P[i] * w, exactly. Between two such stretches (the scrape interval minus w) nothing was seen: that
  *inferred* interval gets the energy of the straight line through the two stretches' centres (for a step at an
  unknown, uniformly distributed place it is the unbiased estimate too), and the uncertainty module says how far
  it can be off. Scraping at 1 s, the stretches tile time and the gauge is as exact as Scaphandre's.
* Point gauges (an instantaneous reading, ``intervals_from_point_gauge``): a sample is the power at its
  (lag-corrected) time; power is taken as linear between samples (the trapezoid rule).

Edge attribution (``integrate``): an interval wholly inside the window counts in full. For an interval cut by an
edge we only know its mean power; we assume a profile with that mean, chosen from the neighbouring intervals:

1. *step*: both neighbours are known, the interval's mean lies between them, and neither outer neighbour continues
   the jump's direction by more than 25 % of the jump (flat on both sides, or turning back as after a short pulse;
   a ramp continues). Power is then the left level up to a time tau
   and the right level after it, with tau set so the mean is exact. Exact for one step inside the interval between
   flat stretches (a job starting or ending inside a scrape interval).
2. *linear*: otherwise, power is linear with the interval's mean and the minmod of the slopes towards the
   neighbours' means (zero at a local extremum). Exact on ramps; never overshoots the neighbours.
3. *constant*: when no neighbour is known, power is the interval's mean.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from greenhack.telemetry.models import Sample

__all__ = [
    "CounterDrop",
    "GapReport",
    "Interval",
    "bridge_drops",
    "gap_report",
    "integrate",
    "intervals_from_average_gauge",
    "intervals_from_counter",
    "intervals_from_point_gauge",
    "intervals_from_trailing_gauge",
    "partial_energy_and_alternative",
    "stale_counter_runs",
]

# neighbours whose bounds differ by less than this are contiguous (Prometheus keeps milliseconds)
_CONTIGUOUS_S = 1e-6
# a neighbour is "flat" when it differs from its own outer neighbour by at most this share of the jump
_FLAT_SHARE = 0.25


@dataclass(frozen=True)
class Interval:
    """A stretch (start_s, end_s] whose energy is known.

    Attributes:
        start_s: start, Unix seconds.
        end_s: end, Unix seconds.
        energy_j: energy over the stretch, joules.
        start_power_w: power at the start when the source gives point values (linear profile inside); else None.
        end_power_w: power at the end, with ``start_power_w``.
        inferred: no sample saw this stretch: its energy is an estimate from its neighbours (a trailing-average
            gauge's unobserved part of a scrape interval), not a measurement.
        overlap_s: the stretch just before ``start_s`` that this sample's window shared with the previous one
            (a trailing-average gauge scraped at about its window); the shared part's split between the two is an
            estimate, so it counts like an unobserved stretch of that length.
    """

    start_s: float
    end_s: float
    energy_j: float
    start_power_w: float | None = None
    end_power_w: float | None = None
    inferred: bool = False
    overlap_s: float = 0.0

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def power_w(self) -> float:
        """Mean power over the interval, watts."""
        return self.energy_j / self.duration_s


@dataclass(frozen=True)
class CounterDrop:
    """A decrease of an energy counter between two samples (values in joules)."""

    start_s: float
    end_s: float
    before_j: float
    after_j: float


def intervals_from_counter(samples: Sequence[Sample]) -> tuple[list[Interval], list[CounterDrop]]:
    """Intervals from an energy counter's samples (joules), and the places where the counter went down.

    Args:
        samples: the counter's samples in time order, values in joules.

    Returns:
        The intervals between consecutive samples whose counter did not decrease, and one CounterDrop per decrease
        (no interval is produced there: its energy is unknown from the counter alone).
    """
    intervals: list[Interval] = []
    drops: list[CounterDrop] = []
    for prev, cur in pairwise(samples):
        if cur.t_s <= prev.t_s:
            continue
        delta = cur.value - prev.value
        if delta < 0:
            drops.append(CounterDrop(prev.t_s, cur.t_s, prev.value, cur.value))
            continue
        intervals.append(Interval(prev.t_s, cur.t_s, delta))
    return intervals, drops


def intervals_from_average_gauge(samples: Sequence[Sample]) -> list[Interval]:
    """Intervals from a gauge whose sample at t[i] is the mean power (W) over (t[i-1], t[i]] (Scaphandre)."""
    return [
        Interval(prev.t_s, cur.t_s, cur.value * (cur.t_s - prev.t_s))
        for prev, cur in pairwise(samples)
        if cur.t_s > prev.t_s
    ]


def intervals_from_point_gauge(samples: Sequence[Sample], *, lag_s: float = 0.0) -> list[Interval]:
    """Intervals from a gauge of point power values (W), linear between samples (trapezoid rule).

    Args:
        samples: the gauge's samples in time order, values in watts.
        lag_s: how far before its timestamp each value is centred (0.5 s for a 1 s average ending at the read).
    """
    shifted = [Sample(s.t_s - lag_s, s.value) for s in samples]
    intervals = [
        Interval(a.t_s, b.t_s, 0.5 * (a.value + b.value) * (b.t_s - a.t_s), a.value, b.value)
        for a, b in pairwise(shifted)
        if b.t_s > a.t_s
    ]
    if samples and lag_s > 0:
        # the last sample is the mean over the stretch just before its timestamp: hold it up to that timestamp,
        # so a window ending at the newest sample is covered to its end
        last = samples[-1]
        intervals.append(Interval(last.t_s - lag_s, last.t_s, last.value * lag_s, last.value, last.value))
    return intervals


def intervals_from_trailing_gauge(samples: Sequence[Sample], *, window_s: float) -> list[Interval]:
    """Intervals from a gauge whose sample at t[i] is the mean power (W) over (t[i] - window_s, t[i]].

    Each sample gives a measured interval of ``window_s`` ending at its timestamp. Between two consecutive
    measured intervals, the unobserved stretch becomes an ``inferred`` interval on the straight line through the
    two measured intervals' centres (values at its start and end kept, so edges cut it linearly). When two
    windows overlap (jitter at a scrape of about the window), the later one is clipped at the previous sample and
    the shared stretch, at the mean of the two windows (exact on a ramp), is taken off its energy, so it counts
    once (``overlap_s`` records how long it was).

    Args:
        samples: the gauge's samples in time order, values in watts.
        window_s: the sensor's averaging window (1 s for NVML's power on Ampere and newer).
    """
    intervals: list[Interval] = []
    previous: Sample | None = None
    for cur in samples:
        if previous is not None and cur.t_s <= previous.t_s:
            continue
        seen_from = cur.t_s - window_s
        if previous is not None and seen_from > previous.t_s + _CONTIGUOUS_S:
            left_mid, right_mid = previous.t_s - 0.5 * window_s, cur.t_s - 0.5 * window_s
            slope = (cur.value - previous.value) / (right_mid - left_mid)
            start_w = previous.value + slope * (previous.t_s - left_mid)
            end_w = previous.value + slope * (seen_from - left_mid)
            gap_s = seen_from - previous.t_s
            intervals.append(
                Interval(previous.t_s, seen_from, 0.5 * (start_w + end_w) * gap_s, start_w, end_w, inferred=True)
            )
            intervals.append(Interval(seen_from, cur.t_s, cur.value * window_s))
        elif previous is not None:
            overlap_s = previous.t_s - seen_from
            shared_j = overlap_s * 0.5 * (previous.value + cur.value)
            energy_j = max(0.0, cur.value * window_s - shared_j)
            intervals.append(Interval(previous.t_s, cur.t_s, energy_j, overlap_s=max(0.0, overlap_s)))
        else:
            intervals.append(Interval(seen_from, cur.t_s, cur.value * window_s))
        previous = cur
    return intervals


def bridge_drops(
    intervals: Sequence[Interval], drops: Sequence[CounterDrop], gauge: Sequence[Interval]
) -> tuple[list[Interval], list[CounterDrop]]:
    """Fill the holes a counter's drops left with the energy the power gauge gives over the same stretch.

    A hole is bridged only when the gauge's intervals cover it without a gap.

    Returns:
        The counter intervals with bridged holes inserted (time order), and the drops that could not be bridged.
    """
    bridged = list(intervals)
    unbridged: list[CounterDrop] = []
    for drop in drops:
        if _covered(gauge, drop.start_s, drop.end_s):
            bridged.append(Interval(drop.start_s, drop.end_s, integrate(gauge, drop.start_s, drop.end_s)))
        else:
            unbridged.append(drop)
    bridged.sort(key=lambda iv: iv.start_s)
    return bridged, unbridged


def _covered(intervals: Sequence[Interval], start_s: float, end_s: float) -> bool:
    reached = start_s
    for iv in intervals:
        if iv.end_s <= reached:
            continue
        if iv.start_s > reached + _CONTIGUOUS_S:
            return False
        reached = iv.end_s
        if reached >= end_s - _CONTIGUOUS_S:
            return True
    return reached >= end_s - _CONTIGUOUS_S


# ---------------------------------------------------------------------------------------------------------------
# Integration with edge attribution
# ---------------------------------------------------------------------------------------------------------------


def integrate(intervals: Sequence[Interval], start_s: float, end_s: float) -> float:
    """Energy (joules) over [start_s, end_s] from time-ordered intervals; parts outside any interval count 0.

    Intervals wholly inside count in full; an interval cut by an edge contributes the integral of its
    reconstructed power profile over its part inside (see the module docstring).
    """
    total = 0.0
    for k, iv in enumerate(intervals):
        lo = max(iv.start_s, start_s)
        hi = min(iv.end_s, end_s)
        if hi <= lo:
            continue
        if lo <= iv.start_s and hi >= iv.end_s:
            total += iv.energy_j
        else:
            total += _partial_energy(intervals, k, lo, hi)
    return total


def _neighbour(intervals: Sequence[Interval], k: int, step: int) -> Interval | None:
    """The measured interval ``step`` places away (-2, -1, 1, 2) when every interval in between is contiguous.

    Inferred intervals are looked through: their power is only an interpolation of the measured ones around
    them, so the levels on each side of an edge are those of the measured neighbours.
    """
    j = k
    direction = 1 if step > 0 else -1
    found = 0
    while found < abs(step):
        nxt = j + direction
        if nxt < 0 or nxt >= len(intervals):
            return None
        a, b = (intervals[j], intervals[nxt]) if direction > 0 else (intervals[nxt], intervals[j])
        if abs(b.start_s - a.end_s) > _CONTIGUOUS_S:
            return None
        j = nxt
        if not intervals[j].inferred:
            found += 1
    return intervals[j]


def _linear_integral(iv: Interval, lo: float, hi: float, start_w: float, end_w: float) -> float:
    slope = (end_w - start_w) / iv.duration_s
    p_lo = start_w + slope * (lo - iv.start_s)
    p_hi = start_w + slope * (hi - iv.start_s)
    return 0.5 * (p_lo + p_hi) * (hi - lo)


def _partial_energy(intervals: Sequence[Interval], k: int, lo: float, hi: float) -> float:
    return partial_energy_and_alternative(intervals, k, lo, hi)[0]


def partial_energy_and_alternative(
    intervals: Sequence[Interval], k: int, lo: float, hi: float
) -> tuple[float, float]:
    """The energy of [lo, hi] inside interval k by the profile chosen (module docstring), and by the next most
    plausible one: the linear profile when a step was chosen, the flat one when a linear was. How far apart
    they are says how much the choice itself is worth (the uncertainty module reads it)."""
    iv = intervals[k]
    if iv.start_power_w is not None and iv.end_power_w is not None:
        chosen = _linear_integral(iv, lo, hi, iv.start_power_w, iv.end_power_w)
        return chosen, chosen
    mean = iv.power_w
    left, right = _neighbour(intervals, k, -1), _neighbour(intervals, k, 1)
    slope = _minmod_slope(iv, left, right)
    mid = 0.5 * (iv.start_s + iv.end_s)
    linear = mean * (hi - lo) + 0.5 * slope * ((hi - mid) ** 2 - (lo - mid) ** 2)
    if left is not None and right is not None:
        step = _step_profile(intervals, k, left, right)
        if step is not None:
            tau, left_w, right_w = step
            return left_w * max(0.0, min(hi, tau) - lo) + right_w * max(0.0, hi - max(lo, tau)), linear
    return linear, mean * (hi - lo)


def _step_profile(
    intervals: Sequence[Interval], k: int, left: Interval, right: Interval
) -> tuple[float, float, float] | None:
    """(tau, left_w, right_w) when interval k looks like one step between flat neighbours; else None."""
    iv = intervals[k]
    left_w, right_w, mean = left.power_w, right.power_w, iv.power_w
    jump = right_w - left_w
    if abs(jump) <= 1e-9 * max(1.0, abs(left_w), abs(right_w)):
        return None
    if not (min(left_w, right_w) <= mean <= max(left_w, right_w)):
        return None
    # a ramp keeps going the jump's way beyond the neighbours; a step is flat there (or turns back: a short pulse)
    tolerance = _FLAT_SHARE * abs(jump)
    direction = 1.0 if jump > 0 else -1.0
    outer_left, outer_right = _neighbour(intervals, k, -2), _neighbour(intervals, k, 2)
    if outer_left is not None and (left_w - outer_left.power_w) * direction > tolerance:
        return None
    if outer_right is not None and (outer_right.power_w - right_w) * direction > tolerance:
        return None
    tau = iv.start_s + (right_w - mean) / (right_w - left_w) * iv.duration_s
    return tau, left_w, right_w


def _minmod_slope(iv: Interval, left: Interval | None, right: Interval | None) -> float:
    if left is None or right is None:
        return 0.0
    slope_left = (iv.power_w - left.power_w) / (0.5 * (iv.duration_s + left.duration_s))
    slope_right = (right.power_w - iv.power_w) / (0.5 * (iv.duration_s + right.duration_s))
    if slope_left * slope_right <= 0:
        return 0.0
    return math.copysign(min(abs(slope_left), abs(slope_right)), slope_left)


# ---------------------------------------------------------------------------------------------------------------
# Coverage
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GapReport:
    """How well samples cover a window.

    Attributes:
        coverage: fraction (0..1) of the window inside stretches between consecutive samples no longer than the
            allowed gap (and inside the sampled span at all).
        max_gap_s: the largest distance between consecutive samples among those spanning the window, counting
            the stretch from the window's start to the first sample when none precedes it, and from the last
            sample to the end when none follows it.
        gaps: the (start_s, end_s) of each stretch longer than the allowed gap that overlaps the window.
        sample_before_start: a sample exists at or before the start.
        sample_after_end: a sample exists at or after the end.
    """

    coverage: float
    max_gap_s: float
    gaps: tuple[tuple[float, float], ...]
    sample_before_start: bool
    sample_after_end: bool


def gap_report(times_s: Sequence[float], start_s: float, end_s: float, *, max_gap_s: float) -> GapReport:
    """Coverage of [start_s, end_s] by sample times, gaps longer than ``max_gap_s`` counting as uncovered."""
    window = end_s - start_s
    times = sorted(times_s)
    before = [t for t in times if t <= start_s]
    after = [t for t in times if t >= end_s]
    inside = [t for t in times if start_s < t < end_s]
    points = ([before[-1]] if before else [start_s]) + inside + ([after[0]] if after else [end_s])
    covered = 0.0
    largest = 0.0
    gaps: list[tuple[float, float]] = []
    for i, (a, b) in enumerate(pairwise(points)):
        length = b - a
        largest = max(largest, length)
        overlap = max(0.0, min(b, end_s) - max(a, start_s))
        open_edge = (i == 0 and not before) or (i == len(points) - 2 and not after)
        if length > max_gap_s or open_edge or not times:
            if overlap > 0 or length > max_gap_s:
                gaps.append((a, b))
            continue
        covered += overlap
    coverage = covered / window if window > 0 else 0.0
    return GapReport(
        coverage=min(1.0, max(0.0, coverage)),
        max_gap_s=largest,
        gaps=tuple(gaps),
        sample_before_start=bool(before),
        sample_after_end=bool(after),
    )


def stale_counter_runs(
    samples: Sequence[Sample], start_s: float, end_s: float, *, max_flat_s: float
) -> list[tuple[float, float]]:
    """Stretches overlapping the window where a counter kept exactly the same value for longer than ``max_flat_s``.

    A powered device's energy counter always increases, so such a run means the exporter served stale values.
    """
    runs: list[tuple[float, float]] = []
    i = 0
    while i < len(samples):
        j = i
        while j + 1 < len(samples) and samples[j + 1].value == samples[i].value:
            j += 1
        a, b = samples[i].t_s, samples[j].t_s
        if b - a > max_flat_s and b > start_s and a < end_s:
            runs.append((a, b))
        i = j + 1
    return runs
