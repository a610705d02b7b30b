"""The projector view, ``/screen``: the top of the public board in large type across the whole width, in pages
that turn by themselves, the time left to the freeze and to the close, and the latest evaluated submissions.
``?phase=&track=`` choose the board as on the board page (default: the open phase on the first track); the times
and the latest submissions are that board's phase's and track's, so one projector per track can hang in the room.

It always shows what a visitor sees (the public board and redacted submissions), even in an admin's browser: a
projector in the room must not show the live board after the freeze. The page refreshes itself like every page
(``static/live.js`` polls the data version and swaps the content); ``static/screen.js`` turns the pages every
``seconds`` and counts down to the freeze and the close against the server's clock (``data-server-now``), so a
projector laptop with a wrong clock still counts right. Without JavaScript every page shows, one under another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from greenhack.competition import EventPhase, event_phases, phase_named
from greenhack.store import queries
from greenhack.store.board_scope import board_scope
from greenhack.store.db import transaction
from greenhack.web.boards import board_for, read_board_view
from greenhack.web.deps import ContextDep
from greenhack.web.presenting import redact_submission
from greenhack.web.visibility import FreezeState

__all__ = ["Milestone", "milestones", "router", "screen_page"]

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Milestone:
    """A moment the room waits for: ``name`` (``freeze``, ``close``) at ``at``, and whether it has passed."""

    name: str
    at: datetime
    passed: bool


def milestones(phase: EventPhase, *, state: FreezeState, now: datetime) -> list[Milestone]:
    """The freeze of the board's phase (its YAML freeze or an admin's; none once an admin unfroze it) and the
    phase's close, in time order (the implicit phase of an event without phases: the event's)."""
    found = []
    if state.cut is not None:
        found.append(Milestone(name="freeze", at=state.cut, passed=state.frozen))
    found.append(Milestone(name="close", at=phase.closes, passed=now >= phase.closes))
    return found


@router.get("/screen", response_class=HTMLResponse)
def screen_page(
    request: Request,
    context: ContextDep,
    top: Annotated[int, Query(ge=1, le=500, description="How many teams from the top.")] = 30,
    rows: Annotated[int, Query(ge=3, le=50, description="Teams per page.")] = 10,
    seconds: Annotated[int, Query(ge=3, le=600, description="Seconds each page shows.")] = 15,
    latest: Annotated[int, Query(ge=0, le=30, description="Latest evaluated submissions listed.")] = 6,
    phase: Annotated[str | None, Query(max_length=40)] = None,
    track: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    choice = board_for(context, admin=False, asked=None, phase=phase, track=track)
    chosen = phase_named(event_phases(context.config), choice.phase)
    scope = board_scope(context.config, phase=choice.phase, track=choice.track)
    now = context.clock()
    with transaction(context.sessions, "reading the projector view") as session:
        view = read_board_view(
            session=session,
            config=context.config,
            event_id=context.event_id,
            choice=choice,
            version=context.cache.version(),
        )
        recent = [
            redact_submission(s, state=choice.state, admin=False)
            for s in queries.latest_evaluated(
                session=session, event_id=context.event_id, limit=latest, scope=scope
            )
        ]
    shown = list(view.board.rows[:top])
    pages = [shown[k : k + rows] for k in range(0, len(shown), rows)] or [[]]
    return context.templates.TemplateResponse(
        request,
        "screen.html",
        {
            "event": context.config.event,
            "config": context.config,
            "board": view.board,
            "rows": shown,
            "pages": pages,
            "seconds": seconds,
            "recent": recent,
            "milestones": milestones(chosen, state=choice.state, now=now),
            # which board the room reads, when the event has phases or tracks (``final · a100``)
            "board_label": " · ".join(name for name in (choice.phase, choice.track) if name),
            "now": now,
            "admin": False,
        },
        headers={"Cache-Control": "no-cache"},
    )
