"""Admin in the browser, under ``/admin``: sign in with the admin token, then freeze, exclude, rescore, rerun
(and every other admin action the API has) from forms, and see what visitors cannot.

- ``GET /admin``: the sign-in form, or (signed in) the board's state with its freeze buttons, the previews of
  the frozen and final boards, the rescore button and the latest tasks, and the submissions that need a look
  (needs review, failed, invalid) with their full reasons and last errors.
- ``POST /admin/sign-in``: the admin token for a session cookie (:mod:`greenhack.web.admin_session`);
  ``POST /admin/sign-out`` ends it.
- ``GET /admin/submissions/{id}``: one submission as admins see it, with its actions.
- ``GET /admin/tasks/{id}``: an admin task's progress (``static/admin.js`` follows
  ``GET /api/v1/admin/tasks/{id}``, which the session cookie may read).
- ``POST /admin/act``: one admin action, CSRF-checked.

The forms do not re-implement the actions: ``/admin/act`` runs the admin API's own route in-process, with the
token, so a browser's action and ``curl``'s are the same code. The actions offered are the API's documented ``POST``
routes under ``/api/v1/admin`` (:func:`admin_actions` reads the OpenAPI schema): a route added there (``.../submissions/{id}/remeasure``) gets its
button on the submission page without a change here; :data:`ACTION_LABELS` gives it a better label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qs

import httpx
from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from greenhack.status import Status
from greenhack.store import queries, tasks
from greenhack.store.db import transaction
from greenhack.store.models import MAX_ID
from greenhack.web.admin_session import (
    AdminSession,
    SessionKeys,
    clear_session_cookie,
    secure_cookie,
    set_session_cookie,
)
from greenhack.web.context import AppContext
from greenhack.web.deps import ContextDep, admin_session, session_keys
from greenhack.web.error_pages import app_path, validation_text

__all__ = [
    "ACTION_LABELS",
    "ADMIN_API_PREFIX",
    "ATTENTION",
    "FLASH_COOKIE",
    "AdminAction",
    "admin_act",
    "admin_actions",
    "admin_find",
    "admin_home",
    "admin_sign_in",
    "admin_sign_out",
    "admin_submission",
    "admin_task",
    "router",
]

router = APIRouter(prefix="/admin", include_in_schema=False)

ADMIN_API_PREFIX = "/api/v1/admin/"
FLASH_COOKIE = "greenhack_admin_flash"
_MAX_FORM_BYTES = 16_384
ATTENTION = (Status.NEEDS_REVIEW, Status.FAILED, Status.INVALID)

# what a button says, by the action's path under /api/v1/admin ("{}" for a submission's id); an action without
# a label here is offered under its last path segment
ACTION_LABELS: dict[str, str] = {
    "freeze": "Freeze the public board now",
    "unfreeze": "Unfreeze (live board public)",
    "freeze/auto": "Follow the YAML's freeze time",
    "rescore": "Rescore every submission",
    "submissions/{}/exclude": "Exclude",
    "submissions/{}/include": "Include again",
    "submissions/{}/rerun": "Rerun the evaluation",
    "submissions/{}/remeasure": "Re-measure (retry the GitLab job)",
}
# actions with a form of their own on the pages (the reason of an exclusion)
_WITH_FORMS = frozenset({"submissions/{}/exclude", "submissions/{}/include"})


@dataclass(frozen=True)
class AdminAction:
    """One admin API ``POST`` route: ``key`` is its path under the prefix with ``{}`` for the submission id."""

    key: str
    label: str
    path: str  # the route's own template, e.g. /api/v1/admin/submissions/{submission_id}/exclude

    @property
    def per_submission(self) -> bool:
        return "{}" in self.key

    def url(self, submission_id: int | None) -> str:
        return re.sub(r"\{[^}]+\}", str(submission_id), self.path) if self.per_submission else self.path


def admin_actions(request: Request) -> dict[str, AdminAction]:
    """Every admin action the app's API documents (its OpenAPI schema: ``POST`` under ``/api/v1/admin``), by
    key."""
    found: dict[str, AdminAction] = {}
    for path, operations in request.app.openapi().get("paths", {}).items():
        if path.startswith(ADMIN_API_PREFIX) and "post" in operations:
            key = re.sub(r"\{[^}]+\}", "{}", path[len(ADMIN_API_PREFIX) :])
            label = ACTION_LABELS.get(key, key.rsplit("/", 1)[-1].replace("-", " ").capitalize())
            found[key] = AdminAction(key=key, label=label, path=path)
    return found


def _keys(context: AppContext) -> SessionKeys:
    keys = session_keys(context)
    if keys is None:
        raise HTTPException(status_code=403, detail="admin sign-in is off: GREENHACK_ADMIN_TOKEN is not set")
    return keys


def _url(request: Request, path: str) -> str:
    return request.scope.get("root_path", "") + path


def _redirect(request: Request, path: str) -> RedirectResponse:
    return RedirectResponse(_url(request, path), status_code=303)


def _flash(response: Response, request: Request, context: AppContext, keys: SessionKeys, text: str) -> None:
    response.set_cookie(
        FLASH_COOKIE,
        keys.sign(text[:1000]),
        max_age=120,
        path=request.scope.get("root_path", "") or "/",
        httponly=True,
        samesite="strict",
        secure=secure_cookie(request, context.settings.public_url),
    )


def _render(
    request: Request,
    context: AppContext,
    template: str,
    values: dict[str, Any],
    *,
    session: AdminSession | None,
    status_code: int = 200,
) -> Response:
    keys = session_keys(context)
    flash = keys.unsign(request.cookies.get(FLASH_COOKIE)) if keys is not None else None
    response = context.templates.TemplateResponse(
        request,
        template,
        {
            "event": context.config.event,
            "config": context.config,
            "admin": session is not None,
            "session": session,
            "csrf": keys.csrf_token(session) if (keys is not None and session is not None) else "",
            "flash": flash,
            "actions": admin_actions(request),
            "own_forms": _WITH_FORMS,
            "here": app_path(request),
            **values,
        },
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )
    if request.cookies.get(FLASH_COOKIE) is not None:
        response.delete_cookie(FLASH_COOKIE, path=request.scope.get("root_path", "") or "/")
    return response


async def _form(request: Request) -> dict[str, str]:
    """The posted form's fields (``application/x-www-form-urlencoded``, at most 16 KiB, one value each)."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise HTTPException(status_code=415, detail="send the admin page's form (application/x-www-form-urlencoded)")
    body = await request.body()
    if len(body) > _MAX_FORM_BYTES:
        raise HTTPException(status_code=413, detail="the form is larger than any admin form")
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(status_code=400, detail="the form could not be read") from None
    return {name: values[-1] for name, values in fields.items()}


