"""How sure an energy figure is: the three parts of its interval, each computed apart (pure; SI units).

1. **Integration** (:func:`integration_half_width_j`): what the samples leave open.

   * A stretch that no sample saw (the unobserved part of a trailing-average gauge's scrape interval, an
     ``inferred`` :class:`~greenhack.telemetry.integrate.Interval`) of length u, between two sensor windows of
     length w whose means vary with variance σ² from one window to the next, can hold anything the load does
     there. With fluctuations faster than the sensor's window (what a training loop's iterations are), its energy
     varies by σ²·u·w around its mean level, and the straight-line estimate between the two windows adds
     σ²·u²/2: variance σ²·(u·w + u²/2). σ² is read from the samples themselves: second differences of
     consecutive window means have variance 6σ² for such noise, and a step between two samples raises the three
     nearest second differences, so an unseen step widens the stretches next to it (conservatively: by about
     1.7 in standard deviation against a step at a uniformly unknown place).
   * A measured interval (a counter's difference, Scaphandre's average, a gauge's own window) cut by an edge
     has an exact energy but an unknown split: the part inside, a fraction f, varies by σ²·D²·f·(1 − f) for
     such noise (D its length). Here σ² is the *median* over the second differences inside the window (scaled
     to the mean of white noise), so a step, which the edge reconstruction attributes exactly when it is alone
     between flat neighbours (:mod:`greenhack.telemetry.integrate`), does not widen it. What the choice of
     profile itself is worth is the distance d to the next most plausible profile (linear for a step, flat
     for a linear one), read as uniform within ± d of the chosen: d²/3.
   * A part of the window with no interval at all (no sample before the start, after the end, or an outage)
     could hold from nothing to twice the power around it: uniform, variance (P·u)²/3.
   * A counter's resolution (one unit at each of the two readings that bound the window) adds q²/6; a gauge's
     (its printed step r) adds (r·D)²/12 for each measured interval of length D in the window.

   σ² comes from a handful of samples in a short window, so its half-width uses Student's t at the effective
   degrees of freedom of the second differences that fed it (neighbouring second differences are correlated:
   n of them carry about n / 1.94 degrees of freedom), never fewer than one.

2. **Window edges** (:func:`edges_half_width_j`): the true start and end lie within ± the marks' resolution of
   the edges given, independently, and the clock that wrote them may be off Prometheus's by up to a bound,
   which moves both edges together. With P the power at an edge, the variance is
   ((P_start·r_start)² + (P_end·r_end)² + ((P_end − P_start)·b)²) / 3 (each bound read as uniform).

3. **Sensor** (:data:`SENSOR_ACCURACY`, :func:`sensor_half_width_j`): the accuracy the vendors document,
   a systematic term: every job on the same device shares it, so, like BoaviztAPI's factor range, it cannot
   reorder two jobs of one server. A bound ±a is read as uniform: a / √3.

Each part is a standard uncertainty u; its half-width at confidence c is k·u with k the two-sided normal
quantile (1.96 at 0.95; Student's t for the integration, see above). The parts are independent, so an interval's
half-width is the root of the sum of their squares (:class:`~greenhack.telemetry.models.EnergyUncertainty`).
"""

from __future__ import annotations

import math
import statistics
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from greenhack.telemetry.integrate import Interval, partial_energy_and_alternative
from greenhack.telemetry.models import EdgeTiming, EnergyUncertainty

__all__ = [
    "COUNTER_RESOLUTION_J",
    "DEFAULT_CONFIDENCE",
    "GAUGE_RESOLUTION_W",
    "SENSOR_ACCURACY",
    "SensorAccuracy",
    "combine_components",
    "coverage_factor",
    "edge_power_w",
    "edges_half_width_j",
    "integration_half_width_j",
    "sensor_half_width_j",
    "student_t_factor",
]

DEFAULT_CONFIDENCE = 0.95
"""The confidence of every interval unless the caller asks for another."""

