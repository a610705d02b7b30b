"""FastAPI dependencies: the app context, a database session, and the admin (bearer token or session cookie)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from greenhack.store.db import transaction
from greenhack.web.admin_session import AdminSession, SessionKeys, keys_for, read_session
from greenhack.web.context import AppContext

__all__ = [
    "AdminDep",
    "ContextDep",
    "IsAdminDep",
    "SessionDep",
    "admin_session",
    "get_context",
    "get_session",
    "is_admin",
    "require_admin",
    "session_keys",
]

_bearer = HTTPBearer(auto_error=False, description="The admin token (GREENHACK_ADMIN_TOKEN).")


def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


ContextDep = Annotated[AppContext, Depends(get_context)]


def get_session(context: ContextDep) -> Iterator[Session]:
    """A session in a transaction, committed when the route returns (StoreError on failure)."""
    with transaction(context.sessions, "serving a request") as session:
        yield session


# scope="function": the transaction commits before the answer is sent. FastAPI's default for a dependency with
# yield ends it after the answer went out, so a client that read "board frozen" and asked again at once could
# still see the board unfrozen, and a commit that failed then was answered as a success.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _token_ok(context: AppContext, credentials: HTTPAuthorizationCredentials | None) -> bool:
    expected = context.settings.admin_token
    if expected is None or credentials is None or credentials.scheme.lower() != "bearer":
        return False
    wanted = expected.get_secret_value()
    return bool(wanted) and secrets.compare_digest(credentials.credentials.encode(), wanted.encode())


def session_keys(context: AppContext) -> SessionKeys | None:
    """The keys of the admin's browser sessions (None while GREENHACK_ADMIN_TOKEN is unset)."""
    token = context.settings.admin_token
    return keys_for(token.get_secret_value() if token is not None else None)


def admin_session(request: Request, context: AppContext) -> AdminSession | None:
    """The signed-in admin's session of this request's cookie, when valid and not expired."""
    return read_session(request, session_keys(context), now=context.clock())


def is_admin(
    request: Request,
    context: ContextDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> bool:
    """Whether the request carries the admin token or a signed-in admin's cookie (pages and board queries show
    more to admins; reading is all a cookie allows outside the admin pages' CSRF-checked forms)."""
    return _token_ok(context, credentials) or admin_session(request, context) is not None


IsAdminDep = Annotated[bool, Depends(is_admin)]

_READS = frozenset({"GET", "HEAD"})


def require_admin(
    request: Request,
    context: ContextDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """401 unless the request carries the admin token; always 401 while GREENHACK_ADMIN_TOKEN is unset.

    A signed-in admin's cookie is enough to read (``GET``: the admin page follows a task's progress); a change
    through the API always needs the token, so that no page of another site can make a browser's cookie act.
    """
    if _token_ok(context, credentials):
        return
    if request.method in _READS and admin_session(request, context) is not None:
        return
    raise HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail="admin token required (Authorization: Bearer ...)",
        headers={"WWW-Authenticate": "Bearer"},
    )


AdminDep = Depends(require_admin)
