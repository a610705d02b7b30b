"""The board as served: one view of what a board shows a visitor (which board and why, its rows and what its
columns mean, the chart's points), read once per data version and rendered as JSON, CSV or HTML.

Every board route goes through :func:`board_response`: it picks the board this visitor may see
(:func:`board_for`), reads the :class:`BoardView` in one transaction, and answers from the response cache (ETag,
304) with the route's rendering of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from fastapi import HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from greenhack.competition import (
    BoardKey,
    EventPhase,
    event_phases,
    event_tracks,
    phase_at,
    phase_named,
    place_submission,
    track_of_server,
)
from greenhack.competition.baselines import Standing, compare_with_baselines, event_baselines
from greenhack.config import EventConfig
from greenhack.store import queries
from greenhack.store.board_scope import board_scope
from greenhack.store.db import transaction
from greenhack.store.views import BaselineComparisonView, BoardEntry, ParetoPoint
from greenhack.units import Scale, format_number, pick_scale
from greenhack.web.caching import cached_response
from greenhack.web.context import AppContext
from greenhack.web.templating import fmt_time
from greenhack.web.visibility import BoardChoice, BoardName, choose_board

__all__ = [
    "BoardResponse",
    "BoardTab",
    "BoardView",
    "ParetoResponse",
    "SubmissionBoards",
    "board_csv",
    "board_for",
    "board_key",
    "board_response",
    "board_tabs",
    "build_board",
    "build_pareto",
    "compare_with_board_baselines",
    "read_board_view",
    "submission_boards",
]


class BoardResponse(BaseModel):
    """One board: its rows (one per team) and how to read them.

    ``performance`` is the event metric (``higher_is_better`` gives its direction) on the public rows, or the
    private rows on the final board; ``impact_*`` are in ``impact_unit`` (lower is better) with their min/max
    uncertainty; energies in J; ``team_gwp_kgco2e`` in kgCO2e. Every interval (``*_low``/``*_high``) is at
    ``confidence``; with ``ties: significant`` a row's ``rank_label`` is ``=2`` when it shares its rank.
    """

    model_config = ConfigDict(frozen=True)

    event: str
    board: BoardName
    # the board's phase and hardware track ("": the event has none)
    phase: str = ""
    track: str = ""
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
    ties: str = "none"
    confidence: float = 0.95


class ParetoResponse(BaseModel):
    """Every scored submission's performance and impact on one board, with the Pareto front flagged."""

    model_config = ConfigDict(frozen=True)

    board: BoardName
    phase: str = ""
    track: str = ""
    metric: str
    higher_is_better: bool
    impact_unit: str
    points: list[ParetoPoint]


def build_board(
    *, session: Session, config: EventConfig, event_id: int, choice: BoardChoice, version: int
) -> BoardResponse:
    """The rows of the chosen board with their legend."""
    until = choice.state.cut if choice.name == "frozen" else None
    rows = queries.board(
        session=session,
        event_id=event_id,
        board_name=choice.name,
        until=until,
        impact_criterion=config.impact.criterion,
        phase=choice.phase,
        track=choice.track,
        scope=board_scope(config, phase=choice.phase, track=choice.track),
    )
    rows = compare_with_board_baselines(rows, config)
    ranking = phase_named(event_phases(config), choice.phase).ranking
    return BoardResponse(
        event=config.event.name,
        board=choice.name,
        phase=choice.phase,
        track=choice.track,
        frozen=choice.state.frozen,
        closed=choice.state.closed,
        cut=choice.state.cut,
        metric=config.performance.metric,
        higher_is_better=config.performance.higher_is_better,
        impact_criterion=config.impact.criterion,
        impact_unit=config.impact.unit,
        ranking_method=ranking.method,
        ties=ranking.ties,
        confidence=ranking.confidence,
        data_version=version,
        rows=rows,
    )


def _standing(row: BoardEntry) -> Standing:
    return Standing(row.team_name, row.performance, row.energy_j, row.impact_total)


