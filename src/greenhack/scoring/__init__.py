"""Scoring: predictions against the hidden truth, the public/private split, metrics, ranking, team accounting.

The flow for one submission::

    truth = load_truth(config)                       # the admins' file; ConfigError with FILE:LINE
    split = split_for(config, truth)                 # deterministic, seeded by the event
    result = score_predictions(data, config=config, truth=truth, split=split)
    # result.status == "invalid" → result.problems are the messages for the team

and for a board::

    rows = rank_submissions(inputs, config.ranking, config.performance, impact=config.impact)
"""

from __future__ import annotations

from greenhack.expression import FUNCTIONS, QUANTITIES, Expression, check_expression, parse_expression
from greenhack.metrics import METRIC_SPECS, MetricSpec, compute_metric
from greenhack.scoring.accounting import event_timezone, local_day_start, team_accounts
from greenhack.scoring.bootstrap import (
    BOOTSTRAP_REPLICATES,
    PerformanceReplicates,
    ReplicateVector,
    Resamples,
    board_resamples,
    bootstrap_performance,
    metric_replicates,
    paired_difference_interval,
    percentile_interval,
)
from greenhack.scoring.evaluate import evaluate_performance, score_predictions, split_for
from greenhack.scoring.models import (
    JobRecord,
    Performance,
    Predictions,
    RankedRow,
    RankInput,
    ScoreResult,
    Split,
    TeamAccount,
    Truth,
)
from greenhack.scoring.pareto import pareto_levels
from greenhack.scoring.predictions import read_predictions
from greenhack.scoring.ranking import WeightedScale, expression_values, rank_submissions
from greenhack.scoring.split import split_key, split_rows
from greenhack.scoring.truth import load_truth, parse_truth

__all__ = [
    "BOOTSTRAP_REPLICATES",
    "FUNCTIONS",
    "METRIC_SPECS",
    "QUANTITIES",
    "Expression",
    "JobRecord",
    "MetricSpec",
    "Performance",
    "PerformanceReplicates",
    "Predictions",
    "RankInput",
    "RankedRow",
    "ReplicateVector",
    "Resamples",
    "ScoreResult",
    "Split",
    "TeamAccount",
    "Truth",
    "WeightedScale",
    "board_resamples",
    "bootstrap_performance",
    "check_expression",
    "compute_metric",
    "evaluate_performance",
    "event_timezone",
    "expression_values",
    "load_truth",
    "local_day_start",
    "metric_replicates",
    "paired_difference_interval",
    "pareto_levels",
    "parse_expression",
    "parse_truth",
    "percentile_interval",
    "rank_submissions",
    "read_predictions",
    "score_predictions",
    "split_for",
    "split_key",
    "split_rows",
    "team_accounts",
]
