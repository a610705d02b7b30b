"""The team page's learning curve and its standing against the organisers' baselines (issue 19).

- :func:`team_standing`: the team's line on the board this visitor sees, with how it compares with the board's
  baselines (:func:`greenhack.web.boards.compare_with_board_baselines`, the same words as the board's), and the
  headline baseline's performance on the public rows, the curve's dashed reference.
- :func:`learning_curve`: :func:`greenhack.web.charts.learning_curve_chart` over every job of the team (failed
  and invalid ones included: they cost), time zero the event's opening, the footprint in the event criterion's
  unit.
- :func:`trial_and_error_cost`: the sentence under it, what the team's trial and error cost so far (every job's
  energy and carbon, as the team's totals count them).
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup
from sqlalchemy.orm import Session

from greenhack.store import queries
from greenhack.store.board_scope import board_scope
from greenhack.store.views import BaselineComparisonView, BoardEntry, TeamDetail
from greenhack.units import format_quantity
from greenhack.web.boards import build_board
from greenhack.web.charts import LearningPoint, learning_curve_chart
from greenhack.web.context import AppContext
from greenhack.web.visibility import BoardChoice
from greenhack.wording import plural

__all__ = ["TeamStanding", "learning_curve", "team_standing", "trial_and_error_cost"]


@dataclass(frozen=True)
class TeamStanding:
    """The team against the baselines on the board this visitor sees.

    Attributes:
        board: that board's name.
        vs_baselines: how the team's line compares with each baseline, the headline first (empty: the team has
            no line there, is itself a baseline, or the board has no baseline).
        baseline_label / baseline_performance: the headline baseline and its metric on the public rows (the
            live or frozen board's; the live one's once the final board shows the private rows), or None.
    """

    board: str
    vs_baselines: tuple[BaselineComparisonView, ...]
    baseline_label: str | None
    baseline_performance: float | None


def _headline_baseline(rows: list[BoardEntry], vs: tuple[BaselineComparisonView, ...]) -> BoardEntry | None:
    baselines = [r for r in rows if r.baseline]
    if vs:
        named = next((r for r in baselines if r.team_name == vs[0].baseline), None)
        if named is not None:
            return named
    return baselines[0] if baselines else None


def team_standing(*, context: AppContext, session: Session, choice: BoardChoice, team_id: int) -> TeamStanding:
    """The team's comparison with the baselines on ``choice``'s board, and the curve's baseline reference."""
    board = build_board(
        session=session, config=context.config, event_id=context.event_id, choice=choice, version=0
    )
    own = next((r for r in board.rows if r.team_id == team_id), None)
    vs = tuple(own.vs_baselines) if own is not None else ()
    public_rows = list(board.rows)
    if choice.name == "final":  # the curve plots public rows: the baseline's are the live board's
        public_rows = queries.board(
            session=session,
            event_id=context.event_id,
            board_name="live",
            phase=choice.phase,  # the live board of the same phase and track
            track=choice.track,
            scope=board_scope(context.config, phase=choice.phase, track=choice.track),
        )
    reference = _headline_baseline(public_rows, vs)
    return TeamStanding(
        board=choice.name,
        vs_baselines=vs,
        baseline_label=reference.team_name if reference is not None else None,
        baseline_performance=reference.performance if reference is not None else None,
    )


def learning_curve(context: AppContext, detail: TeamDetail, standing: TeamStanding) -> Markup:
    """The team's submissions over time (public rows' metric) above its cumulative footprint."""
    config = context.config
    points = [
        LearningPoint(
            submission_id=s.id,
            submitted_at=s.created_at,
            performance=s.performance_public,
            footprint=s.impact_total,
        )
        for s in detail.submissions
    ]
    label = standing.baseline_label
    return learning_curve_chart(
        points,
        team_name=detail.team.name,
        metric=config.performance.metric,
        higher_is_better=config.performance.higher_is_better,
        footprint_label=config.impact.criterion,
        footprint_unit=config.impact.unit,
        since=config.event.opens,
        since_label="the event opened",
        baseline_performance=None if detail.team.baseline else standing.baseline_performance,
        baseline_label=f"baseline {label}" if label else "baseline",
    )


def trial_and_error_cost(detail: TeamDetail) -> str:
    """One sentence: what every job of the team cost so far, energy and carbon (failed jobs included)."""
    jobs = len(detail.submissions)
    if not jobs:
        return "No job yet: its trial and error has cost nothing so far."
    team = detail.team
    who = "The baseline's runs have" if team.baseline else "Its trial and error has"
    return (
        f"{who} cost {format_quantity(team.energy_j, 'J')} and {format_quantity(team.gwp_kgco2e, 'kgCO2e')} so "
        f"far, over {plural(jobs, 'job')} (failed and invalid ones included: they ran too)."
    )
