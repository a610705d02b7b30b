"""Admin actions under ``/api/v1/admin``, behind the bearer token from ``GREENHACK_ADMIN_TOKEN``.

Without the token (or while it is unset) every route answers 401 and changes nothing: the token is checked
by a router dependency before any handler runs.

Requests never rank (ranking reads the whole event): exclude, include, freeze and unfreeze write their change and
mark the boards stale, and a worker re-ranks them within seconds; a rescore is queued as an admin task
(:mod:`greenhack.store.tasks`) that a worker runs (:mod:`greenhack.admin_tasks`), answered with 202 and the
task's address, where its progress and result show.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from greenhack.competition import event_phases, phase_at
from greenhack.errors import NotFoundError
from greenhack.store import crud, queue, tasks
from greenhack.store.models import MAX_ID
from greenhack.store.tasks import TaskView
from greenhack.web.deps import AdminDep, ContextDep, SessionDep
from greenhack.web.openapi import errors

__all__ = [
    "ActionResult",
    "ExcludeRequest",
    "SubmissionId",
    "TaskAccepted",
    "TaskId",
    "exclude",
    "freeze",
    "freeze_auto",
    "include",
    "remeasure",
    "rerun",
    "rescore",
    "router",
    "select",
    "task_status",
    "unfreeze",
    "unselect",
]

router = APIRouter(
    prefix="/api/v1/admin",
    tags=["admin"],
    dependencies=[AdminDep],
    responses=errors({401: "the admin token is missing or wrong (or GREENHACK_ADMIN_TOKEN is unset)"}),
)

SubmissionId = Annotated[int, Path(ge=1, le=MAX_ID)]
TaskId = Annotated[int, Path(ge=1, le=MAX_ID)]


class ExcludeRequest(BaseModel):
    """Why a submission is excluded from the boards (shown on its page)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000, pattern=r"\S")  # not only spaces


class ActionResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    ok: bool
    message: str


class TaskAccepted(BaseModel):
    """A queued admin task and where to follow it (``GET`` that ``url``)."""

    model_config = ConfigDict(frozen=True)

    task: TaskView
    url: str


def _task_url(task_id: int) -> str:
    return f"{router.prefix}/tasks/{task_id}"


@router.post("/rescore", response_model=TaskAccepted, status_code=202)
def rescore(context: ContextDep, session: SessionDep, response: Response) -> TaskAccepted:
    """Queue a rescore: a worker recomputes every impact from the stored measurements and factors under its loaded
    YAML, then re-ranks every board (never asking Prometheus or BoaviztAPI). Follow it at the answer's ``url``;
    a rescore already waiting for a worker is answered instead of queueing another."""
    task = tasks.enqueue_task(session=session, event_id=context.event_id, kind="rescore", now=context.clock())
    response.headers["Location"] = _task_url(task.id)
    return TaskAccepted(task=task, url=_task_url(task.id))


@router.post(
    "/submissions/{submission_id}/remeasure", response_model=TaskAccepted, status_code=202, responses={404: {}}
)
def remeasure(
    submission_id: SubmissionId, context: ContextDep, session: SessionDep, response: Response
) -> TaskAccepted:
    """Queue a re-measure: a worker retries the submission's GitLab job through the API, and the new job is
    measured as one more measurement of it (outside the team's quota; the board ranks the median of its
    measurements, their spread widening its interval). Follow it at the answer's ``url``."""
    submission = crud.get_submission(session=session, submission_id=submission_id)
    if submission.event_id != context.event_id:
        raise NotFoundError(f"submission {submission_id} does not exist")
    task = tasks.enqueue_task(
        session=session,
        event_id=context.event_id,
        kind="remeasure",
        submission_id=submission.remeasure_of or submission.id,
        now=context.clock(),
    )
    response.headers["Location"] = _task_url(task.id)
    return TaskAccepted(task=task, url=_task_url(task.id))


@router.get("/tasks/{task_id}", response_model=TaskView, responses={404: {}})
def task_status(task_id: TaskId, context: ContextDep, session: SessionDep) -> TaskView:
    """An admin task: its status, progress (``done`` of ``total``), and its result or error."""
    return tasks.get_task(session=session, event_id=context.event_id, task_id=task_id)


def _changed(context: ContextDep, session: SessionDep) -> None:
    """A change of what the boards rank: a worker re-ranks them within seconds (requests never rank)."""
    crud.mark_boards_stale(session=session, event_id=context.event_id)
    context.cache.invalidate()


