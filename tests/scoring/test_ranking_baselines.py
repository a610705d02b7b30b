"""Baselines on a board (issue 19): listed with the method's score and where they would place, never ranked, and
the teams' ranks, scores and notes exactly what they are without them, whatever the method."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from greenhack.config import ImpactSection, PerformanceSection, RankingSection
from greenhack.scoring import RankInput, rank_submissions

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
GWP = ImpactSection(criterion="gwp")
ACCURACY = PerformanceSection(metric="accuracy", minimum=0.6)


def sub(sid: int, team: str, minute: int, perf: float | None, impact: float | None, **kw: Any) -> RankInput:
    return RankInput(
        submission_id=sid,
        team=team,
        submitted_at=T0 + timedelta(minutes=minute),
        performance=perf,
        impact=impact,
        energy_j=None if impact is None else impact * 1e7,
        gwp_kgco2e=impact,
        **kw,
    )


def ranking(method: str, **kw: Any) -> RankingSection:
    data: dict[str, Any] = {"method": method, **kw}
    if method in ("weighted", "pareto"):
        data["weights"] = {"performance": 0.5, "impact": 0.5}
    if method == "expression":
        data["expression"] = "accuracy - 0.05 * log10(gwp_g)"
    return RankingSection.model_validate(data)


TEAMS = [
    sub(1, "alpha", 0, 0.9, 1e-3),
    sub(2, "beta", 1, 0.8, 1e-5),
    sub(3, "gamma", 2, 0.7, 1e-4),
    sub(4, "gamma", 3, 0.72, 2e-4),
    sub(5, "delta", 4, 0.5, 1e-6),  # below the minimum
]
# far outside the teams' ranges: on the teams' weighted scale it would change their scores, and so maybe their order
BASELINES = [
    sub(11, "Logistic regression", 5, 0.99, 1e-8, baseline=True),
    sub(12, "Logistic regression", 6, 0.62, 1e-7, baseline=True),
]


@pytest.mark.parametrize("method", ["weighted", "ratio", "pareto", "threshold", "expression"])
@pytest.mark.parametrize("per_team", ["best", "latest", "selected"])
def test_baselines_change_nothing_for_the_teams(method: str, per_team: str) -> None:
    config = ranking(method, per_team=per_team)
    alone = rank_submissions(TEAMS, config, ACCURACY, impact=GWP)
    beside = rank_submissions([*BASELINES[:1], *TEAMS, *BASELINES[1:]], config, ACCURACY, impact=GWP)
    assert beside[: len(TEAMS)] == alone
    rows = beside[len(TEAMS) :]
    assert {r.submission_id for r in rows} == {11, 12}
    assert all(r.baseline and r.rank is None and r.team == "Logistic regression" for r in rows)
    assert sum(r.counted for r in rows) == 1


def test_ranked_as_teams_the_baselines_would_move_the_teams_scores() -> None:
    # what the rule above prevents: on the teams' weighted scale, the baselines' extremes rescale everyone
    naive = rank_submissions([*TEAMS, *(replace(b, baseline=False) for b in BASELINES)], ranking("weighted"), ACCURACY, impact=GWP)
    alone = rank_submissions(TEAMS, ranking("weighted"), ACCURACY, impact=GWP)
    scores = {r.submission_id: r.score for r in alone}
    assert any(r.score != scores[r.submission_id] for r in naive if r.submission_id in scores)


def test_a_baseline_says_where_it_would_place() -> None:
    # threshold ranks by impact: beta 1e-5, then the baseline's 5e-5, then gamma 1e-4 and alpha 1e-3
    board = [*TEAMS, sub(11, "Logistic regression", 5, 0.75, 5e-5, baseline=True)]
    rows = rank_submissions(board, ranking("threshold"), ACCURACY, impact=GWP)
    assert [r.team for r in rows if r.rank is not None] == ["beta", "gamma", "alpha"]
    (base,) = [r for r in rows if r.baseline]
    assert base.would_rank == 2 and base.rank is None and base.counted and base.score == 5e-5
    assert base.note == "baseline, never ranked; it would place 2 among the teams"
    assert base.formula.endswith("ranked by gwp 5e-05 kgCO2e (lower is better)")


def test_a_baseline_keeps_its_own_pick_even_under_a_teams_name() -> None:
    board = [*TEAMS, sub(11, "beta", 5, 0.61, 1e-3, baseline=True), sub(12, "beta", 6, 0.95, 1e-6, baseline=True)]
    rows = rank_submissions(board, ranking("threshold"), ACCURACY, impact=GWP)
    team_beta = [r for r in rows if r.team == "beta" and not r.baseline]
    assert [(r.submission_id, r.rank) for r in team_beta] == [(2, 1)]  # the baseline's 1e-6 is not the team's
    counted = [r for r in rows if r.baseline and r.counted]
    assert [(r.submission_id, r.would_rank) for r in counted] == [(12, 1)]
    other = next(r for r in rows if r.submission_id == 11)
    assert other.note is not None and other.note.startswith("baseline, never ranked; not counted")


def test_a_baseline_that_cannot_be_ranked_is_listed_with_the_reason() -> None:
    board = [*TEAMS, sub(11, "Majority class", 5, 0.4, 1e-6, baseline=True)]
    rows = rank_submissions(board, ranking("weighted"), ACCURACY, impact=GWP)
    (base,) = [r for r in rows if r.baseline]
    assert base.would_rank is None and base.rank is None
    assert base.note == "baseline, never ranked; not ranked: accuracy 0.4 is below the minimum 0.6"


def test_significance_is_the_teams_alone() -> None:
    config = ranking("weighted", ties="significant")
    alone = rank_submissions(TEAMS, config, ACCURACY, impact=GWP, seed="s")
    beside = rank_submissions([*TEAMS, *BASELINES], config, ACCURACY, impact=GWP, seed="s")
    assert beside[: len(TEAMS)] == alone
    assert all(not r.tied and r.above_next_share is None for r in beside[len(TEAMS) :])


def test_a_board_of_baselines_only_ranks_nobody() -> None:
    rows = rank_submissions([replace(b) for b in BASELINES], ranking("weighted"), ACCURACY, impact=GWP)
    assert [r.rank for r in rows] == [None, None]
    assert [r.would_rank for r in rows if r.counted] == [1]