def _signed_in(request: Request, context: AppContext) -> AdminSession:
    session = admin_session(request, context)
    if session is None:
        raise HTTPException(status_code=401, detail="sign in on the admin page first (or your session expired)")
    return session


def _check_csrf(keys: SessionKeys, session: AdminSession, form: dict[str, str]) -> None:
    if not keys.csrf_ok(session, form.get("csrf")):
        raise HTTPException(
            status_code=403,
            detail="this form did not come from the board's own admin page (CSRF check failed): "
            "reload the admin page and try again",
        )


@router.get("", response_class=HTMLResponse)
def admin_home(request: Request, context: ContextDep) -> Response:
    session = admin_session(request, context)
    if session is None:
        return _render(
            request,
            context,
            "admin_sign_in.html",
            {"enabled": session_keys(context) is not None, "problem": None},
            session=None,
        )
    state = context.freeze()
    with transaction(context.sessions, "reading the admin page") as db:
        recent_tasks = tasks.recent_tasks(session=db, event_id=context.event_id, limit=5)
        flagged = [
            s
            for status in ATTENTION
            for s in queries.list_submissions(session=db, event_id=context.event_id, status=status, limit=20)
        ]
        flagged.sort(key=lambda s: s.created_at, reverse=True)
        # the last error is in the detail only; the page lists at most 20 submissions
        details = [
            queries.submission_detail(session=db, submission_id=s.id, event_id=context.event_id)
            for s in flagged[:20]
        ]
    return _render(
        request,
        context,
        "admin.html",
        {
            "state": state,
            "override": context.cache.state().frozen_override,
            "tasks": recent_tasks,
            "flagged": details,
            "flagged_total": len(flagged),
        },
        session=session,
    )


@router.post("/sign-in", response_class=HTMLResponse)
async def admin_sign_in(request: Request, context: ContextDep) -> Response:
    keys = _keys(context)
    form = await _form(request)
    wanted = context.settings.admin_token
    given = form.get("token", "")
    if wanted is None or not SessionKeys.same_token(given, wanted.get_secret_value()):
        return _render(
            request,
            context,
            "admin_sign_in.html",
            {"enabled": True, "problem": "That is not the admin token (GREENHACK_ADMIN_TOKEN) of this board."},
            session=None,
            status_code=401,
        )
    now = context.clock()
    value, session = keys.issue(now=now)
    response = _redirect(request, "/admin")
    set_session_cookie(
        response, request, value=value, session=session, now=now, public_url=context.settings.public_url
    )
    return response


