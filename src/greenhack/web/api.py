"""The JSON API under ``/api/v1``: boards (JSON and CSV), chart points, submissions, teams, event totals."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict

from greenhack.status import Status
from greenhack.store import queries
from greenhack.store.models import MAX_ID
from greenhack.store.queue import queue_length
from greenhack.store.views import (
    BaselineComparisonView,
    EventTotals,
    SubmissionDetail,
    SubmissionSummary,
    TeamDetail,
    TeamSummary,
)
from greenhack.web.boards import (
    BoardResponse,
    ParetoResponse,
    board_csv,
    board_for,
    board_key,
    board_response,
)
from greenhack.web.deps import ContextDep, IsAdminDep, SessionDep
from greenhack.web.learning import team_standing
from greenhack.web.openapi import OPTIONAL_BEARER, errors
from greenhack.web.presenting import (
    TeamAccountView,
    redact_detail,
    redact_submission,
    redact_team,
    team_account,
)
from greenhack.web.visibility import BoardChoice, BoardName

__all__ = [
    "BoardQuery",
    "EventResponse",
    "PhaseQuery",
    "TeamResponse",
    "TrackQuery",
    "VersionResponse",
    "event",
    "leaderboard",
    "leaderboard_csv",
    "pareto",
    "router",
    "submission",
    "submissions",
    "team",
    "teams",
    "version",
]

router = APIRouter(prefix="/api/v1", tags=["leaderboard"])

BoardQuery = Annotated[
    BoardName | None, Query(description="live, frozen or final; omitted: the board this visitor sees now")
]
PhaseQuery = Annotated[
    str | None,
    Query(
        max_length=40,
        description="the phase (phases: in the YAML); omitted: the phase open now, else the last one that opened",
    ),
]
TrackQuery = Annotated[
    str | None,
    Query(max_length=40, description="the hardware track (servers[].track); omitted: the first track"),
]


class VersionResponse(BaseModel):
    """What changes when the board changes; pages poll it to refresh themselves."""

    model_config = ConfigDict(frozen=True)

    data_version: int
    board: BoardName
    frozen: bool
    closed: bool


class TeamResponse(BaseModel):
    model_config = ConfigDict(frozen=True)

    detail: TeamDetail
    account: TeamAccountView
    # how the team's line on the board this visitor sees compares with its baselines, the headline first
    vs_baselines: list[BaselineComparisonView] = []


@router.get(
    "/leaderboard",
    response_model=BoardResponse,
    responses=errors({403: "board not public", 404: "no such phase or track"}),
    openapi_extra=OPTIONAL_BEARER,
)
def leaderboard(
    request: Request,
    context: ContextDep,
    admin: IsAdminDep,
    board: BoardQuery = None,
    phase: PhaseQuery = None,
    track: TrackQuery = None,
) -> Response:
    """The board: one line per team, ranked, with performance, impact (and its uncertainty), energy, score and
    the team's totals. Before the freeze everyone sees the live board; after it, the frozen one (admins: live);
    once the event closes, the final board on the private rows."""
    choice = board_for(context, admin=admin, asked=board, phase=phase, track=track)
    return board_response(
        request,
        context,
        choice,
        variant="json",
        media_type="application/json",
        render=lambda view: view.board.model_dump_json().encode(),
    )


@router.get(
    "/leaderboard.csv",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "the board as CSV"},
        **errors({403: "board not public", 404: "no such phase or track"}),
    },
    openapi_extra=OPTIONAL_BEARER,
)
def leaderboard_csv(
    request: Request,
    context: ContextDep,
    admin: IsAdminDep,
    board: BoardQuery = None,
    phase: PhaseQuery = None,
    track: TrackQuery = None,
) -> Response:
    """The board as CSV (one line per team), for spreadsheets."""
    choice = board_for(context, admin=admin, asked=board, phase=phase, track=track)
    return board_response(
        request,
        context,
        choice,
        variant="csv",
        media_type="text/csv; charset=utf-8",
        render=lambda view: board_csv(view.board).encode(),
        headers={"Content-Disposition": f'attachment; filename="leaderboard-{_file_part(choice)}.csv"'},
    )


def _file_part(choice: BoardChoice) -> str:
    """The board's key in a file name: ``live``, or ``final-a100-final`` for a phase's and a track's board."""
    return board_key(choice).text.replace("/", "-")


