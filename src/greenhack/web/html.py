"""Server-rendered pages: the board with its chart, a submission, a team, the event's totals.

Routes parse the request, read through the store and render a template; sorting is server-side (column headers
are links), so every page works without JavaScript. ``static/live.js`` refreshes the page's content when the
data version changes.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from greenhack.competition import event_phases, phase_named
from greenhack.impacts import equivalences
from greenhack.impacts.models import J_PER_KWH
from greenhack.store import queries
from greenhack.store.models import MAX_ID
from greenhack.store.views import BoardEntry
from greenhack.telemetry.models import JobEnergy
from greenhack.web.boards import BoardView, board_for, board_response, board_tabs, submission_boards
from greenhack.web.charts import TimelineSeries, pareto_chart, timeline_chart
from greenhack.web.deps import ContextDep, IsAdminDep, SessionDep
from greenhack.web.learning import learning_curve, team_standing, trial_and_error_cost
from greenhack.web.presenting import redact_detail, redact_team, team_account
from greenhack.web.visibility import BoardName

__all__ = [
    "SORT_KEYS",
    "SortKey",
    "board_page",
    "event_page",
    "router",
    "sort_rows",
    "submission_page",
    "team_page",
]

router = APIRouter(include_in_schema=False)

SortKey = Literal[
    "rank", "team", "performance", "impact", "energy", "score", "submissions", "footprint", "energy_per_1k",
    "impact_per_1k",
]
SORT_KEYS: dict[str, str] = {
    "rank": "rank",
    "team": "team_name",
    "performance": "performance",
    "impact": "impact_total",
    "energy": "energy_j",
    "score": "score",
    "submissions": "submissions_count",
    "footprint": "team_gwp_kgco2e",
    "energy_per_1k": "energy_wh_per_1k",
    "impact_per_1k": "impact_per_1k",
}


def sort_rows(rows: list[BoardEntry], key: SortKey, descending: bool) -> list[BoardEntry]:
    """Rows sorted by one column; missing values always last."""
    attr = SORT_KEYS[key]
    present = [r for r in rows if getattr(r, attr) is not None]
    missing = [r for r in rows if getattr(r, attr) is None]
    present.sort(key=lambda r: getattr(r, attr), reverse=descending)
    return present + missing


@router.get("/", response_class=HTMLResponse)
def board_page(
    request: Request,
    context: ContextDep,
    admin: IsAdminDep,
    board: BoardName | None = None,
    sort: SortKey = "rank",
    order: Literal["asc", "desc"] = "asc",
    phase: Annotated[str | None, Query(max_length=40)] = None,
    track: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    choice = board_for(context, admin=admin, asked=board, phase=phase, track=track)
    cfg = context.config

    def render(view: BoardView) -> bytes:
        chart = pareto_chart(
            view.points().points,
            metric=cfg.performance.metric,
            higher_is_better=cfg.performance.higher_is_better,
            impact_label=cfg.impact.criterion,
            impact_unit=cfg.impact.unit,
        )
        page = context.templates.get_template("board.html").render(
            request=request,
            event=cfg.event,
            board=view.board,
            rows=sort_rows(list(view.board.rows), sort, order == "desc"),
            sort=sort,
            order=order,
            choice=view.choice,
            tabs=board_tabs(cfg, view.choice),
            phase=phase_named(event_phases(cfg), view.choice.phase),
            chart=chart,
            admin=admin,
            config=cfg,
        )
        return page.encode()

    return board_response(
        request,
        context,
        choice,
        variant=f"html:{sort}:{order}:{admin}",
        media_type="text/html; charset=utf-8",
        with_pareto=True,
        render=render,
    )


@router.get("/submissions/{submission_id}", response_class=HTMLResponse)
def submission_page(
    request: Request,
    submission_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    context: ContextDep,
    session: SessionDep,
    admin: IsAdminDep,
) -> Response:
    detail = queries.submission_detail(
        session=session, submission_id=submission_id, event_id=context.event_id
    )
    detail = redact_detail(detail, state=context.freeze_at(detail.submission.created_at), admin=admin)
    timeline = None
    if detail.measurement is not None:
        energy = JobEnergy.model_validate(detail.measurement.payload)
        series = [TimelineSeries(name, points) for name, points in sorted(energy.timeline.series.items())]
        timeline = timeline_chart(series, start=energy.start, end=energy.end)
    by_criterion = {i.criterion: i for i in detail.impacts}
    pictures = []
    if "gwp" in by_criterion and "energy" in by_criterion:
        pictures = equivalences(max(0.0, by_criterion["gwp"].total), max(0.0, by_criterion["energy"].total))
    return context.templates.TemplateResponse(
        request,
        "submission.html",
        {
            "event": context.config.event,
            "config": context.config,
            "d": detail,
            "s": detail.submission,
            "timeline": timeline,
            "equivalences": pictures,
            "admin": admin,
            "boards": submission_boards(
                context.config, created_at=detail.submission.created_at, server=detail.submission.server, admin=admin
            ),
        },
    )


@router.get("/teams/{team_id}", response_class=HTMLResponse)
def team_page(
    request: Request,
    team_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    context: ContextDep,
    session: SessionDep,
    admin: IsAdminDep,
) -> Response:
    detail = queries.team_detail(session=session, event_id=context.event_id, team_id=team_id)
    detail = redact_team(detail, state=context.freeze(), admin=admin)
    account = team_account(context=context, session=session, detail=detail)
    standing = team_standing(
        context=context, session=session, choice=board_for(context, admin=admin, asked=None), team_id=team_id
    )
    return context.templates.TemplateResponse(
        request,
        "team.html",
        {
            "event": context.config.event,
            "config": context.config,
            "t": detail,
            "account": account,
            "admin": admin,
            "standing": standing,
            "curve": learning_curve(context, detail, standing),
            "trial_cost": trial_and_error_cost(detail),
        },
    )


@router.get("/event", response_class=HTMLResponse)
def event_page(request: Request, context: ContextDep, session: SessionDep) -> Response:
    totals = queries.event_totals(session=session, event_id=context.event_id)
    grid_kwh = totals.energy_j * context.config.impact.pue / J_PER_KWH
    pictures = equivalences(totals.gwp_kgco2e, grid_kwh)
    return context.templates.TemplateResponse(
        request,
        "event.html",
        {
            "event": context.config.event,
            "config": context.config,
            "totals": totals,
            "equivalences": pictures,
            "admin": False,
        },
    )