@router.post(
    "/submissions/{submission_id}/exclude",
    response_model=ActionResult,
    # FastAPI answers 400 for a body that is not text (bytes that are not UTF-8), 422 for text that is not JSON
    responses={404: {}, **errors({400: "the body could not be read as JSON text"})},
)
def exclude(
    submission_id: SubmissionId, body: ExcludeRequest, context: ContextDep, session: SessionDep
) -> ActionResult:
    """Exclude a submission from every board, with a reason shown on its page (the boards follow within
    seconds)."""
    crud.set_excluded(session=session, submission_id=submission_id, excluded=True, reason=body.reason)
    _changed(context, session)
    return ActionResult(ok=True, message=f"submission {submission_id} excluded")


@router.post("/submissions/{submission_id}/include", response_model=ActionResult, responses={404: {}})
def include(submission_id: SubmissionId, context: ContextDep, session: SessionDep) -> ActionResult:
    """Undo an exclusion (the boards follow within seconds)."""
    crud.set_excluded(session=session, submission_id=submission_id, excluded=False, reason=None)
    _changed(context, session)
    return ActionResult(ok=True, message=f"submission {submission_id} included again")


@router.post("/submissions/{submission_id}/rerun", response_model=ActionResult, responses={404: {}})
def rerun(submission_id: SubmissionId, context: ContextDep, session: SessionDep) -> ActionResult:
    """Queue the submission's evaluation again from scratch (a worker measures and scores it anew)."""
    queue.requeue(session=session, submission_id=submission_id, now=context.clock())
    crud.bump_data_version(session=session, event_id=context.event_id)
    context.cache.invalidate()
    return ActionResult(ok=True, message=f"submission {submission_id} queued again")


def _select(submission_id: int, context: ContextDep, session: SessionDep, *, selected: bool) -> ActionResult:
    submission = crud.get_submission(session=session, submission_id=submission_id)
    if submission.event_id != context.event_id:
        raise NotFoundError(f"submission {submission_id} does not exist")
    membership = phase_at(event_phases(context.config), submission.created_at)
    if membership.phase is None:
        raise HTTPException(status_code=409, detail=f"submission {submission_id}: {membership.reason}")
    now = context.clock()
    if now >= membership.phase.closes:  # selecting closes with the phase
        raise HTTPException(
            status_code=409,
            detail=f"submission {submission_id} belongs to {membership.phase.title}, which closed at "
            f"{membership.phase.closes.isoformat()}: its selections are final",
        )
    crud.set_selected(session=session, submission_id=submission_id, selected=selected)
    _changed(context, session)
    what = "selected for" if selected else "no longer selected for"
    board = f"the final board of {membership.phase.title}"
    return ActionResult(ok=True, message=f"submission {submission_id} {what} {board}")


@router.post(
    "/submissions/{submission_id}/select",
    response_model=ActionResult,
    responses={404: {}, **errors({409: "the submission's phase has closed, or it belongs to none"})},
)
def select(submission_id: SubmissionId, context: ContextDep, session: SessionDep) -> ActionResult:
    """Select a submission for its phase's final board (``per_team: selected``: the board ranks each team's
    latest usable selected submission, else its best with a note), on the team's request; selecting closes with
    the phase."""
    return _select(submission_id, context, session, selected=True)


@router.post(
    "/submissions/{submission_id}/unselect",
    response_model=ActionResult,
    responses={404: {}, **errors({409: "the submission's phase has closed, or it belongs to none"})},
)
def unselect(submission_id: SubmissionId, context: ContextDep, session: SessionDep) -> ActionResult:
    """Drop a submission's selection (while its phase is open)."""
    return _select(submission_id, context, session, selected=False)


def _set_freeze(context: ContextDep, session: SessionDep, frozen: bool | None, message: str) -> ActionResult:
    crud.set_frozen_override(session=session, event_id=context.event_id, frozen=frozen, now=context.clock())
    _changed(context, session)
    return ActionResult(ok=True, message=message)


@router.post("/freeze", response_model=ActionResult)
def freeze(context: ContextDep, session: SessionDep) -> ActionResult:
    """Freeze the public board now (visitors see it as of now; admins keep the live board)."""
    return _set_freeze(context, session, True, "board frozen")


@router.post("/unfreeze", response_model=ActionResult)
def unfreeze(context: ContextDep, session: SessionDep) -> ActionResult:
    """Show the live board to everyone again, whatever the YAML's freeze time."""
    return _set_freeze(context, session, False, "board unfrozen")


@router.post("/freeze/auto", response_model=ActionResult)
def freeze_auto(context: ContextDep, session: SessionDep) -> ActionResult:
    """Drop any manual freeze/unfreeze: follow the YAML's ``event.freeze`` time again."""
    return _set_freeze(context, session, None, "freeze follows the event YAML")
