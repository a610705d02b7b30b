"""Which projects are baselines, and how a team's row compares with them (issue 19): energy as a share, the metric
in points or in its own units by its direction, zero and missing values, several baselines."""

from __future__ import annotations

import pytest
from competition_support import EXAMPLE

from greenhack.competition import (
    Standing,
    baseline_for_project,
    compare_with_baselines,
    event_baselines,
    team_clashes,
)
from greenhack.config import load_event

BASE = Standing("Logistic regression", performance=0.812, energy_j=5000.0, impact=2e-3)


def test_baselines_are_found_by_their_projects_full_path_case_insensitively() -> None:
    config = load_event(EXAMPLE)
    logreg, cnn = event_baselines(config)
    assert (logreg.project_path, logreg.label, logreg.position) == (
        "green-ai-hack-2026/baselines/logreg",
        "Logistic regression",
        0,
    )
    assert cnn.project_path == "green-ai-hack-2026/baselines/small-cnn" and cnn.label == "small-cnn"
    assert baseline_for_project(config, "Green-AI-Hack-2026/Baselines/LogReg") == logreg
    assert baseline_for_project(config, "green-ai-hack-2026/team-7") is None
    assert team_clashes(config, ["team-7", "baselines/small-cnn", "green-ai-hack-2026/baselines/LOGREG"]) == [
        "team project 'baselines/small-cnn' is also baselines[1] ('small-cnn'): a baseline is never ranked, so a "
        "team's project must not be one",
        "team project 'green-ai-hack-2026/baselines/LOGREG' is also baselines[0] ('Logistic regression'): a "
        "baseline is never ranked, so a team's project must not be one",
    ]


def test_the_issues_sentence() -> None:
    row = Standing("team", performance=0.833, energy_j=2950.0, impact=1.3e-3)
    (comparison,) = compare_with_baselines(row, [BASE], metric="accuracy")
    assert comparison.text == "41% less energy than the baseline at +2.1 points of accuracy"
    assert comparison.energy_change == pytest.approx(-0.41)
    assert comparison.impact_change == pytest.approx(-0.35)
    assert comparison.performance_delta == pytest.approx(0.021) and comparison.performance_better is True
    # both energies in one unit, the one the smaller reads best in
    assert comparison.detail == "2950 J against 5000 J"


@pytest.mark.parametrize(
    ("energy_j", "performance", "text"),
    [
        (7500.0, 0.80, "50% more energy than the baseline at −1.2 points of accuracy"),
        (15000.0, 0.812, "3× the energy of the baseline at the same accuracy"),
        (5010.0, 0.9, "the same energy as the baseline at +8.8 points of accuracy"),
        (0.0, 0.812, "100% less energy than the baseline at the same accuracy"),
        (2500.0, None, "50% less energy than the baseline"),
    ],
)
def test_energy_and_accuracy_words(energy_j: float, performance: float | None, text: str) -> None:
    row = Standing("team", performance=performance, energy_j=energy_j)
    assert compare_with_baselines(row, [BASE], metric="accuracy")[0].text == text


@pytest.mark.parametrize(
    ("metric", "row_value", "base_value", "text", "better"),
    [
        # an error: lower is better, and its difference is in the target's own units
        ("rmse", 0.38, 0.50, "41% less energy than the baseline at rmse 0.12 lower (better)", True),
        ("mae", 0.61, 0.50, "41% less energy than the baseline at mae 0.11 higher (worse)", False),
        # r2 is not bounded below: its own units
        ("r2", 0.70, 0.72, "41% less energy than the baseline at r2 0.02 lower (worse)", False),
        ("f1_macro", 0.70, 0.72, "41% less energy than the baseline at −2 points of f1_macro", False),
    ],
)
def test_the_metrics_direction_and_units(
    metric: str, row_value: float, base_value: float, text: str, better: bool
) -> None:
    row = Standing("team", performance=row_value, energy_j=2950.0)
    base = Standing("base", performance=base_value, energy_j=5000.0)
    (comparison,) = compare_with_baselines(row, [base], metric=metric)
    assert comparison.text == text and comparison.performance_better is better


def test_missing_and_zero_energies_compare_the_metric_alone() -> None:
    row = Standing("team", performance=0.833, energy_j=None)
    assert compare_with_baselines(row, [BASE], metric="accuracy")[0].text == (
        "+2.1 points of accuracy against the baseline (this row's energy is not measured)"
    )
    zero = Standing("base", performance=0.812, energy_j=0.0)
    (comparison,) = compare_with_baselines(Standing("team", 0.833, 100.0), [zero], metric="accuracy")
    assert comparison.energy_change is None and comparison.text == (
        "+2.1 points of accuracy against the baseline (the baseline's energy reads 0, so no ratio)"
    )
    unmeasured = Standing("base", performance=0.812, energy_j=float("nan"))
    assert compare_with_baselines(Standing("team", 0.833, 100.0), [unmeasured], metric="accuracy")[0].text == (
        "+2.1 points of accuracy against the baseline (the baseline's energy is not measured)"
    )
    # nothing in common: no comparison at all
    assert compare_with_baselines(Standing("team", None, None), [BASE], metric="accuracy") == ()
    assert compare_with_baselines(Standing("team", 0.9, 1.0), [], metric="accuracy") == ()


def test_several_baselines_headline_the_first_whose_energy_compares() -> None:
    row = Standing("team", performance=0.833, energy_j=2950.0)
    unmeasured = Standing("Majority class", performance=0.4, energy_j=None)
    cnn = Standing("small-cnn", performance=0.85, energy_j=59000.0)
    comparisons = compare_with_baselines(row, [unmeasured, BASE, cnn], metric="accuracy")
    assert [c.baseline for c in comparisons] == ["Logistic regression", "Majority class", "small-cnn"]
    assert comparisons[0].text == (
        "41% less energy than the baseline 'Logistic regression' at +2.1 points of accuracy"
    )
    assert comparisons[2].text == "95% less energy than the baseline 'small-cnn' at −1.7 points of accuracy"
    # the detail writes both energies in one unit (greenhack.units: the smaller reads at least 1 in it)
    assert comparisons[2].detail == "2950 J against 59000 J"
    big = compare_with_baselines(Standing("team", 0.8, 2.95e6), [Standing("cnn", 0.8, 5.9e7)], metric="accuracy")
    assert big[0].detail == "819 Wh against 16389 Wh"