@router.post("/sign-out", response_class=HTMLResponse)
async def admin_sign_out(request: Request, context: ContextDep) -> Response:
    keys = _keys(context)
    session = _signed_in(request, context)
    _check_csrf(keys, session, await _form(request))
    response = _redirect(request, "/admin")
    clear_session_cookie(response, request, public_url=context.settings.public_url)
    return response


def _said(answer: httpx.Response) -> str:
    try:
        data = answer.json()
    except ValueError:
        return f"HTTP {answer.status_code}"
    if isinstance(data, dict):
        detail = data.get("message") or data.get("detail")
        if isinstance(detail, list):
            return validation_text(detail)
        if detail:
            return str(detail)
        if "task" in data:
            return f"{data['task']['kind']} task {data['task']['id']} queued"
    return f"HTTP {answer.status_code}"


@router.post("/act", response_class=HTMLResponse)
async def admin_act(request: Request, context: ContextDep) -> Response:
    """Run one admin API action for the signed-in admin (CSRF-checked), then go back to the page it came from."""
    keys = _keys(context)
    session = _signed_in(request, context)
    form = await _form(request)
    _check_csrf(keys, session, form)
    action = admin_actions(request).get(form.get("action", ""))
    if action is None:
        raise HTTPException(status_code=404, detail=f"no admin action {form.get('action', '')!r}")
    submission_id: int | None = None
    if action.per_submission:
        raw = form.get("submission_id", "")
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
            raise HTTPException(status_code=422, detail="submission_id: a submission's number is needed")
        submission_id = int(raw)
    body = {name[len("body.") :]: value for name, value in form.items() if name.startswith("body.")}
    token = context.settings.admin_token
    assert token is not None  # _keys refused otherwise
    transport = httpx.ASGITransport(app=request.app, root_path=request.scope.get("root_path", ""))
    async with httpx.AsyncClient(transport=transport, base_url="http://greenhack.internal") as client:
        answer = await client.post(
            _url(request, action.url(submission_id)),
            json=body or None,
            headers={"Authorization": f"Bearer {token.get_secret_value()}", "Accept": "application/json"},
        )
    back = form.get("back", "/admin")
    if not back.startswith("/admin") or "//" in back or "\\" in back:
        back = "/admin"
    task = _queued_task(answer)
    if task is not None:  # a rescore: follow its progress
        back = f"/admin/tasks/{task}"
    said = _said(answer)
    response = _redirect(request, back)
    _flash(response, request, context, keys, said if answer.is_success else f"refused (HTTP {answer.status_code}): {said}")
    return response


def _queued_task(answer: httpx.Response) -> int | None:
    """The id of the task an action queued (a rescore answers 202 with it), else None."""
    if not answer.is_success:
        return None
    try:
        data = answer.json()
    except ValueError:
        return None
    task = data.get("task") if isinstance(data, dict) else None
    return int(task["id"]) if isinstance(task, dict) and isinstance(task.get("id"), int) else None


@router.get("/submission", response_class=HTMLResponse)
def admin_find(request: Request, id: Annotated[int, Query(ge=1, le=MAX_ID)]) -> Response:  # noqa: A002
    """The admin page's "open submission" box (a GET form) goes to that submission's admin page."""
    return _redirect(request, f"/admin/submissions/{id}")


@router.get("/submissions/{submission_id}", response_class=HTMLResponse)
def admin_submission(
    request: Request, submission_id: Annotated[int, Path(ge=1, le=MAX_ID)], context: ContextDep
) -> Response:
    session = admin_session(request, context)
    if session is None:
        return _redirect(request, "/admin")
    with transaction(context.sessions, "reading a submission for the admin") as db:
        detail = queries.submission_detail(session=db, submission_id=submission_id, event_id=context.event_id)
    return _render(request, context, "admin_submission.html", {"d": detail, "s": detail.submission}, session=session)


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
def admin_task(request: Request, task_id: Annotated[int, Path(ge=1, le=MAX_ID)], context: ContextDep) -> Response:
    session = admin_session(request, context)
    if session is None:
        return _redirect(request, "/admin")
    with transaction(context.sessions, "reading an admin task") as db:
        task = tasks.get_task(session=db, event_id=context.event_id, task_id=task_id)
    return _render(request, context, "admin_task.html", {"task": task}, session=session)
