"""The projector view, ``/screen``: the top of the public board in large type across the whole width, in pages
that turn by themselves, the time left to the freeze and to the close, and the latest evaluated submissions.

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

from greenhack.config import EventConfig
from greenhack.store import queries
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


def milestones(config: EventConfig, *, state: FreezeState, override: bool | None, now: datetime) -> list[Milestone]:
    """The freeze (unless an admin unfroze the board) and the close, in time order."""
    found = []
    if override is True and state.cut is not None:  # frozen by hand: since the cut
        found.append(Milestone(name="freeze", at=state.cut, passed=True))
    elif override is None and config.event.freeze is not None:
        found.append(Milestone(name="freeze", at=config.event.freeze, passed=now >= config.event.freeze))
    found.append(Milestone(name="close", at=config.event.closes, passed=state.closed))
    return found


@router.get("/screen", response_class=HTMLResponse)
def screen_page(
    request: Request,
    context: ContextDep,
    top: Annotated[int, Query(ge=1, le=500, description="How many teams from the top.")] = 30,
    rows: Annotated[int, Query(ge=3, le=50, description="Teams per page.")] = 10,
    seconds: Annotated[int, Query(ge=3, le=600, description="Seconds each page shows.")] = 15,
    latest: Annotated[int, Query(ge=0, le=30, description="Latest evaluated submissions listed.")] = 6,
) -> Response:
    choice = board_for(context, admin=False, asked=None)
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
            for s in queries.latest_evaluated(session=session, event_id=context.event_id, limit=latest)
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
            "milestones": milestones(
                context.config, state=choice.state, override=context.cache.state().frozen_override, now=now
            ),
            "now": now,
            "admin": False,
        },
        headers={"Cache-Control": "no-cache"},
    )