@router.get(
    "/pareto",
    response_model=ParetoResponse,
    responses=errors({403: "board not public", 404: "no such phase or track"}),
    openapi_extra=OPTIONAL_BEARER,
)
def pareto(
    request: Request,
    context: ContextDep,
    admin: IsAdminDep,
    board: BoardQuery = None,
    phase: PhaseQuery = None,
    track: TrackQuery = None,
) -> Response:
    """Performance and impact of every scored submission on the board, the Pareto front flagged."""
    choice = board_for(context, admin=admin, asked=board, phase=phase, track=track)
    return board_response(
        request,
        context,
        choice,
        variant="pareto",
        media_type="application/json",
        with_pareto=True,
        render=lambda view: view.points().model_dump_json().encode(),
    )


@router.get("/version", response_model=VersionResponse, openapi_extra=OPTIONAL_BEARER)
def version(context: ContextDep, admin: IsAdminDep) -> VersionResponse:
    """The data version of the board; cheap to poll."""
    choice = board_for(context, admin=admin, asked=None)
    return VersionResponse(
        data_version=context.cache.version(),
        board=choice.name,
        frozen=choice.state.frozen,
        closed=choice.state.closed,
    )


@router.get("/submissions", response_model=list[SubmissionSummary], openapi_extra=OPTIONAL_BEARER)
def submissions(
    context: ContextDep,
    session: SessionDep,
    admin: IsAdminDep,
    team_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> list[SubmissionSummary]:
    """Submissions of the event, newest first."""
    rows = queries.list_submissions(
        session=session, event_id=context.event_id, team_id=team_id, status=status, limit=limit, offset=offset
    )
    return [redact_submission(row, state=context.freeze_at(row.created_at), admin=admin) for row in rows]


@router.get(
    "/submissions/{submission_id}",
    response_model=SubmissionDetail,
    responses=errors({404: "no such submission in this event"}),
    openapi_extra=OPTIONAL_BEARER,
)
def submission(
    submission_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    context: ContextDep,
    session: SessionDep,
    admin: IsAdminDep,
) -> SubmissionDetail:
    """Everything known about one submission: status and reason, window, measurement with its power timeline,
    impacts per criterion, performance and scores with their formula. ``last_error``, ``job_url`` and reasons
    that may list the predictions' problems are the admins' (the team reads its problems in GitLab)."""
    detail = queries.submission_detail(
        session=session, submission_id=submission_id, event_id=context.event_id
    )
    return redact_detail(detail, state=context.freeze_at(detail.submission.created_at), admin=admin)


@router.get("/teams", response_model=list[TeamSummary])
def teams(context: ContextDep, session: SessionDep) -> list[TeamSummary]:
    """Every team with its cumulative footprint."""
    return queries.list_teams(session=session, event_id=context.event_id)


@router.get(
    "/teams/{team_id}",
    response_model=TeamResponse,
    responses=errors({404: "no such team in this event"}),
    openapi_extra=OPTIONAL_BEARER,
)
def team(
    team_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    context: ContextDep,
    session: SessionDep,
    admin: IsAdminDep,
) -> TeamResponse:
    """A team: its submissions, cumulative footprint, carbon budget and submissions left today."""
    detail = queries.team_detail(session=session, event_id=context.event_id, team_id=team_id)
    detail = redact_team(detail, state=context.freeze(), admin=admin)
    standing = team_standing(
        context=context, session=session, choice=board_for(context, admin=admin, asked=None), team_id=team_id
    )
    return TeamResponse(
        detail=detail,
        account=team_account(context=context, session=session, detail=detail),
        vs_baselines=list(standing.vs_baselines),
    )


class EventResponse(BaseModel):
    model_config = ConfigDict(frozen=True)

    totals: EventTotals
    opens: datetime
    closes: datetime
    freeze: datetime | None
    queue_length: int


@router.get("/event", response_model=EventResponse)
def event(context: ContextDep, session: SessionDep) -> EventResponse:
    """Totals of the whole hackathon: every job's energy and carbon, the runners' overhead apart from them (the
    organisers', charged to no team), by status, and the queue."""
    totals = queries.event_totals(session=session, event_id=context.event_id)
    cfg = context.config.event
    return EventResponse(
        totals=totals,
        opens=cfg.opens,
        closes=cfg.closes,
        freeze=cfg.freeze,
        queue_length=queue_length(session=session, event_id=context.event_id),
    )
