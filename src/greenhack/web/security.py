"""Security headers on every response of the board, errors and crashes included.

The board's pages load only their own files (``leaderboard/static``: one stylesheet, one script, no inline script,
no external host); the one exception is the submission page's energy bar, whose widths are ``style`` attributes,
hence ``style-src-attr 'unsafe-inline'``. The API docs pages are FastAPI's (``fastapi/openapi/docs.py``): Swagger
UI and ReDoc from cdn.jsdelivr.net, an inline script that starts Swagger UI, ReDoc's inline styles, web worker
and Google fonts, so they get a policy of their own (:data:`DOCS_CSP`); nothing a team writes appears on them.
Both policies forbid framing (``frame-ancestors 'none'``), plugins and ``<base>`` rewrites.

The headers are added by an ASGI wrapper around the whole middleware stack (:func:`install_security_headers`):
a middleware added with ``add_middleware`` sits inside Starlette's ``ServerErrorMiddleware`` and would miss the
500 answer to an unexpected exception. The reverse-proxy examples (``deploy/proxy/``) send the same headers.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["APP_CSP", "DOCS_CSP", "DOCS_PATHS", "SECURITY_HEADERS", "SecurityHeaders", "install_security_headers"]

_COMMON = "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

APP_CSP = f"default-src 'self'; style-src-attr 'unsafe-inline'; {_COMMON}"

DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
    f"https://cdn.redoc.ly; worker-src 'self' blob:; {_COMMON}"
)

DOCS_PATHS: tuple[str, ...] = ("/docs", "/docs/oauth2-redirect", "/redoc")

# the headers besides the policy, the same on every answer
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),  # frame-ancestors for browsers that predate it
    ("Referrer-Policy", "no-referrer"),
)


class SecurityHeaders:
    """ASGI middleware adding :data:`SECURITY_HEADERS` and a Content-Security-Policy to every HTTP answer.

    Args:
        app: the application to wrap.
        docs_paths: paths served :data:`DOCS_CSP`; every other path gets :data:`APP_CSP`.
    """

    def __init__(self, app: ASGIApp, *, docs_paths: Collection[str]) -> None:
        self._app = app
        self._docs_paths = frozenset(docs_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        path, root = scope["path"], scope.get("root_path", "")
        if root and path.startswith(root):  # served under a prefix (a proxy's subpath): the app's own path
            path = path[len(root) :]
        policy = DOCS_CSP if path in self._docs_paths else APP_CSP
        added = [(b"content-security-policy", policy.encode())] + [
            (name.lower().encode(), value.encode()) for name, value in SECURITY_HEADERS
        ]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message = {
                    **message,
                    "headers": [*message.get("headers", []), *(h for h in added if h[0] not in present)],
                }
            await send(message)

        await self._app(scope, receive, send_with_headers)


def install_security_headers(app: FastAPI) -> None:
    """Wrap ``app``'s whole middleware stack (its error handler included) in :class:`SecurityHeaders`."""
    # FastAPI's own docs routes, or the conventional paths when they are served by other routes (fastapi-offline
    # turns FastAPI's off and serves the same pages at /docs and /redoc from its own files)
    configured = (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url)
    docs_paths = {p for p in configured if p} | set(DOCS_PATHS)
    build: Callable[[], ASGIApp] = app.build_middleware_stack

    def build_secured() -> ASGIApp:
        return SecurityHeaders(build(), docs_paths=docs_paths)

    # Starlette builds the stack on the first request from this method; wrapping it is the one place outside
    # ServerErrorMiddleware that still belongs to the app (so uvicorn, tests and any server see the same answers)
    app.build_middleware_stack = build_secured  # type: ignore[method-assign]
