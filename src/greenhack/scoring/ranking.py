"""Ranking submissions on performance and footprint, by the method of ``ranking.method``.

Every submission given is returned as a :class:`~greenhack.scoring.models.RankedRow`: the ranked ones first,
by rank, then the others (listed, not ranked, each with a ``note`` saying why) by team and submission time.

**Who can be ranked.** A submission is *usable* when it is not ``excluded`` and has a finite performance (and,
except for ``expression``, a non-negative impact). It is *eligible* when, moreover, it meets
``performance.minimum`` (direction-aware: for rmse/mae the minimum is the largest error allowed) and the
method can score it. Only eligible submissions set the normalisation scales and the Pareto levels used to pick
a team's submission.

**One submission per team** (``ranking.per_team``): ``best``: the team's eligible submission that the method
ranks highest; ``latest``: the team's latest usable submission (when it misses the minimum, the team is
listed, not ranked); ``selected``: the latest usable submission the team selected, or, when it selected none,
its best.

**Methods** (every ``score`` is documented with its direction in ``RankedRow.score_higher_is_better``):

- ``weighted``: ``w_p × norm(performance) + w_i × (1 − lognorm(impact))``, higher is better, in [0, 1].
  ``norm`` is min-max over the eligible submissions, turned round for error metrics so that 1 is the best.
  ``lognorm`` is min-max of log10(impact) over the eligible submissions. Why a log scale for impact only:
  metrics are bounded and their differences are additive (a point of accuracy is a point wherever it is),
  while footprints are ratios that span orders of magnitude between model families (a linear model's mgCO2e
  next to a fine-tuned network's hundreds of grams). On a linear scale every small model would sit near 0,
  their tenfold differences invisible, and one outlier would set the scale for everyone; on a log scale
  halving a footprint is worth the same from 2 g to 1 g as from 200 g to 100 g. A zero impact is read as the
  smallest positive impact present (it cannot be logged, and it is the best). When every value of a dimension
  is equal, that dimension gives everyone its best (norm 1, lognorm 0), so equal submissions tie and the
  tie-break decides. Scales cover all eligible submissions, not only each team's pick, because the pick itself
  needs the score: a team's submission keeps the same score whichever of its other submissions exist.
- ``ratio``: performance per unit of impact, ``performance / impact``, higher is better. For an error metric
  (rmse, mae), where a lower value is better, "per unit" reads as ``error × impact``, lower is better. Needs a
  positive impact (and a positive performance for a higher-is-better metric: r2 can be negative).
- ``pareto``: Pareto level first (1 = not dominated on performance and impact; see :mod:`.pareto`), then the
  weighted score. A team's pick uses the levels among all eligible submissions; the board's ranks use the
  levels among the ranked (picked) submissions.
- ``threshold``: the submissions meeting ``performance.minimum``, ranked by impact only, lower is better.
- ``expression``: the value of ``ranking.expression`` (see :mod:`.expression`), higher is better. A value that
  breaks a rule for one submission (division by zero, ...) leaves that submission listed, with the message.

**Ties** are broken the same way everywhere: the earlier ``submitted_at`` wins, then the smaller
``submission_id``. With ``ranking.ties: none`` (the default) ranks are therefore distinct: 1, 2, 3, ...

**Significance** (``ranking.ties: significant``): the measurement decides whether two neighbours on the board can
be told apart. The method above is run again on R replicates of the board (:mod:`.significance`: each
submission's paired bootstrap replicate of its performance, and its energy, impact and GWP drawn within their
measurement interval, the sensor's part shared by one server's jobs), scales and Pareto levels included, the
team's picks kept. A submission ranks strictly above its lower neighbour only when it stays strictly above it in
at least (1 + ``ranking.confidence``) / 2 of the replicates (the two-sided test at that confidence: 195 of 200 at
0.95); otherwise the two share a rank, and a run of such neighbours shares the rank of its first (1, =2, =2, 4;
``RankedRow.tied``). Two submissions of which neither carries replicates nor a measurement spread (rows scored
before intervals were) keep today's order against each other. Everything is seeded (``rank_submissions``'s
``seed``: the event's seed and the board), so the ranks are the same on every run.

For every ranked submission, ``pareto_front`` / ``pareto_level`` say where it lies among the ranked
submissions (whatever the method) so the board's chart can draw the front.

**Baselines** (``RankInput.baseline``, the organisers' reference submissions) are listed, never ranked, and
change nothing for the teams: the teams are ranked among themselves exactly as without them (scales, Pareto
levels and significance included). Each baseline is then scored as if it alone had entered beside the teams
(``ties: none``), its own submission picked by ``per_team`` like a team's: its row has no rank but the
method's score and formula, and ``would_rank`` says where it would have placed. Its rows follow the teams'.

Speed: ranking 10,000 submissions of 200 teams takes about 0.1 to 0.3 s per method on a busy two-core
machine; significance adds the R = 200 replicates of the ranked submissions (``bench/rank_throughput.py`` prints
both side by side).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from greenhack.config import ImpactSection, PerformanceSection, RankingSection
from greenhack.errors import ExpressionError, ScoringError
from greenhack.expression import Expression, parse_expression
from greenhack.scoring.models import RankedRow, RankInput
from greenhack.scoring.pareto import pareto_levels
from greenhack.scoring.quantities import quantity_values
from greenhack.scoring.significance import Replicates, draw_replicates

__all__ = ["WeightedScale", "expression_values", "rank_submissions"]


@dataclass(frozen=True)
class WeightedScale:
    """The normalisation of the ``weighted`` method (and the tie-break of ``pareto``).

    Attributes:
        performance_min: lowest performance among the eligible submissions.
        performance_max: highest performance among the eligible submissions.
        higher_is_better: the metric's direction.
        log_impact_min: log10 of the lowest (positive) impact among the eligible submissions.
        log_impact_max: log10 of the highest impact among the eligible submissions.
        impact_floor: the smallest positive impact; lower impacts (zero) are read as this one. None when no
            eligible impact is positive.
        w_performance: weight of performance.
        w_impact: weight of impact.
    """

    performance_min: float
    performance_max: float
    higher_is_better: bool
    log_impact_min: float
    log_impact_max: float
    impact_floor: float | None
    w_performance: float
    w_impact: float

    @classmethod
    def over(
        cls,
        performances: Sequence[float],
        impacts: Sequence[float],
        *,
        higher_is_better: bool,
        weights: tuple[float, float],
    ) -> WeightedScale:
        """The scale spanning ``performances`` and ``impacts`` (those of the eligible submissions)."""
        positive = [i for i in impacts if i > 0]
        return cls.from_extremes(
            performance_min=min(performances),
            performance_max=max(performances),
            impact_floor=min(positive) if positive else None,
            impact_max=max(positive) if positive else None,
            higher_is_better=higher_is_better,
            weights=weights,
        )

    @classmethod
    def from_extremes(
        cls,
        *,
        performance_min: float,
        performance_max: float,
        impact_floor: float | None,
        impact_max: float | None,
        higher_is_better: bool,
        weights: tuple[float, float],
    ) -> WeightedScale:
        """The scale from the extremes alone: the lowest and highest performance, the lowest and highest positive
        impact (None when no impact is positive)."""
        floor = impact_floor if impact_floor is not None and impact_max is not None else None
        return cls(
            performance_min=performance_min,
            performance_max=performance_max,
            higher_is_better=higher_is_better,
            log_impact_min=math.log10(floor) if floor is not None else 0.0,
            log_impact_max=math.log10(impact_max) if floor is not None and impact_max is not None else 0.0,
            impact_floor=floor,
            w_performance=weights[0],
            w_impact=weights[1],
        )

    def norm_performance(self, value: float) -> float:
        """Performance on [0, 1], 1 = the best among the eligible submissions."""
        span = self.performance_max - self.performance_min
        if span <= 0:
            return 1.0
        if self.higher_is_better:
            return min(1.0, max(0.0, (value - self.performance_min) / span))
        return min(1.0, max(0.0, (self.performance_max - value) / span))

    def lognorm_impact(self, value: float) -> float:
        """Impact on [0, 1] on a log scale, 0 = the lowest impact among the eligible submissions."""
        span = self.log_impact_max - self.log_impact_min
        if span <= 0 or self.impact_floor is None:
            return 0.0
        logged = math.log10(max(value, self.impact_floor))
        return min(1.0, max(0.0, (logged - self.log_impact_min) / span))

    def score(self, performance: float, impact: float) -> float:
        return self.w_performance * self.norm_performance(performance) + self.w_impact * (
            1.0 - self.lognorm_impact(impact)
        )


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _ratio_key(performance: float, impact: float, *, higher_is_better: bool) -> tuple[float, float]:
    """(score, sort key) of the ``ratio`` method: performance per unit of impact, or error x impact."""
    if higher_is_better:
        score = performance / impact
        return score, -score
    score = performance * impact
    return score, score


def _axes_of(performance: float, impact: float, *, higher_is_better: bool) -> tuple[float, float]:
    """A submission's point for the Pareto levels: performance turned so that higher is better, and impact."""
    return (performance if higher_is_better else -performance, impact)