def compare_with_board_baselines(rows: list[BoardEntry], config: EventConfig) -> list[BoardEntry]:
    """Each team's line with how it compares with the board's baselines (``vs_baselines``, the headline first;
    the baselines in the YAML's order, by their label), the lines' order kept."""
    baselines = [row for row in rows if row.baseline]
    if not baselines:
        return rows
    order = {b.label: b.position for b in event_baselines(config)}
    baselines.sort(key=lambda row: (order.get(row.team_name, len(order)), row.team_name))
    references = [_standing(row) for row in baselines]
    out = []
    for row in rows:
        if row.baseline:
            out.append(row)
            continue
        found = compare_with_baselines(_standing(row), references, metric=config.performance.metric)
        views = [BaselineComparisonView.model_validate(c) for c in found]
        out.append(row.model_copy(update={"vs_baselines": views}))
    return out


def build_pareto(
    *, session: Session, config: EventConfig, event_id: int, board: BoardName, phase: str = "", track: str = ""
) -> ParetoResponse:
    """Every scored submission's point on the performance-vs-impact chart of ``board`` of ``phase`` on
    ``track``."""
    return ParetoResponse(
        board=board,
        phase=phase,
        track=track,
        metric=config.performance.metric,
        higher_is_better=config.performance.higher_is_better,
        impact_unit=config.impact.unit,
        points=queries.pareto_points(
            session=session, event_id=event_id, board_name=board, phase=phase, track=track
        ),
    )


@dataclass(frozen=True)
class BoardView:
    """What one board shows one visitor.

    Attributes:
        choice: which board, the freeze state it follows from (frozen, closed, cut) and the boards this visitor
            may open instead.
        board: its rows, one per team, with their legend (metric and direction, impact criterion and unit,
            ranking method) and the data version they were read at.
        pareto: every scored submission's chart point with the Pareto front flagged; None unless asked for.
    """

    choice: BoardChoice
    board: BoardResponse
    pareto: ParetoResponse | None

    def points(self) -> ParetoResponse:
        """The chart points (the view must have been read ``with_pareto``)."""
        if self.pareto is None:
            raise RuntimeError("this board view was read without its chart points (with_pareto=False)")
        return self.pareto


def read_board_view(
    *,
    session: Session,
    config: EventConfig,
    event_id: int,
    choice: BoardChoice,
    version: int,
    with_pareto: bool = False,
) -> BoardView:
    """The chosen board as of ``version``, with its chart points when ``with_pareto``."""
    board = build_board(session=session, config=config, event_id=event_id, choice=choice, version=version)
    pareto = (
        build_pareto(
            session=session,
            config=config,
            event_id=event_id,
            board=choice.name,
            phase=choice.phase,
            track=choice.track,
        )
        if with_pareto
        else None
    )
    return BoardView(choice=choice, board=board, pareto=pareto)


def board_for(
    context: AppContext,
    *,
    admin: bool,
    asked: BoardName | None,
    phase: str | None = None,
    track: str | None = None,
) -> BoardChoice:
    """The board this visitor may see: of ``phase`` (None: the phase open now, else the last one that opened)
    on ``track`` (None: the first track); 404 for a phase or track the event does not have, 403 for a board
    hidden from them."""
    phases = event_phases(context.config)
    tracks = event_tracks(context.config)
    if phase is not None and phase not in {p.name for p in phases}:
        known = ", ".join(p.name for p in phases if p.name) or "none: the event has no phases"
        raise HTTPException(status_code=404, detail=f"no phase {phase!r} in the event (phases: {known})")
    if track is not None and track not in tracks:
        known = ", ".join(t for t in tracks if t) or "none: the event has no hardware tracks"
        raise HTTPException(status_code=404, detail=f"no track {track!r} in the event (tracks: {known})")
    state = context.freeze(phase)
    try:
        choice = choose_board(state, admin=admin, asked=asked)
    except PermissionError as exc:
        shown = phase_named(phases, state.phase)
        raise HTTPException(status_code=403, detail=f"{exc}{_when_public(shown, asked)}") from None
    return replace(choice, track=track if track is not None else tracks[0])


def _when_public(phase: EventPhase, asked: BoardName | None) -> str:
    """When the board refused becomes public (the page and the API say it alike)."""
    closes = fmt_time(phase.closes)
    if asked == "final":
        if phase.final_shown_at != phase.closes:  # a later phase scores against the same truth file
            shown = fmt_time(phase.final_shown_at)
            return f"; it is published at {shown}, when the last phase scoring on the same truth closes"
        return f"; it is published when {phase.title} closes, {closes}"
    if asked == "live":
        return f"; it is hidden while the board is frozen, until {phase.title} closes, {closes}"
    return ""


