"""Ranking on small boards whose results are checked by hand, for every method and per-team rule."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenhack.config import ImpactSection, PerformanceSection, RankingSection
from greenhack.errors import ExpressionError
from greenhack.scoring import RankedRow, RankInput, pareto_levels, rank_submissions

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
GWP = ImpactSection(criterion="gwp")


def sub(
    sid: int | str, team: str, minute: int, perf: float | None, impact: float | None, **kw: Any
) -> RankInput:
    return RankInput(
        submission_id=sid,
        team=team,
        submitted_at=T0 + timedelta(minutes=minute),
        performance=perf,
        impact=impact,
        gwp_kgco2e=impact,
        **kw,
    )


def ranking(
    method: str, *, per_team: str = "best", weights: tuple[float, float] | None = (0.5, 0.5), **kw: Any
) -> RankingSection:
    data: dict[str, Any] = {"method": method, "per_team": per_team, **kw}
    if weights is not None and method in ("weighted", "pareto"):
        data["weights"] = {"performance": weights[0], "impact": weights[1]}
    return RankingSection.model_validate(data)


def perf(metric: str = "accuracy", minimum: float | None = 0.6) -> PerformanceSection:
    return PerformanceSection(metric=metric, minimum=minimum)  # type: ignore[arg-type]


def by_id(rows: list[RankedRow]) -> dict[int | str, RankedRow]:
    return {row.submission_id: row for row in rows}


def ranks(rows: list[RankedRow]) -> list[int | str]:
    return [row.submission_id for row in rows if row.rank is not None]


# Three teams, one submission each, and one below the minimum:
#   A: accuracy 0.9, 1e-3 kgCO2e   B: 0.8, 1e-5   C: 0.7, 1e-4   D: 0.5 (below 0.6), 1e-6
BOARD = [
    sub("A", "alpha", 0, 0.9, 1e-3),
    sub("B", "beta", 1, 0.8, 1e-5),
    sub("C", "gamma", 2, 0.7, 1e-4),
    sub("D", "delta", 3, 0.5, 1e-6),
]


def test_weighted_normalises_linearly_for_performance_and_on_a_log_scale_for_impact() -> None:
    rows = rank_submissions(BOARD, ranking("weighted"), perf(), impact=GWP)
    got = by_id(rows)
    # norm(accuracy): A 1, B 0.5, C 0; lognorm(gwp) over log10 -5..-3: A 1, B 0, C 0.5 (D is not eligible)
    assert got["A"].score == pytest.approx(0.5 * 1 + 0.5 * 0)
    assert got["B"].score == pytest.approx(0.5 * 0.5 + 0.5 * 1)
    assert got["C"].score == pytest.approx(0.5 * 0 + 0.5 * 0.5)
    assert ranks(rows) == ["B", "A", "C"]
    assert [row.rank for row in rows] == [1, 2, 3, None]
    assert got["D"].note == "not ranked: accuracy 0.5 is below the minimum 0.6"
    # the team's only submission is below the minimum: it is listed (the team's row), never ranked
    assert got["D"].score is None and got["D"].counted and got["D"].rank is None
    assert got["B"].formula == (
        "0.5 × norm(accuracy 0.8) + 0.5 × (1 − lognorm(gwp 1e-05 kgCO2e)) = 0.5 × 0.500 + 0.5 × (1 − 0.000) "
        "= 0.7500; scales over the 3 eligible submissions: accuracy 0.7..0.9 (linear), "
        "gwp 1e-05..0.001 kgCO2e (log10)"
    )
    assert got["B"].score_higher_is_better


def test_weighted_follows_the_weights() -> None:
    rows = rank_submissions(BOARD, ranking("weighted", weights=(0.8, 0.2)), perf(), impact=GWP)
    got = by_id(rows)
    assert got["A"].score == pytest.approx(0.8)
    assert got["B"].score == pytest.approx(0.4 + 0.2)
    assert got["C"].score == pytest.approx(0.1)
    assert ranks(rows) == ["A", "B", "C"]


def test_weighted_when_every_value_is_equal_ties_break_by_time_then_id() -> None:
    board = [sub(2, "t2", 5, 0.8, 1e-3), sub(3, "t3", 5, 0.8, 1e-3), sub(1, "t1", 9, 0.8, 1e-3)]
    rows = rank_submissions(board, ranking("weighted"), perf(), impact=GWP)
    assert [row.score for row in rows] == [1.0, 1.0, 1.0]
    assert ranks(rows) == [2, 3, 1]  # earlier submission first; same time: smaller id first


def test_weighted_with_a_zero_impact_reads_it_as_the_smallest_positive_one() -> None:
    board = [sub("z", "t1", 0, 0.7, 0.0), sub("s", "t2", 1, 0.7, 1e-4), sub("b", "t3", 2, 0.7, 1e-2)]
    got = by_id(rank_submissions(board, ranking("weighted"), perf(), impact=GWP))
    assert got["z"].score == got["s"].score == pytest.approx(1.0)
    assert got["b"].score == pytest.approx(0.5)


def test_error_metrics_rank_lower_values_first_and_their_minimum_is_a_maximum() -> None:
    board = [sub("x", "t1", 0, 2.0, 1e-3), sub("y", "t2", 1, 1.0, 1e-3), sub("z", "t3", 2, 3.0, 1e-3)]
    rows = rank_submissions(board, ranking("weighted"), perf("rmse", minimum=2.5), impact=GWP)
    assert ranks(rows) == ["y", "x"]
    got = by_id(rows)
    assert got["y"].score == pytest.approx(1.0) and got["x"].score == pytest.approx(0.5)
    assert got["z"].note == "not ranked: rmse 3 is above the largest error allowed 2.5"


def test_ratio_is_performance_per_unit_of_impact() -> None:
    rows = rank_submissions(BOARD, ranking("ratio"), perf(), impact=GWP)
    got = by_id(rows)
    assert got["A"].score == pytest.approx(900.0)
    assert got["B"].score == pytest.approx(80_000.0)
    assert got["C"].score == pytest.approx(7_000.0)
    assert ranks(rows) == ["B", "C", "A"]
    assert got["B"].formula == "accuracy / gwp = 0.8 / 1e-05 = 8e+04 per kgCO2e"


def test_ratio_with_an_error_metric_ranks_error_times_impact_lowest_first() -> None:
    board = [sub("x", "t1", 0, 2.0, 1e-3), sub("y", "t2", 1, 4.0, 1e-4), sub("z", "t3", 2, 1.0, 0.0)]
    rows = rank_submissions(board, ranking("ratio"), perf("mae", minimum=None), impact=GWP)
    got = by_id(rows)
    assert ranks(rows) == ["y", "x"]
    assert got["y"].score == pytest.approx(4e-4) and not got["y"].score_higher_is_better
    assert got["z"].note == "not ranked: the ratio needs a positive gwp, got 0"


def test_ratio_refuses_a_non_positive_performance() -> None:
    board = [sub("x", "t1", 0, -0.2, 1e-3), sub("y", "t2", 1, 0.3, 1e-3)]
    got = by_id(rank_submissions(board, ranking("ratio"), perf("r2", minimum=None), impact=GWP))
    assert got["y"].rank == 1
    assert got["x"].rank is None and got["x"].note == "not ranked: the ratio needs a positive r2, got -0.2"


def test_pareto_ranks_by_front_then_weighted_score() -> None:
    # A (0.9, 1e-3) and B (0.8, 1e-5) are not dominated; C (0.7, 1e-4) is dominated by B; E (0.85, 2e-3) by A.
    board = [*BOARD[:3], sub("E", "epsilon", 4, 0.85, 2e-3)]
    rows = rank_submissions(board, ranking("pareto"), perf(), impact=GWP)
    got = by_id(rows)
    assert [(r.submission_id, r.pareto_level) for r in rows] == [("B", 1), ("A", 1), ("E", 2), ("C", 2)]
    assert got["A"].pareto_front and got["B"].pareto_front and not got["C"].pareto_front
    # weighted scores over perf 0.7..0.9 and log10 gwp -5..log10(2e-3)
    span = math.log10(2e-3) + 5
    assert got["A"].score == pytest.approx(0.5 + 0.5 * (1 - 2 / span))
    assert got["B"].score == pytest.approx(0.75)
    assert got["E"].score == pytest.approx(0.5 * 0.75)
    assert got["C"].score == pytest.approx(0.5 * (1 - 1 / span))
    assert got["E"].formula.startswith(
        "Pareto level 2 on (accuracy vs gwp) among the ranked submissions; ties by"
    )


def test_threshold_ranks_those_meeting_the_minimum_by_impact_only() -> None:
    rows = rank_submissions(BOARD, ranking("threshold"), perf(), impact=GWP)
    assert ranks(rows) == ["B", "C", "A"]
    got = by_id(rows)
    assert got["B"].score == 1e-5 and not got["B"].score_higher_is_better
    assert got["D"].rank is None  # the least impact of all, but below the minimum
    assert (
        got["B"].formula == "accuracy 0.8 meets the minimum 0.6; ranked by gwp 1e-05 kgCO2e (lower is better)"
    )


def test_expression_ranks_by_the_formula() -> None:
    # accuracy - 0.05 * log10(gwp_g): A 0.9 - 0.05*0 = 0.9, B 0.8 + 0.1 = 0.9 + ε, C 0.7 + 0.05 = 0.75
    board = [
        sub("A", "alpha", 0, 0.9, 1e-3),
        sub("B", "beta", 1, 0.8, 1e-5),
        sub("C", "gamma", 2, 0.75, 1e-4),
    ]
    rows = rank_submissions(
        board, ranking("expression", expression="accuracy - 0.02 * log10(gwp_g)"), perf(), impact=GWP
    )
    got = by_id(rows)
    assert got["A"].score == pytest.approx(0.9)
    assert got["B"].score == pytest.approx(0.84)
    assert got["C"].score == pytest.approx(0.77)
    assert ranks(rows) == ["A", "B", "C"]
    assert got["C"].formula == "accuracy - 0.02 * log10(gwp_g) with accuracy=0.75, gwp_g=0.1 = 0.77"


def test_expression_errors_leave_the_submission_listed_with_the_message() -> None:
    board = [sub("A", "alpha", 0, 0.9, 1e-3), sub("Z", "zeta", 1, 0.8, 0.0)]
    rows = rank_submissions(board, ranking("expression", expression="accuracy / gwp_g"), perf(), impact=GWP)
    got = by_id(rows)
    assert got["A"].rank == 1
    assert got["Z"].rank is None
    assert got["Z"].note is not None and "column 10: division by zero" in got["Z"].note


def test_expression_that_does_not_parse_raises() -> None:
    with pytest.raises(ExpressionError):
        rank_submissions(BOARD, ranking("expression", expression="accuracy -"), perf(), impact=GWP)


def test_expression_may_use_quantities_given_by_the_caller() -> None:
    board = [
        sub("A", "alpha", 0, 0.9, 1e-3, quantities={"team_gwp_g": 50.0}),
        sub("B", "beta", 1, 0.9, 1e-3, quantities={"team_gwp_g": 5.0}),
    ]
    rows = rank_submissions(
        board, ranking("expression", expression="accuracy - 0.01 * team_gwp_g"), perf(), impact=GWP
    )
    assert ranks(rows) == ["B", "A"]


# A team with three submissions: a1 (0.7), a2 (0.9, the best), a3 (0.5, the latest, below the minimum)
TEAM_BOARD = [
    sub("a1", "alpha", 0, 0.7, 1e-3, selected=True),
    sub("a2", "alpha", 10, 0.9, 1e-3),
    sub("a3", "alpha", 20, 0.5, 1e-3),
    sub("b1", "beta", 5, 0.8, 1e-3),
]


def test_per_team_best() -> None:
    rows = rank_submissions(TEAM_BOARD, ranking("weighted"), perf(), impact=GWP)
    got = by_id(rows)
    assert ranks(rows) == ["a2", "b1"]
    assert got["a2"].counted and not got["a1"].counted
    assert got["a1"].rank is None and got["a1"].score is not None
    assert got["a1"].note == "not counted: the team's best submission is a2"


def test_per_team_latest_lists_a_team_whose_latest_misses_the_minimum() -> None:
    rows = rank_submissions(TEAM_BOARD, ranking("weighted", per_team="latest"), perf(), impact=GWP)
    got = by_id(rows)
    assert ranks(rows) == ["b1"]
    assert got["a3"].counted and got["a3"].rank is None
    assert got["a3"].note == "not ranked: accuracy 0.5 is below the minimum 0.6"
    assert got["a2"].note == "not counted: the team's latest submission is a3"


def test_per_team_selected_and_the_fallback_to_best() -> None:
    rows = rank_submissions(TEAM_BOARD, ranking("weighted", per_team="selected"), perf(), impact=GWP)
    got = by_id(rows)
    assert ranks(rows) == ["b1", "a1"]  # alpha chose a1 (0.7) although a2 (0.9) is better
    assert got["b1"].note == "the team selected no submission: its best one counts"


def test_per_team_selected_when_the_selected_submission_cannot_be_ranked() -> None:
    board = [
        sub("a1", "alpha", 0, 0.7, 1e-3),
        sub("a2", "alpha", 10, 0.9, 1e-3, selected=True, excluded="needs review: overlapping jobs"),
    ]
    got = by_id(rank_submissions(board, ranking("weighted", per_team="selected"), perf(), impact=GWP))
    assert got["a1"].rank == 1
    assert got["a1"].note == "the team's selected submission a2 cannot be ranked: its best one counts"
    assert got["a2"].note == "not ranked: needs review: overlapping jobs"


def test_excluded_and_unmeasured_submissions_are_listed_with_the_reason() -> None:
    board = [
        sub("ok", "t1", 0, 0.9, 1e-3),
        sub("rev", "t2", 1, 0.95, 1e-4, excluded="needs review: a telemetry gap of 40 s"),
        sub("np", "t3", 2, None, 1e-4),
        sub("ni", "t4", 3, 0.9, None),
        sub("neg", "t5", 4, 0.9, -1.0),
    ]
    got = by_id(rank_submissions(board, ranking("weighted"), perf(), impact=GWP))
    assert got["ok"].rank == 1
    assert got["rev"].note == "not ranked: needs review: a telemetry gap of 40 s"
    assert got["np"].note == "not ranked: no accuracy for this submission"
    assert got["ni"].note == "not ranked: no gwp measured for this submission"
    assert got["neg"].note == "not ranked: the gwp is negative (-1)"
    assert all(got[k].rank is None and not got[k].counted for k in ("rev", "np", "ni", "neg"))


def test_rows_keep_every_submission_ranked_first_then_by_team_and_time() -> None:
    rows = rank_submissions(TEAM_BOARD, ranking("weighted"), perf(), impact=GWP)
    assert [row.submission_id for row in rows] == ["a2", "b1", "a1", "a3"]


def test_an_empty_board() -> None:
    assert rank_submissions([], ranking("pareto"), perf(), impact=GWP) == []


def dominates(p: tuple[float, float], q: tuple[float, float]) -> bool:
    return p[0] >= q[0] and p[1] <= q[1] and p != q


def brute_levels(points: list[tuple[float, float]]) -> list[int]:
    levels = [0] * len(points)
    remaining = set(range(len(points)))
    level = 0
    while remaining:
        level += 1
        front = {i for i in remaining if not any(dominates(points[j], points[i]) for j in remaining)}
        for i in front:
            levels[i] = level
        remaining -= front
    return levels


small = st.integers(min_value=0, max_value=6).map(float)


@settings(max_examples=300, deadline=None)
@given(points=st.lists(st.tuples(small, small), max_size=40))
def test_pareto_levels_match_a_brute_force_definition(points: list[tuple[float, float]]) -> None:
    assert pareto_levels(points) == brute_levels(points)


METHOD_SECTIONS = [
    ranking("weighted"),
    ranking("ratio"),
    ranking("pareto"),
    ranking("threshold"),
    ranking("expression", expression="accuracy - 0.05 * log10(gwp_g)"),
]
maybe_perf = st.one_of(st.none(), st.floats(min_value=0.0, max_value=1.0))
maybe_impact = st.one_of(st.none(), st.just(0.0), st.floats(min_value=1e-7, max_value=1.0))
random_board = st.lists(
    st.tuples(
        st.sampled_from(["t1", "t2", "t3", "t4"]), maybe_perf, maybe_impact, st.booleans(), st.booleans()
    ),
    max_size=30,
)


@pytest.mark.parametrize("section", METHOD_SECTIONS, ids=lambda s: s.method)
@pytest.mark.parametrize("per_team", ["best", "latest", "selected"])
@settings(max_examples=40, deadline=None)
@given(entries=random_board)
def test_any_board_gives_distinct_ranks_one_per_team_in_score_order(
    section: RankingSection, per_team: str, entries: list[tuple[str, float | None, float | None, bool, bool]]
) -> None:
    board = [
        sub(k, team, k % 7, p, i, selected=selected, excluded="disqualified" if excluded else None)
        for k, (team, p, i, selected, excluded) in enumerate(entries)
    ]
    rows = rank_submissions(board, section.model_copy(update={"per_team": per_team}), perf(), impact=GWP)
    assert sorted(str(r.submission_id) for r in rows) == sorted(str(s.submission_id) for s in board)
    ranked = [r for r in rows if r.rank is not None]
    assert [r.rank for r in ranked] == list(range(1, len(ranked) + 1))
    assert len({r.team for r in ranked}) == len(ranked)
    assert all(r.counted and r.score is not None and r.formula for r in ranked)
    assert all(r.note for r in rows if r.rank is None)
    counted_per_team = [r.team for r in rows if r.counted]
    assert len(counted_per_team) == len(set(counted_per_team))
    if section.method != "pareto":
        scores = [r.score if r.score_higher_is_better else -r.score for r in ranked if r.score is not None]
        assert scores == sorted(scores, reverse=True)