def expression_values(row: RankInput, *, metric: str) -> dict[str, float]:
    """The named quantities of one submission for a ranking expression (the registry of
    :mod:`greenhack.quantities`, which check-config reads too)."""
    return quantity_values(row, metric=metric)


def _id_key(submission_id: int | str) -> tuple[int, int, str]:
    if isinstance(submission_id, int):
        return (0, submission_id, "")
    return (1, 0, submission_id)


class _Board:
    """The state of one ranking run; one method per step, in the order of :func:`rank_submissions`."""

    def __init__(
        self,
        inputs: Sequence[RankInput],
        ranking: RankingSection,
        performance: PerformanceSection,
        impact: ImpactSection | None,
    ) -> None:
        self.inputs = inputs
        self.ranking = ranking
        self.metric = performance.metric
        self.higher = performance.higher_is_better
        self.minimum = performance.minimum
        self.criterion = impact.criterion if impact is not None else "impact"
        self.unit = impact.unit if impact is not None else ""
        self.expression: Expression | None = (
            parse_expression(ranking.expression)
            if ranking.method == "expression" and ranking.expression
            else None
        )
        n = len(inputs)
        self.usable = [False] * n
        self.eligible = [False] * n
        self.notes: list[str | None] = [None] * n
        self.scores: list[float | None] = [None] * n
        self.formulas = [""] * n
        self.weighted_formulas = [""] * n
        # the method's sort key per submission, smallest first (best first)
        self.keys: list[tuple[float, ...]] = [()] * n
        self.counted = [False] * n
        self.ranks: list[int | None] = [None] * n
        self.tied = [False] * n
        self.above_next: list[float | None] = [None] * n
        self.levels: list[int | None] = [None] * n
        # position of each submission in time order (earlier first, then smaller id): the tie-break
        chronological = sorted(
            range(n), key=lambda k: (inputs[k].submitted_at, _id_key(inputs[k].submission_id))
        )
        self.seq = [0] * n
        for position, k in enumerate(chronological):
            self.seq[k] = position

    # -- who can be ranked -----------------------------------------------------------------------------------

    def _impact_text(self, value: float) -> str:
        return f"{self.criterion} {_fmt(value)}{' ' + self.unit if self.unit else ''}"

    def classify(self) -> None:
        needs_impact = self.ranking.method != "expression"
        for k, row in enumerate(self.inputs):
            if row.excluded is not None:
                self.notes[k] = f"not ranked: {row.excluded}"
                continue
            if row.performance is None or not math.isfinite(row.performance):
                self.notes[k] = f"not ranked: no {self.metric} for this submission"
                continue
            if needs_impact and (row.impact is None or not math.isfinite(row.impact)):
                self.notes[k] = f"not ranked: no {self.criterion} measured for this submission"
                continue
            if row.impact is not None and row.impact < 0:
                self.notes[k] = f"not ranked: the {self.criterion} is negative ({_fmt(row.impact)})"
                continue
            self.usable[k] = True
            if self.minimum is not None:
                if self.higher and row.performance < self.minimum:
                    self.notes[k] = (
                        f"not ranked: {self.metric} {_fmt(row.performance)} "
                        f"is below the minimum {self.minimum:g}"
                    )
                    continue
                if not self.higher and row.performance > self.minimum:
                    self.notes[k] = (
                        f"not ranked: {self.metric} {_fmt(row.performance)} "
                        "is above the largest error allowed "
                        f"{self.minimum:g}"
                    )
                    continue
            self.eligible[k] = True

    # -- scores ----------------------------------------------------------------------------------------------

    def _eligible(self) -> list[int]:
        return [k for k in range(len(self.inputs)) if self.eligible[k]]

    def _weighted_scale(self, ks: list[int]) -> WeightedScale:
        weights = self.ranking.weights
        if weights is None:
            raise ScoringError(f"ranking method {self.ranking.method!r} needs ranking.weights")
        return WeightedScale.over(
            [self._perf(k) for k in ks],
            [self._impact(k) for k in ks],
            higher_is_better=self.higher,
            weights=(weights.performance, weights.impact),
        )

    def _perf(self, k: int) -> float:
        value = self.inputs[k].performance
        assert value is not None
        return value

    def _impact(self, k: int) -> float:
        value = self.inputs[k].impact
        assert value is not None
        return value

    @staticmethod
    def _scale_text(scale: WeightedScale, metric: str, criterion: str, unit: str, n: int) -> str:
        if scale.impact_floor is not None:
            top = _fmt(10**scale.log_impact_max)
            impact = f"{criterion} {_fmt(scale.impact_floor)}..{top}{' ' + unit if unit else ''}"
        else:
            impact = f"{criterion} all 0"
        return (
            f"scales over the {n} eligible submissions: {metric} {_fmt(scale.performance_min)}.."
            f"{_fmt(scale.performance_max)} (linear), {impact} (log10)"
        )

    def score_weighted(self) -> None:
        ks = self._eligible()
        if not ks:
            return
        scale = self._weighted_scale(ks)
        scale_text = self._scale_text(scale, self.metric, self.criterion, self.unit, len(ks))
        wp, wi = scale.w_performance, scale.w_impact
        unit = f" {self.unit}" if self.unit else ""
        # the constant parts of every formula, formatted once
        head = f"{wp:g} × norm({self.metric} "
        middle = f") + {wi:g} × (1 − lognorm({self.criterion} "
        for k in ks:
            p, i = self._perf(k), self._impact(k)
            norm_p, norm_i = scale.norm_performance(p), scale.lognorm_impact(i)
            score = wp * norm_p + wi * (1.0 - norm_i)
            self.scores[k] = score
            self.keys[k] = (-score,)
            self.formulas[k] = self.weighted_formulas[k] = (
                f"{head}{p:.4g}{middle}{i:.4g}{unit})) = {wp:g} × {norm_p:.3f} + {wi:g} × (1 − {norm_i:.3f}) "
                f"= {score:.4f}; {scale_text}"
            )

    def score_pareto(self) -> None:
        ks = self._eligible()
        if not ks:
            return
        self.score_weighted()
        levels = pareto_levels([self._axes(k) for k in ks])
        for k, level in zip(ks, levels, strict=True):
            weighted = self.scores[k]
            assert weighted is not None
            self.keys[k] = (float(level), -weighted)
            self.formulas[k] = self._pareto_formula(level, "all eligible submissions", k)

    def _pareto_formula(self, level: int, among: str, k: int) -> str:
        return (
            f"Pareto level {level} on ({self.metric} vs {self.criterion}) among {among}; "
            f"ties by weighted score {self.weighted_formulas[k]}"
        )

    def _axes(self, k: int) -> tuple[float, float]:
        return _axes_of(self._perf(k), self._impact(k), higher_is_better=self.higher)

    def score_ratio(self) -> None:
        for k in self._eligible():
            p, i = self._perf(k), self._impact(k)
            if i <= 0:
                self._unscorable(k, f"the ratio needs a positive {self.criterion}, got {_fmt(i)}")
                continue
            if self.higher and p <= 0:
                self._unscorable(k, f"the ratio needs a positive {self.metric}, got {_fmt(p)}")
                continue
            score, key = _ratio_key(p, i, higher_is_better=self.higher)
            self.keys[k] = (key,)
            if self.higher:
                per = f" per {self.unit}" if self.unit else ""
                self.formulas[k] = (
                    f"{self.metric} / {self.criterion} = {_fmt(p)} / {_fmt(i)} = {_fmt(score)}{per}"
                )
            else:
                self.formulas[k] = (
                    f"{self.metric} × {self.criterion} = {_fmt(p)} × {_fmt(i)} = {_fmt(score)} "
                    "(lower is better)"
                )
            self.scores[k] = score

    def score_threshold(self) -> None:
        for k in self._eligible():
            i = self._impact(k)
            self.scores[k] = i
            self.keys[k] = (i,)
            bar = f"meets the minimum {self.minimum:g}" if self.minimum is not None else "(no minimum set)"
            self.formulas[k] = (
                f"{self.metric} {_fmt(self._perf(k))} {bar}; "
                f"ranked by {self._impact_text(i)} (lower is better)"
            )

    def score_expression(self) -> None:
        expression = self.expression
        assert expression is not None
        used = sorted(expression.names)
        for k in self._eligible():
            values = expression_values(self.inputs[k], metric=self.metric)
            try:
                score = expression.evaluate(values)
            except ExpressionError as exc:
                self._unscorable(k, f"the expression cannot be computed: {exc}".replace("\n", " "))
                continue
            self.scores[k] = score
            self.keys[k] = (-score,)
            bound = ", ".join(f"{name}={_fmt(values[name])}" for name in used)
            where = f" with {bound}" if bound else ""
            self.formulas[k] = f"{expression.text}{where} = {_fmt(score)}"

    def _unscorable(self, k: int, why: str) -> None:
        self.eligible[k] = False
        self.notes[k] = f"not ranked: {why}"

    # -- one submission per team -----------------------------------------------------------------------------

    def _order(self, k: int) -> tuple[tuple[float, ...], int]:
        """Sort key, best first: the method's key, then the earlier submission, then the smaller id."""
        return (self.keys[k], self.seq[k])

    def _latest(self, ks: list[int]) -> int:
        return max(ks, key=self.seq.__getitem__)

    def pick(self) -> None:
        by_team: dict[str, list[int]] = defaultdict(list)
        for k, row in enumerate(self.inputs):
            by_team[row.team].append(k)
        mode = self.ranking.per_team
        for ks in by_team.values():
            usable = [k for k in ks if self.usable[k]]
            eligible = [k for k in ks if self.eligible[k]]
            best = min(eligible, key=self._order) if eligible else None
            chosen: int | None
            if mode == "best":
                chosen = best
            elif mode == "latest":
                chosen = self._latest(usable) if usable else None
            else:
                selected = [k for k in usable if self.inputs[k].selected]
                chosen = self._latest(selected) if selected else best
                if not selected and best is not None:
                    unusable = [k for k in ks if self.inputs[k].selected]
                    why = (
                        f"the team's selected submission {self.inputs[self._latest(unusable)].submission_id} "
                        "cannot be ranked"
                        if unusable
                        else "the team selected no submission"
                    )
                    self._add_note(best, f"{why}: its best one counts")
            if chosen is None and usable:
                # nothing of the team meets performance.minimum: its best attempt is listed, not ranked
                chosen = self._best_performance(usable)
            if chosen is None:
                continue
            self.counted[chosen] = True
            chosen_id = self.inputs[chosen].submission_id
            for k in ks:
                if k != chosen and self.eligible[k]:
                    self._add_note(k, f"not counted: the team's {mode} submission is {chosen_id}")

    def _best_performance(self, ks: list[int]) -> int:
        sign = -1.0 if self.higher else 1.0
        return min(ks, key=lambda k: (sign * float(self.inputs[k].performance or 0.0), self.seq[k]))

    def _add_note(self, k: int, note: str) -> None:
        self.notes[k] = note if self.notes[k] is None else f"{self.notes[k]}; {note}"

    # -- ranks -----------------------------------------------------------------------------------------------

    def rank(self) -> list[int]:
        ranked = [k for k in range(len(self.inputs)) if self.counted[k] and self.eligible[k]]
        with_impact = [k for k in ranked if self.inputs[k].impact is not None]
        if with_impact:
            board_levels = pareto_levels([self._axes(k) for k in with_impact])
            for k, level in zip(with_impact, board_levels, strict=True):
                self.levels[k] = level
        if self.ranking.method == "pareto":
            for k in ranked:
                board_level, score = self.levels[k], self.scores[k]
                assert board_level is not None and score is not None
                self.keys[k] = (float(board_level), -score)
                self.formulas[k] = self._pareto_formula(board_level, "the ranked submissions", k)
        ranked.sort(key=self._order)
        for position, k in enumerate(ranked, start=1):
            self.ranks[k] = position
        return ranked

    # -- significance -----------------------------------------------------------------------------------------

    def share_ranks(self, ranked: list[int], *, seed: str) -> None:
        """Give neighbours the measurement cannot tell apart one rank (module docstring, "Significance")."""
        if len(ranked) < 2:
            return
        columns = sorted(set(self._eligible()) | set(ranked))
        column = {k: c for c, k in enumerate(columns)}
        world = draw_replicates(
            [self.inputs[k] for k in columns], seed=seed, moving=self._energy_can_matter(columns, set(ranked))
        )
        if not world.uncertain.any():
            return
        keys = self._replicate_keys(ranked, columns, world)
        better = keys[:, :-1, 0] < keys[:, 1:, 0]
        if keys.shape[2] > 1:
            better |= (keys[:, :-1, 0] == keys[:, 1:, 0]) & (keys[:, :-1, 1] < keys[:, 1:, 1])
        shares = better.mean(axis=0)
        needed = 0.5 * (1.0 + self.ranking.confidence)
        for j in range(1, len(ranked)):
            upper, lower = ranked[j - 1], ranked[j]
            if not (world.uncertain[column[upper]] or world.uncertain[column[lower]]):
                continue  # neither carries an interval: today's order stands
            self.above_next[upper] = float(shares[j - 1])
            if shares[j - 1] < needed:
                self.ranks[lower] = self.ranks[upper]
                self.tied[upper] = self.tied[lower] = True

    def _energy_can_matter(self, columns: list[int], ranked: set[int]) -> list[bool]:
        """Whose energy draws are needed: the ranked submissions', and, for the ``weighted`` scale, those whose
        impact lies within 8 standard deviations of the lowest or highest positive impact (no other can become
        an extreme: the chance is below 1e-15)."""
        if self.ranking.method not in ("weighted", "pareto"):
            return [k in ranked for k in columns]
        impacts = [self._impact(k) for k in columns if self.eligible[k] and self._impact(k) > 0]
        if not impacts:
            return [k in ranked for k in columns]
        reach = 8.0 * max(
            (
                (s.energy_rel + s.sensor_rel) * s.impact_use_share
                for k in columns
                if (s := self.inputs[k].measurement) is not None
            ),
            default=0.0,
        )
        low, high = min(impacts) * (1.0 + reach), max(impacts) / (1.0 + reach)
        return [
            k in ranked or (self.eligible[k] and (self._impact(k) <= low or self._impact(k) >= high))
            for k in columns
        ]

    def _replicate_keys(self, ranked: list[int], columns: list[int], world: Replicates) -> NDArray[np.float64]:
        """The method's sort key of each ranked submission in each replicate, shape (R, ranked, key length);
        a submission the method cannot score in a replicate sorts last (inf)."""
        method = self.ranking.method
        column = {k: c for c, k in enumerate(columns)}
        count = world.count
        keys = np.full((count, len(ranked), 2 if method == "pareto" else 1), np.inf)
        moved = world.moved([column[k] for k in ranked], [self.inputs[k] for k in ranked])
        performance, impact = moved.performance.tolist(), moved.impact.tolist()
        energy, gwp = moved.energy_j.tolist(), moved.gwp_kgco2e.tolist()
        scales = self._replicate_scales(columns, world) if method in ("weighted", "pareto") else None
        for r in range(count):
            p_r, i_r = performance[r], impact[r]
            if method == "pareto":
                assert scales is not None
                points = [_axes_of(p, i, higher_is_better=self.higher) for p, i in zip(p_r, i_r, strict=True)]
                for j, level in enumerate(pareto_levels(points)):
                    keys[r, j] = (float(level), -scales[r].score(p_r[j], i_r[j]))
                continue
            for j, k in enumerate(ranked):
                key = self._key_in_replicate(
                    k, p_r[j], i_r[j], energy[r][j], gwp[r][j], None if scales is None else scales[r]
                )
                if key is not None:
                    keys[r, j, 0] = key
        return keys

    def _key_in_replicate(
        self, k: int, p: float, i: float, energy_j: float, gwp: float, scale: WeightedScale | None
    ) -> float | None:
        """One ranked submission's sort key in one replicate (values NaN where it has none)."""
        method = self.ranking.method
        if method == "weighted":
            assert scale is not None
            return -scale.score(p, i)
        if method == "threshold":
            return i
        if method == "ratio":
            if not i > 0 or (self.higher and not p > 0):
                return None
            return _ratio_key(p, i, higher_is_better=self.higher)[1]
        assert self.expression is not None

        def known(value: float) -> float | None:
            return None if math.isnan(value) else value

        row = replace(
            self.inputs[k], performance=p, impact=known(i), energy_j=known(energy_j), gwp_kgco2e=known(gwp)
        )
        try:
            return -self.expression.evaluate(expression_values(row, metric=self.metric))
        except ExpressionError:
            return None

    def _replicate_scales(self, columns: list[int], world: Replicates) -> list[WeightedScale]:
        """The ``weighted`` scale of each replicate, over the eligible submissions' replicate values."""
        eligible = [c for c, k in enumerate(columns) if self.eligible[k]]
        performance = world.performance[:, eligible]
        base = np.array([self._impact(columns[c]) for c in eligible], dtype=np.float64)
        share = np.array(
            [
                spread.impact_use_share if (spread := self.inputs[columns[c]].measurement) is not None else 0.0
                for c in eligible
            ],
            dtype=np.float64,
        )
        impacts = base[None, :] * np.maximum(0.0, 1.0 + share[None, :] * world.energy_error[:, eligible])
        positive = np.where(impacts > 0, impacts, np.inf)
        floors, tops = positive.min(axis=1), np.where(impacts > 0, impacts, -np.inf).max(axis=1)
        weights = self.ranking.weights
        assert weights is not None
        return [
            WeightedScale.from_extremes(
                performance_min=float(lo),
                performance_max=float(hi),
                impact_floor=float(floor) if math.isfinite(floor) else None,
                impact_max=float(top) if math.isfinite(top) else None,
                higher_is_better=self.higher,
                weights=(weights.performance, weights.impact),
            )
            for lo, hi, floor, top in zip(
                performance.min(axis=1), performance.max(axis=1), floors, tops, strict=True
            )
        ]

    def rows(self, ranked: list[int]) -> list[RankedRow]:
        higher = not (
            self.ranking.method == "threshold" or (self.ranking.method == "ratio" and not self.higher)
        )
        listed = set(ranked)
        others = sorted(
            (k for k in range(len(self.inputs)) if k not in listed),
            key=lambda k: (self.inputs[k].team, self.seq[k]),
        )
        out = []
        for k in [*ranked, *others]:
            row = self.inputs[k]
            level = self.levels[k]
            out.append(
                RankedRow(
                    submission_id=row.submission_id,
                    team=row.team,
                    rank=self.ranks[k],
                    score=self.scores[k],
                    score_higher_is_better=higher,
                    counted=self.counted[k],
                    pareto_front=level == 1,
                    pareto_level=level,
                    formula=self.formulas[k],
                    note=self.notes[k],
                    tied=self.tied[k],
                    above_next_share=self.above_next[k],
                )
            )
        return out