@dataclass(frozen=True)
class BoardTab:
    """One (phase, track) pair's boards in the board page's selector.

    Attributes:
        phase / track: their names (``""``: the event has none).
        label: how the selector names them (``practice · a100``).
        query: the link's query string (``phase=practice&track=a100``).
        current: the page shows this pair's board.
    """

    phase: str
    track: str
    label: str
    query: str
    current: bool


def board_tabs(config: EventConfig, choice: BoardChoice) -> tuple[BoardTab, ...]:
    """The event's (phase, track) pairs, phases in time order then tracks in the YAML's order; empty for an
    event without phases and tracks (its one pair needs no selector)."""
    pairs = [(p.name, t) for p in event_phases(config) for t in event_tracks(config)]
    if len(pairs) == 1:
        return ()
    return tuple(
        BoardTab(
            phase=phase,
            track=track,
            label=" · ".join(part for part in (phase, track) if part),
            query="&".join(f"{k}={v}" for k, v in (("phase", phase), ("track", track)) if v),
            current=(phase, track) == (choice.phase, choice.track),
        )
        for phase, track in pairs
    )


def board_key(choice: BoardChoice) -> BoardKey:
    """The key of the chosen board (``competition.BoardKey``)."""
    return BoardKey(choice.phase, choice.track, choice.name)


@dataclass(frozen=True)
class SubmissionBoards:
    """Which (phase, track) boards a submission is on, for its page.

    Attributes:
        label: ``phase 'final', track 'a100'``; None for an event without phases and tracks.
        query: the query string of those boards (``phase=final&track=a100``).
        note: why it is on no board, None when it is on some: the phase part for everyone, the track part
            (which server and why it is unknown) for admins only.
    """

    label: str | None
    query: str
    note: str | None


def submission_boards(
    config: EventConfig, *, created_at: datetime, server: str | None, admin: bool
) -> SubmissionBoards:
    """The boards of a submission created at ``created_at`` (GitLab's time) that ran on ``server``, as the
    board refresh places it (``competition.place_submission``)."""
    phases = event_phases(config)
    where = place_submission(config, phases, created_at=created_at, server_name=server, cut=None)
    if where.phase is not None and where.track is not None:
        parts = (("phase", where.phase.name), ("track", where.track))
        label = ", ".join(f"{k} {v!r}" for k, v in parts if v) or None
        return SubmissionBoards(label, "&".join(f"{k}={v}" for k, v in parts if v), None)
    notes = []
    if where.phase is None:
        notes.append(phase_at(phases, created_at).reason)
    if where.track is None and admin:
        notes.append(track_of_server(config, server).reason)
    note = "; ".join(n for n in notes if n) or "it ran on a server whose hardware track is unknown"
    return SubmissionBoards(None, "", f"On no board: {note}.")


