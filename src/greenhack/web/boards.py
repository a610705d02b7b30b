"""The board as served: which board, its rows and what its columns mean, as one typed response."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from greenhack.config import EventConfig
from greenhack.store import queries
from greenhack.store.views import BoardEntry, ParetoPoint
from greenhack.web.visibility import BoardChoice, BoardName

__all__ = ["BoardResponse", "ParetoResponse", "board_csv", "build_board", "build_pareto"]


class BoardResponse(BaseModel):
    """One board: its rows (one per team) and how to read them.

    ``performance`` is the event metric (``higher_is_better`` gives its direction) on the public rows, or the
    private rows on the final board; ``impact_*`` are in ``impact_unit`` (lower is better) with their min/max
    uncertainty; energies in J; ``team_gwp_kgco2e`` in kgCO2e.
    """

    model_config = ConfigDict(frozen=True)

    event: str
    board: BoardName
    frozen: bool
    closed: bool
    cut: datetime | None
    metric: str
    higher_is_better: bool
    impact_criterion: str
    impact_unit: str
    impact_lower_is_better: bool = True
    ranking_method: str
    data_version: int
    rows: list[BoardEntry]


class ParetoResponse(BaseModel):
    """Every scored submission's performance and impact on one board, with the Pareto front flagged."""

    model_config = ConfigDict(frozen=True)

    board: BoardName
    metric: str
    higher_is_better: bool
    impact_unit: str
    points: list[ParetoPoint]


def build_board(
    *, session: Session, config: EventConfig, event_id: int, choice: BoardChoice, version: int
) -> BoardResponse:
    """The rows of the chosen board with their legend."""
    until = choice.state.cut if choice.name == "frozen" else None
    rows = queries.board(session=session, event_id=event_id, board_name=choice.name, until=until)
    return BoardResponse(
        event=config.event.name,
        board=choice.name,
        frozen=choice.state.frozen,
        closed=choice.state.closed,
        cut=choice.state.cut,
        metric=config.performance.metric,
        higher_is_better=config.performance.higher_is_better,
        impact_criterion=config.impact.criterion,
        impact_unit=config.impact.unit,
        ranking_method=config.ranking.method,
        data_version=version,
        rows=rows,
    )


def build_pareto(*, session: Session, config: EventConfig, event_id: int, board: BoardName) -> ParetoResponse:
    return ParetoResponse(
        board=board,
        metric=config.performance.metric,
        higher_is_better=config.performance.higher_is_better,
        impact_unit=config.impact.unit,
        points=queries.pareto_points(session=session, event_id=event_id, board_name=board),
    )


_CSV_COLUMNS = (
    "rank",
    "team_name",
    "submission_id",
    "performance",
    "impact_total",
    "impact_min",
    "impact_max",
    "impact_unit",
    "energy_j",
    "score",
    "pareto",
    "submissions_count",
    "team_energy_j",
    "team_gwp_kgco2e",
    "note",
)


def _cell(value: object) -> str:
    if value is None:
        return ""
    text = str(value)
    # a cell a spreadsheet would run as a formula is quoted as text
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def board_csv(board: BoardResponse) -> str:
    """The board as CSV, one line per team, with a header naming the metric and the impact unit."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = [c.replace("performance", board.metric) for c in _CSV_COLUMNS]
    writer.writerow(header)
    for row in board.rows:
        writer.writerow([_cell(getattr(row, c)) for c in _CSV_COLUMNS])
    return out.getvalue()