def rank_submissions(
    inputs: Sequence[RankInput],
    ranking: RankingSection,
    performance: PerformanceSection,
    *,
    impact: ImpactSection | None = None,
    seed: str = "",
) -> list[RankedRow]:
    """Rank submissions by ``ranking.method`` (see the module docstring for every rule).

    Args:
        inputs: every submission of the board (one per job), with the board's performance (public or private).
        ranking: the event's ranking section (method, weights, expression, per_team, ties, confidence).
        performance: the event's performance section (metric and its direction, minimum).
        impact: the event's impact section, used to name the criterion and its unit in formulas.
        seed: seeds the measurement draws of ``ties: significant`` (the event's seed and the board's name, so
            the public and the private board draw apart).

    Raises:
        ExpressionError: ``ranking.expression`` does not parse.
        ScoringError: the ranking section lacks what its method needs (weights).
    """
    if any(row.baseline for row in inputs):
        return _with_baselines(inputs, ranking, performance, impact=impact, seed=seed)
    board = _Board(inputs, ranking, performance, impact)
    board.classify()
    scorers: dict[str, Callable[[], None]] = {
        "weighted": board.score_weighted,
        "ratio": board.score_ratio,
        "pareto": board.score_pareto,
        "threshold": board.score_threshold,
        "expression": board.score_expression,
    }
    scorers[ranking.method]()
    board.pick()
    ranked = board.rank()
    if ranking.ties == "significant":
        board.share_ranks(ranked, seed=seed)
    return board.rows(ranked)


