"""FastAPI dependencies: the app context, a database session, and the admin's bearer token."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from greenhack.store.db import transaction
from greenhack.web.context import AppContext

__all__ = [
    "AdminDep",
    "ContextDep",
    "IsAdminDep",
    "SessionDep",
    "get_context",
    "get_session",
    "is_admin",
    "require_admin",
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


SessionDep = Annotated[Session, Depends(get_session)]


def _token_ok(context: AppContext, credentials: HTTPAuthorizationCredentials | None) -> bool:
    expected = context.settings.admin_token
    if expected is None or credentials is None or credentials.scheme.lower() != "bearer":
        return False
    wanted = expected.get_secret_value()
    return bool(wanted) and secrets.compare_digest(credentials.credentials.encode(), wanted.encode())


def is_admin(
    context: ContextDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> bool:
    """Whether the request carries the admin token (pages and board queries show more to admins)."""
    return _token_ok(context, credentials)


IsAdminDep = Annotated[bool, Depends(is_admin)]


def require_admin(
    context: ContextDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """401 unless the request carries the admin token; always 401 while GREENHACK_ADMIN_TOKEN is unset."""
    if not _token_ok(context, credentials):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="admin token required (Authorization: Bearer ...)",
            headers={"WWW-Authenticate": "Bearer"},
        )


AdminDep = Depends(require_admin)