# Neighbouring second differences of a white sequence are correlated (-2/3 at lag 1, 1/6 at lag 2), so n of
# them estimate a variance with n / (1 + 2 (4/9 + 1/36)) degrees of freedom.
_DOF_PER_SECOND_DIFFERENCE = 1.0 / (1.0 + 2.0 * (4.0 / 9.0 + 1.0 / 36.0))
# the median of a chi-square(1) variable over its mean: turns the median of squared second differences into the
# mean a white sequence would give
_MEDIAN_CHI2_1 = 0.4549364231195724
_TREND_SPAN = 2  # jumps on each side that the local trend of an unobserved stretch reads
# a jump further than this many standard deviations from the trend is a step, not noise
_STEP_Z = 3.0
# the mean of a squared standard normal given it lies within ±_STEP_Z (what trimming the steps leaves)
_TRUNCATED_MEAN_SHARE = 1.0 - 2.0 * _STEP_Z * math.exp(-0.5 * _STEP_Z**2) / math.sqrt(2.0 * math.pi) / (
    2.0 * statistics.NormalDist().cdf(_STEP_Z) - 1.0
)
# consecutive de-trended jumps of white noise are correlated (-1/2 at lag 1): n of them carry n / 1.5 degrees
_DOF_PER_JUMP = 1.0 / 1.5


@dataclass(frozen=True)
class SensorAccuracy:
    """A sensor's documented accuracy, as a bound: ± (``relative`` × energy + ``absolute_w`` × duration).

    Attributes:
        relative: the share of the reading it can be off by (0.05 for ±5 %).
        absolute_w: the power it can be off by at any moment, watts (±5 W for NVIDIA's boards).
        source: where the figure comes from, for the board's explanation and for whoever checks it.
    """

    relative: float
    absolute_w: float
    source: str


_NVIDIA_BOARD = SensorAccuracy(
    relative=0.0,
    absolute_w=5.0,
    source=(
        "NVIDIA, nvidia-smi --help-query-gpu (driver 535), power.draw, power.draw.average and power.draw.instant: "
        "'This reading is accurate to within +/- 5 watts.' (power.draw: 'On Ampere or newer devices, returns "
        "average power draw over 1 sec.'). NVML's nvmlDeviceGetPowerUsage, which dcgm-exporter and "
        "nvidia_gpu_exporter read, documents '+/- 5% of current power draw' for Fermi and Kepler only, and "
        "nvmlDeviceGetTotalEnergyConsumption (the energy counters, mJ since the driver loaded, Volta and newer) "
        "documents no accuracy of its own: it accumulates the same board sensor, so the same +/- 5 W applies."
    ),
)

SENSOR_ACCURACY: Mapping[str, SensorAccuracy] = MappingProxyType(
    {
        "scaphandre": SensorAccuracy(
            relative=0.05,
            absolute_w=0.0,
            source=(
                "Intel documents no accuracy for RAPL's energy status (Intel SDM vol. 3B, section 14.9: units "
                "only, 15.3 uJ by default). Validations against reference meters find RAPL tracking them with an "
                "offset that varies between systems: Desrochers, Paradis and Weaver, 'A Validation of DRAM RAPL "
                "Power Measurements', MEMSYS 2016, doi:10.1145/2989081.2989088 ('match overall energy and power "
                "trends, usually by a constant power offset'); Hackenberg et al., 'An Energy Efficiency Feature "
                "Survey of the Intel Haswell Processor', IPDPSW 2015, doi:10.1109/IPDPSW.2015.70 (RAPL 'moves "
                "from modeling to actual measurement' on Haswell-EP); Khan et al., 'RAPL in Action', ACM TOMPECS "
                "3(2) 2018, doi:10.1145/3177754 ('highly correlated with plug power'). None states one figure; "
                "+/- 5 % of the reading is greenhack's assumption, to be replaced by a calibration of the server."
            ),
        ),
        "nvidia_smi": _NVIDIA_BOARD,
        "dcgm": _NVIDIA_BOARD,
    }
)
"""Each exporter's sensor accuracy, by profile name (``scaphandre``, ``nvidia_smi``, ``dcgm``)."""