def _with_baselines(
    inputs: Sequence[RankInput],
    ranking: RankingSection,
    performance: PerformanceSection,
    *,
    impact: ImpactSection | None,
    seed: str,
) -> list[RankedRow]:
    """The teams ranked without the baselines, then each baseline's rows as it would stand beside them (module
    docstring, "Baselines")."""
    teams = [row for row in inputs if not row.baseline]
    rows = rank_submissions(teams, ranking, performance, impact=impact, seed=seed)
    baselines: dict[str, list[RankInput]] = defaultdict(list)
    for row in inputs:
        if row.baseline:
            baselines[row.team].append(row)
    plain = ranking.model_copy(update={"ties": "none"})
    for label, own in baselines.items():
        alone = f"\0baseline {label}"  # its own pick even when a team has the same name
        entered = [*teams, *(replace(row, team=alone, baseline=False) for row in own)]
        beside = rank_submissions(entered, plain, performance, impact=impact)
        for row in beside:
            if row.team != alone:
                continue
            where = f"; it would place {row.rank} among the teams" if row.rank is not None else ""
            note = f"baseline, never ranked{where}" + (f"; {row.note}" if row.note else "")
            rows.append(
                replace(row, team=label, rank=None, tied=False, baseline=True, would_rank=row.rank, note=note)
            )
    return rows
