"""The organisers' baselines (``baselines:``): which projects they are, and how a team's row compares. Pure.

A baseline is a GitLab project in the event's group whose jobs run and are measured like any team's; the
boards list it with a badge and never rank it (:func:`greenhack.scoring.ranking.rank_submissions` keeps rows
whose ``RankInput.baseline`` is set out of the teams' ranks, scales and Pareto levels). The YAML names its
project below ``gitlab.group`` (``baselines/logreg``) or by its full path starting with the group
(:func:`greenhack.config.full_project_path`); GitLab compares paths case-insensitively, so do we.

**Comparing a row with the baselines** (:func:`compare_with_baselines`): a team's row is compared with each
baseline row of the same board (same phase, same track, same rows), in the order of ``baselines:``; the first
one that can be compared is the headline (``41% less energy than the baseline at +2.1 points of accuracy``),
so the organisers list their reference baseline first. Energy is compared, since it is what the team's code
decides (the event criterion adds the server's share, the same per second for every job of a track); the
criterion's change is given beside it. A performance difference is in points (x100) for the metrics that lie
in 0..1 (accuracy, f1, ...), in the metric's own units otherwise (rmse, mae, r2), and says "better" or "worse"
by the metric's direction.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from greenhack.config import METRIC_RANGES, METRICS, EventConfig, full_project_path
from greenhack.units import format_number, pick_scale

__all__ = [
    "Baseline",
    "BaselineComparison",
    "Standing",
    "baseline_for_project",
    "compare_with_baselines",
    "event_baselines",
    "team_clashes",
]


@dataclass(frozen=True)
class Baseline:
    """One baseline of the event.

    Attributes:
        project_path: its GitLab project's full path (below the event's group when the event has one).
        label: the name shown with its badge.
        position: its place in ``baselines:`` (0: the headline reference).
    """

    project_path: str
    label: str
    position: int


def _group(config: EventConfig) -> str | None:
    return config.gitlab.group if config.gitlab is not None else None


def event_baselines(config: EventConfig) -> tuple[Baseline, ...]:
    """The event's baselines, in the YAML's order."""
    group = _group(config)
    return tuple(
        Baseline(full_project_path(b.project, group=group), b.label, position)
        for position, b in enumerate(config.baselines)
    )


def baseline_for_project(config: EventConfig, project_path: str) -> Baseline | None:
    """The baseline whose project is ``project_path`` (GitLab's ``path_with_namespace``), or None."""
    wanted = project_path.strip("/").casefold()
    return next((b for b in event_baselines(config) if b.project_path.casefold() == wanted), None)


def team_clashes(config: EventConfig, team_paths: Iterable[str]) -> list[str]:
    """One sentence per team project that is also a baseline (``team_paths``: full paths, or paths below the
    event's group, as ``greenhack provision`` makes them from the teams CSV): check-config sees no team."""
    group = _group(config)
    out = []
    for path in team_paths:
        baseline = baseline_for_project(config, full_project_path(path, group=group))
        if baseline is not None:
            out.append(
                f"team project {path!r} is also baselines[{baseline.position}] ({baseline.label!r}): a "
                "baseline is never ranked, so a team's project must not be one"
            )
    return out


@dataclass(frozen=True)
class Standing:
    """One row's numbers on a board, to compare (a team's counted row, or a baseline's).

    Attributes:
        label: the team's or the baseline's name.
        performance: the event metric on the board's rows, or None.
        energy_j: the energy it is ranked with, J, or None.
        impact: the event criterion's impact it is ranked with (``unit``), or None.
    """

    label: str
    performance: float | None
    energy_j: float | None
    impact: float | None = None


@dataclass(frozen=True)
class BaselineComparison:
    """How a row compares with one baseline.

    Attributes:
        baseline: the baseline's label.
        energy_change: energy / the baseline's − 1 (−0.41: 41% less), None when either is unknown or the
            baseline's is zero.
        impact_change: the same for the criterion's impact.
        performance_delta: the row's metric − the baseline's, in the metric's units (None: either unknown).
        performance_better: the difference is in the metric's good direction (None: equal or unknown).
        text: the sentence for the board (``41% less energy than the baseline at +2.1 points of accuracy``).
        detail: both energies in one unit (``0.82 Wh against 1.4 Wh``), or "" when not both known.
    """

    baseline: str
    energy_change: float | None
    impact_change: float | None
    performance_delta: float | None
    performance_better: bool | None
    text: str
    detail: str


def _known(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) and value >= 0 else None


def _change(value: float | None, reference: float | None) -> float | None:
    value, reference = _known(value), _known(reference)
    if value is None or reference is None or reference == 0:
        return None
    return value / reference - 1.0


def _energy_words(change: float) -> str:
    if abs(change) < 0.005:
        return "the same energy as"
    if change >= 1.0:
        return f"{format_number(change + 1.0, sig=2)}× the energy of"
    share = format_number(abs(change) * 100.0, sig=2)
    return f"{share}% {'less' if change < 0 else 'more'} energy than"


def _points(metric: str) -> bool:
    """Whether differences of ``metric`` read in points (x100): the metrics that lie in 0..1."""
    low, high = METRIC_RANGES.get(metric, (-math.inf, math.inf))
    return (low, high) == (0.0, 1.0)


def _performance_words(delta: float, metric: str, higher_is_better: bool) -> tuple[str, bool | None]:
    scale = 100.0 if _points(metric) else 1.0
    shown = format_number(abs(delta) * scale, sig=2)
    if shown == "0":
        return f"the same {metric}", None
    better = (delta > 0) == higher_is_better
    if _points(metric):
        return f"{'+' if delta > 0 else '−'}{shown} points of {metric}", better
    side, verdict = ("higher" if delta > 0 else "lower"), ("better" if better else "worse")
    return f"{metric} {shown} {side} ({verdict})", better


def _no_ratio(row: Standing, baseline: Standing) -> str:
    """Why two energies give no ratio."""
    if _known(row.energy_j) is None:
        return "this row's energy is not measured"
    if _known(baseline.energy_j) is None:
        return "the baseline's energy is not measured"
    return "the baseline's energy reads 0, so no ratio"


def _compare(
    row: Standing, baseline: Standing, *, metric: str, higher_is_better: bool, name: str
) -> BaselineComparison:
    energy = _change(row.energy_j, baseline.energy_j)
    delta = None
    if row.performance is not None and baseline.performance is not None:
        if math.isfinite(row.performance) and math.isfinite(baseline.performance):
            delta = row.performance - baseline.performance
    performance_text, better = (
        ("", None) if delta is None else _performance_words(delta, metric, higher_is_better)
    )
    if energy is not None:
        text = f"{_energy_words(energy)} {name}" + (f" at {performance_text}" if performance_text else "")
    elif performance_text:
        text = f"{performance_text} against {name} ({_no_ratio(row, baseline)})"
    else:
        text = ""
    detail = ""
    if _known(row.energy_j) is not None and _known(baseline.energy_j) is not None:
        scale = pick_scale([row.energy_j, baseline.energy_j], "J")
        detail = f"{scale.format(row.energy_j)} against {scale.format(baseline.energy_j)}"
    return BaselineComparison(
        baseline=baseline.label,
        energy_change=energy,
        impact_change=_change(row.impact, baseline.impact),
        performance_delta=delta,
        performance_better=better,
        text=text,
        detail=detail,
    )


def compare_with_baselines(
    row: Standing, baselines: Sequence[Standing], *, metric: str
) -> tuple[BaselineComparison, ...]:
    """How ``row`` compares with each baseline of its board, the headline first.

    Args:
        row: the team's counted row on the board.
        baselines: the baselines' counted rows on the same board, in the order of ``baselines:``.
        metric: the event metric (its direction comes from :data:`greenhack.config.METRICS`).

    Returns:
        One comparison per baseline that shares a number with ``row``, in the YAML's order, except that the
        first is the first baseline whose energy compares (the headline), if any does. Empty when nothing
        compares.
    """
    higher_is_better = METRICS[metric]
    several = len(baselines) > 1
    out = []
    for baseline in baselines:
        name = f"the baseline {baseline.label!r}" if several else "the baseline"
        comparison = _compare(row, baseline, metric=metric, higher_is_better=higher_is_better, name=name)
        if comparison.text:
            out.append(comparison)
    headline = next((c for c in out if c.energy_change is not None), None)
    if headline is not None:
        out.remove(headline)
        out.insert(0, headline)
    return tuple(out)