GAUGE_RESOLUTION_W: Mapping[str, float] = MappingProxyType(
    {
        # Scaphandre serves integer microwatts
        "scaphandre": 1e-6,
        # nvidia_gpu_exporter parses nvidia-smi's CSV, which prints power.draw with two decimals ("52.12 W")
        "nvidia_smi": 1e-2,
        # NVML's nvmlDeviceGetPowerUsage counts milliwatts, which dcgm-exporter serves in watts
        "dcgm": 1e-3,
    }
)
"""The step of each exporter's power gauge, watts."""

COUNTER_RESOLUTION_J: Mapping[str, float] = MappingProxyType(
    {
        # RAPL counts in energy status units of 15.3 uJ by default (Intel SDM vol. 3B, MSR_RAPL_POWER_UNIT)
        "scaphandre": 15.3e-6,
        # NVML counts millijoules (nvmlDeviceGetTotalEnergyConsumption); dcgm-exporter serves them as integers
        "dcgm": 1e-3,
        "nvidia_smi": 1e-3,
    }
)
"""The step of each exporter's energy counter, joules."""


def coverage_factor(confidence: float) -> float:
    """The two-sided normal quantile k for ``confidence`` (1.96 at 0.95)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
    return statistics.NormalDist().inv_cdf(0.5 + 0.5 * confidence)


def student_t_factor(confidence: float, dof: float) -> float:
    """The two-sided Student's t quantile for ``confidence`` at ``dof`` degrees of freedom (>= 1).

    Fisher and Cornish's expansion in 1/dof (Abramowitz and Stegun 26.7.5), within 1 % of the exact value
    from 3 degrees of freedom on; below, the exact closed forms for 1 and 2 degrees are used.
    """
    z = coverage_factor(confidence)
    nu = max(1.0, dof)
    p = 0.5 + 0.5 * confidence
    if nu < 1.5:
        return math.tan(math.pi * (p - 0.5))
    if nu < 2.5:
        alpha = 4.0 * p * (1.0 - p)
        return 2.0 * (p - 0.5) * math.sqrt(2.0 / alpha)
    g1 = (z**3 + z) / 4.0
    g2 = (5.0 * z**5 + 16.0 * z**3 + 3.0 * z) / 96.0
    g3 = (3.0 * z**7 + 19.0 * z**5 + 17.0 * z**3 - 15.0 * z) / 384.0
    g4 = (79.0 * z**9 + 776.0 * z**7 + 1482.0 * z**5 - 1920.0 * z**3 - 945.0 * z) / 92160.0
    return z + g1 / nu + g2 / nu**2 + g3 / nu**3 + g4 / nu**4


def _second_differences(means: Sequence[float]) -> list[float]:
    return [means[j + 1] - 2.0 * means[j] + means[j - 1] for j in range(1, len(means) - 1)]


def _robust_variance(means: Sequence[float], inside: Sequence[int]) -> float:
    """σ² of consecutive measured means inside the window, robustly: the median of the squared second
    differences centred on the measured means ``inside`` it (a single step, attributed exactly at an edge, does
    not count; the quiet stretches outside a job do not dilute its noise), scaled to their mean under white
    noise. Falls back on every second difference when fewer than three are inside. Returns (σ², how many)."""
    d2 = _second_differences(means)
    if not d2:
        return _few_means_variance(means)
    pool = sorted({j - 1 for j in inside if 0 <= j - 1 < len(d2)})  # second difference j - 1 is centred on j
    if len(pool) < 3:
        pool = list(range(len(d2)))
    return statistics.median(d2[p] ** 2 for p in pool) / _MEDIAN_CHI2_1 / 6.0


def _jumps(means: Sequence[float]) -> list[float]:
    """The de-trended jump into each measured mean (index j: from mean j - 1 to mean j; index 0 is 0).

    d_j = m_j - m_(j-1), less the local trend (the median of the five jumps around it), so a ramp costs nothing
    and a step lands on its own stretch alone. With fewer than three jumps there is no trend to remove.
    """
    n = len(means)
    d = [0.0] + [means[j] - means[j - 1] for j in range(1, n)]
    if n - 1 < 3:
        return d
    return [0.0] + [
        d[j] - statistics.median(d[max(1, j - _TREND_SPAN) : min(n, j + _TREND_SPAN + 1)]) for j in range(1, n)
    ]


@dataclass(frozen=True)
class _JumpNoise:
    """What the de-trended jumps near the window say: the white-noise σ² of one sensor window, the jumps too
    large to be that noise (steps), and how many jumps the σ² rests on."""

    sigma2: float
    steps: frozenset[int]
    count: int

    @classmethod
    def of(cls, jumps: Sequence[float], positions: Sequence[int]) -> _JumpNoise:
        pool = sorted({p for j in positions for p in (j - 1, j, j + 1) if 0 < p < len(jumps)})
        if len(pool) < 3:
            pool = list(range(1, len(jumps)))
        if not pool:
            return cls(0.0, frozenset(), 0)
        squares = {p: jumps[p] ** 2 for p in pool}
        # a first, robust guess from the median, then the mean of the jumps it does not call steps
        guess = statistics.median(squares.values()) / _MEDIAN_CHI2_1
        steps = frozenset(p for p, sq in squares.items() if sq > _STEP_Z**2 * guess)
        calm = [sq for p, sq in squares.items() if p not in steps]
        # consecutive means of white noise jump with variance 2σ²
        sigma2 = (math.fsum(calm) / len(calm) / _TRUNCATED_MEAN_SHARE if calm else guess) / 2.0
        return cls(sigma2, steps, len(calm))


def _few_means_variance(means: Sequence[float]) -> float:
    # one mean: nothing but the level itself (it could be anything up to twice as high)
    return (0.5 * means[0]) ** 2 if means else 0.0


def integration_half_width_j(
    intervals: Sequence[Interval],
    start_s: float,
    end_s: float,
    *,
    window_s: float,
    resolution_j: float = 0.0,
    resolution_w: float = 0.0,
    confidence: float = DEFAULT_CONFIDENCE,
) -> float:
    """Half-width (joules, at ``confidence``) of what the samples leave open over [start_s, end_s].

    Args:
        intervals: the component's intervals in time order, as integrated (measured and ``inferred``).
        start_s: window start, Unix seconds.
        end_s: window end, Unix seconds.
        window_s: the length of the sensor windows between which unobserved stretches lie (a trailing-average
            gauge's averaging window); unused when no interval is inferred.
        resolution_j: the counter's step, joules (0 for a gauge).
        resolution_w: the gauge's step, watts (0 for a counter).
        confidence: two-sided confidence of the half-width.
    """
    measured = [k for k, iv in enumerate(intervals) if not iv.inferred and iv.duration_s > 0]
    means = [intervals[k].power_w for k in measured]
    position = {k: j for j, k in enumerate(measured)}
    inside = [j for j, k in enumerate(measured) if intervals[k].end_s > start_s and intervals[k].start_s < end_s]
    robust = _robust_variance(means, inside)
    # the stretches no single sample pins down: unobserved ones, and windows shared by two samples; each at the
    # position j of the measured mean after it, with its length inside the window
    unseen: list[tuple[int, float]] = []
    cut_variance = 0.0  # measured intervals cut by an edge (σ² robust, from second differences)
    quantisation_variance = 0.0
    profile_variance = 0.0  # the profile chosen inside a cut interval against the next most plausible one
    covered: list[tuple[float, float]] = []
    for k, iv in enumerate(intervals):
        lo, hi = max(iv.start_s, start_s), min(iv.end_s, end_s)
        if hi <= lo:
            continue
        covered.append((lo, hi))
        if iv.inferred:
            right = bisect_left(measured, k)
            if 0 < right < len(measured):
                unseen.append((right, hi - lo))
            continue
        if k not in position:
            continue
        quantisation_variance += (resolution_w * iv.duration_s) ** 2 / 12.0
        if iv.overlap_s > 0 and lo <= iv.start_s and position[k] > 0:
            unseen.append((position[k], iv.overlap_s))
        if lo > iv.start_s or hi < iv.end_s:
            f = (hi - lo) / iv.duration_s
            cut_variance += robust * iv.duration_s**2 * f * (1.0 - f)
            chosen, alternative = partial_energy_and_alternative(intervals, k, lo, hi)
            profile_variance += (chosen - alternative) ** 2 / 3.0
    noise_variance, step_variance, noise_dof = 0.0, 0.0, 0.0
    if unseen:
        jumps = _jumps(means)
        noise = _JumpNoise.of(jumps, [j for j, _ in unseen])
        for j, u in unseen:
            noise_variance += noise.sigma2 * (u * window_s + 0.5 * u * u)
            if j in noise.steps:
                # a step somewhere in the stretch, or just outside it: anything within ± the jump (beyond the
                # noise) times the stretch, uniform; a step right at a window edge (a job starting or ending
                # inside the stretch, where the straight line is worst) stays well inside
                step_variance += max(0.0, jumps[j] ** 2 - 2.0 * noise.sigma2) * u * u / 3.0
        noise_dof += noise.count * _DOF_PER_JUMP
    fixed_variance = (
        cut_variance
        + step_variance
        + profile_variance
        + quantisation_variance
        + _uncovered_variance(intervals, covered, start_s, end_s)
        + resolution_j**2 / 6.0
    )
    if noise_variance <= 0.0 and fixed_variance <= 0.0:
        return 0.0
    z = coverage_factor(confidence)
    t = student_t_factor(confidence, max(1.0, noise_dof)) if noise_variance > 0 else z
    return math.sqrt(t * t * noise_variance + z * z * fixed_variance)


def _uncovered_variance(
    intervals: Sequence[Interval], covered: list[tuple[float, float]], start_s: float, end_s: float
) -> float:
    """(P·u)²/3 for each part of the window no interval covers, P the highest power next to it."""
    if not intervals:
        return 0.0
    variance = 0.0
    reached = start_s
    for lo, hi in [*sorted(covered), (end_s, end_s)]:
        if lo > reached + 1e-6:
            power = max(edge_power_w(intervals, reached), edge_power_w(intervals, lo))
            variance += (power * (lo - reached)) ** 2 / 3.0
        reached = max(reached, hi)
    return variance


def edge_power_w(intervals: Sequence[Interval], t_s: float) -> float:
    """The highest mean power of the interval holding ``t_s`` and of its neighbours (or of the nearest), watts.

    The highest, because an edge moved by δ costs the power on whichever side it moves to.
    """
    if not intervals:
        return 0.0
    ends = [iv.end_s for iv in intervals]
    k = min(bisect_left(ends, t_s), len(intervals) - 1)
    around = intervals[max(0, k - 1) : k + 2]
    return max(max(0.0, iv.power_w) for iv in around)


def edges_half_width_j(
    *, start_power_w: float, end_power_w: float, timing: EdgeTiming, confidence: float = DEFAULT_CONFIDENCE
) -> float:
    """Half-width (joules, at ``confidence``) of the energy the window's edges can move (see the module)."""
    variance = (
        (start_power_w * timing.start_resolution_s) ** 2
        + (end_power_w * timing.end_resolution_s) ** 2
        + ((end_power_w - start_power_w) * timing.clock_offset_bound_s) ** 2
    ) / 3.0
    return coverage_factor(confidence) * math.sqrt(variance)


def sensor_half_width_j(
    accuracy: SensorAccuracy, *, energy_j: float, duration_s: float, confidence: float = DEFAULT_CONFIDENCE
) -> float:
    """Half-width (joules, at ``confidence``) of a sensor's systematic error over one device's window."""
    bound_j = accuracy.relative * abs(energy_j) + accuracy.absolute_w * duration_s
    return coverage_factor(confidence) * bound_j / math.sqrt(3.0)


def combine_components(
    parts: Sequence[EnergyUncertainty], *, edges_j: float, confidence: float
) -> EnergyUncertainty:
    """The uncertainty of a sum of components: integration and sensor in quadrature (independent samples, one
    sensor per device); ``edges_j`` computed from the summed power at the edges, since one timing error moves
    every component's edges together."""
    for part in parts:
        if not math.isclose(part.confidence, confidence):
            raise ValueError(f"cannot combine a part at confidence {part.confidence} into one at {confidence}")
    return EnergyUncertainty(
        confidence=confidence,
        integration_j=math.sqrt(math.fsum(p.integration_j**2 for p in parts)),
        edges_j=edges_j,
        sensor_j=math.sqrt(math.fsum(p.sensor_j**2 for p in parts)),
    )