def board_response(
    request: Request,
    context: AppContext,
    choice: BoardChoice,
    *,
    render: Callable[[BoardView], bytes],
    media_type: str,
    variant: str,
    with_pareto: bool = False,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The board rendered by ``render``, from the response cache (or 304).

    ``variant`` names the rendering and everything else its body depends on (format, sort order, admin's
    controls); the board, its freeze state, the boards this visitor may open and the data version complete the
    cache key.
    """

    def render_body(version: int) -> bytes:
        with transaction(context.sessions, f"reading the {board_key(choice).text} board") as session:
            view = read_board_view(
                session=session,
                config=context.config,
                event_id=context.event_id,
                choice=choice,
                version=version,
                with_pareto=with_pareto,
            )
        return render(view)

    key = f"{variant}:{choice.name}:{choice.state}:{choice.track}:{','.join(choice.allowed)}"
    return cached_response(
        request, context.cache, key=key, render=render_body, media_type=media_type, headers=headers
    )


@dataclass(frozen=True)
class _CsvColumn:
    """A CSV column: its header and what a row's cell holds."""

    header: str
    cell: Callable[[BoardEntry], object]


def _in(scale: Scale, attr: str) -> Callable[[BoardEntry], object]:
    """A quantity's cell in the column's unit, with every digit that matters (never in exponent notation)."""

    def cell(row: BoardEntry) -> object:
        value = getattr(row, attr)
        return None if value is None else format_number(scale(value), sig=12)

    return cell


def _attr(attr: str) -> Callable[[BoardEntry], object]:
    return lambda row: getattr(row, attr)


def _csv_columns(board: BoardResponse) -> list[_CsvColumn]:
    """The board's columns: each quantity in one unit, picked from its values as the board page picks it
    (:func:`greenhack.units.pick_scale`) and named in its header (``impact_total_gCO2e``, ``energy_Wh``)."""
    rows = board.rows
    impact = pick_scale([r.impact_total for r in rows], board.impact_unit)
    energy = pick_scale([r.energy_j for r in rows], "J")
    duration = pick_scale([r.duration_s for r in rows], "s")
    team_energy = pick_scale([r.team_energy_j for r in rows], "J")
    team_gwp = pick_scale([r.team_gwp_kgco2e for r in rows], "kgCO2e")
    columns = [
        _CsvColumn("rank", _attr("rank")),
        _CsvColumn("team_name", _attr("team_name")),
        _CsvColumn("submission_id", _attr("submission_id")),
        _CsvColumn(board.metric, _attr("performance")),
    ]
    # the impact and its range and parts share one unit: one quantity
    for part in ("total", "min", "max", "use", "embodied"):
        columns.append(_CsvColumn(f"impact_{part}_{impact.unit}", _in(impact, f"impact_{part}")))
    columns += [
        _CsvColumn(f"energy_{energy.unit}", _in(energy, "energy_j")),
        _CsvColumn(f"duration_{duration.unit}", _in(duration, "duration_s")),
        _CsvColumn("server", _attr("server")),
        _CsvColumn("window_start", _attr("window_start")),
        _CsvColumn("window_end", _attr("window_end")),
        _CsvColumn("created_at", _attr("created_at")),
        _CsvColumn("finished_at", _attr("finished_at")),
        _CsvColumn("score", _attr("score")),
        _CsvColumn("pareto", _attr("pareto")),
        _CsvColumn("submissions_count", _attr("submissions_count")),
        _CsvColumn(f"team_energy_{team_energy.unit}", _in(team_energy, "team_energy_j")),
        _CsvColumn(f"team_gwp_{team_gwp.unit}", _in(team_gwp, "team_gwp_kgco2e")),
        _CsvColumn("note", _attr("note")),
        _CsvColumn("baseline", _attr("baseline")),
        _CsvColumn("vs_baseline", _headline("text")),
        _CsvColumn("vs_baseline_energy_change", _headline("energy_change")),
        _CsvColumn("vs_baseline_performance_delta", _headline("performance_delta")),
        # intervals (issue 17): the rank shared within the noise, each interval's ends in its quantity's unit
        _CsvColumn("tied", _attr("tied")),
        _CsvColumn("measurements", _attr("measurements")),
        _CsvColumn(f"{board.metric}_low", _attr("performance_low")),
        _CsvColumn(f"{board.metric}_high", _attr("performance_high")),
        _CsvColumn(f"impact_measurement_low_{impact.unit}", _in(impact, "impact_measurement_low")),
        _CsvColumn(f"impact_measurement_high_{impact.unit}", _in(impact, "impact_measurement_high")),
        _CsvColumn(f"energy_low_{energy.unit}", _in(energy, "energy_low_j")),
        _CsvColumn(f"energy_high_{energy.unit}", _in(energy, "energy_high_j")),
    ]
    return columns


def _headline(attr: str) -> Callable[[BoardEntry], object]:
    """A cell of the row's headline comparison with the baselines (empty when it has none)."""
    return lambda row: getattr(row.vs_baselines[0], attr) if row.vs_baselines else None


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):  # before str(): a spreadsheet and a script both read true/false
        return "true" if value else "false"
    if isinstance(value, datetime):  # RFC 3339 in UTC
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    text = str(value)
    # a cell a spreadsheet would run as a formula is quoted as text
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _quoted(cell: str) -> str:
    # RFC 4180: a cell holding the separator, a quote, a CR or an LF is quoted (quotes doubled). Python's csv
    # writer quotes only the characters of its line terminator, so a bare CR went out unquoted and readers
    # split the row there.
    if any(c in cell for c in ',"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def board_csv(board: BoardResponse) -> str:
    """The board as CSV, one line per team; the header names the metric and each quantity's unit."""
    columns = _csv_columns(board)
    lines = [[c.header for c in columns]] + [[_cell(c.cell(row)) for c in columns] for row in board.rows]
    return "".join(",".join(_quoted(cell) for cell in line) + "\n" for line in lines)
