"""Errors for people and for programs: a browser gets an HTML page that says what happened and where to go next,
an API client gets JSON (FastAPI's own shapes, so the documented error bodies do not change).

Who gets what is decided by the route and the request (:func:`wants_html`): everything under ``/api/`` is JSON
whatever the ``Accept`` header says (a script must never have to parse a page); any other route answers HTML when
the request accepts ``text/html`` (browsers always say so), JSON otherwise. Every error goes through here: an
HTTP error raised by a route or by routing itself (403 for a board not public yet, 404, 405), a request that does
not validate (422: the page names the parameter and the value given), the store's ``NotFoundError`` (404), bad
input (``ScoringError``, ``ValueError``: 422), a service that is down (503) and a crash (500, whose page and body
never show the exception: the logs have it).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from greenhack.errors import GreenhackError, NotFoundError, ScoringError
from greenhack.web.context import AppContext

__all__ = ["API_PREFIX", "CRASH_DETAIL", "app_path", "install_error_pages", "validation_text", "wants_html"]

API_PREFIX = "/api/"
CRASH_DETAIL = "internal error: the board's logs have the details"

_log = logging.getLogger(__name__)

# the page's heading for each status (the message under it says what exactly)
_TITLES = {
    400: "Bad request",
    401: "Sign-in needed",
    403: "Not public",
    404: "Not found",
    405: "Not allowed",
    422: "That address is not valid",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}


def app_path(request: Request) -> str:
    """The request's path inside the app (without the prefix a proxy serves the board under)."""
    path: str = request.scope["path"]
    root: str = request.scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def wants_html(request: Request) -> bool:
    """Whether the answer is a page: not under ``/api/``, and the request accepts ``text/html``."""
    if app_path(request).startswith(API_PREFIX):
        return False
    return "text/html" in request.headers.get("accept", "").lower()


def validation_text(errors: Sequence[Any]) -> str:
    """A request's validation errors in words: ``sort: Input should be 'rank' or 'team' (given: 'x')``."""
    parts = []
    for error in errors:
        where = [str(p) for p in error.get("loc", ()) if p not in ("query", "path", "body", "header", "cookie")]
        given = error.get("input")
        text = f"{'.'.join(where) or 'request'}: {error.get('msg', 'not valid')}"
        if isinstance(given, str | int | float) and not isinstance(given, bool):
            text += f" (given: {given!r})"
        parts.append(text)
    return "; ".join(parts) or "the request is not valid"


def _page(request: Request, context: AppContext, status: int, message: str, headers: Any = None) -> Response:
    try:
        return context.templates.TemplateResponse(
            request,
            "error.html",
            {
                "status": status,
                "title": _TITLES.get(status, "Error"),
                "message": message,
                "event": context.config.event,
                "admin": False,
            },
            status_code=status,
            headers=headers,
        )
    except Exception:  # a page that cannot be drawn must still answer: the text is the same
        _log.exception("the error page could not be rendered")
        return PlainTextResponse(f"{status} {_TITLES.get(status, 'Error')}: {message}", status_code=status)


def _answer(request: Request, context: AppContext, status: int, message: str) -> Response:
    if wants_html(request):
        return _page(request, context, status, message)
    return JSONResponse({"detail": message}, status_code=status)


def install_error_pages(app: FastAPI, context: AppContext) -> None:
    """Register the handlers of every error the board answers (see the module's docstring)."""

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if wants_html(request) and exc.status_code >= 400:
            return _page(request, context, exc.status_code, str(exc.detail), getattr(exc, "headers", None))
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if wants_html(request):
            return _page(request, context, 422, validation_text(exc.errors()))
        return await request_validation_exception_handler(request, exc)

    @app.exception_handler(NotFoundError)
    async def _not_found(request: Request, exc: NotFoundError) -> Response:
        return _answer(request, context, 404, str(exc))

    @app.exception_handler(ScoringError)
    async def _scoring(request: Request, exc: ScoringError) -> Response:
        return _answer(request, context, 422, str(exc))

    @app.exception_handler(ValueError)
    async def _bad_value(request: Request, exc: ValueError) -> Response:
        return _answer(request, context, 422, str(exc))

    @app.exception_handler(GreenhackError)
    async def _unavailable(request: Request, exc: GreenhackError) -> Response:
        return _answer(request, context, 503, f"service unavailable: {exc}")

    # an unexpected exception: Starlette's ServerErrorMiddleware answers with this handler, then re-raises the
    # exception so that the server logs it with its traceback
    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        if wants_html(request):
            return _page(
                request, context, 500, "The board hit a problem it did not expect. The organisers' logs have it."
            )
        return JSONResponse({"detail": CRASH_DETAIL}, status_code=500)
