"""What the OpenAPI schema says beyond what FastAPI infers from the routes: error bodies, and where the admin token
is optional.

The schema is a contract that clients and ``tests/web/test_schema_fuzz.py`` check responses against, so every
status a route answers is documented with the body it carries.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["OPTIONAL_BEARER", "ErrorDetail", "errors"]

# Routes that read the admin token to show admins more (IsAdminDep) answer visitors too. FastAPI lists only the
# bearer scheme as the operation's security, which says the token is required; an empty requirement beside it
# says "or none" (OpenAPI 3.1, Security Requirement Object). FastAPI appends a route's ``openapi_extra`` lists.
OPTIONAL_BEARER: dict[str, Any] = {"security": [{}]}


class ErrorDetail(BaseModel):
    """An error's answer: what went wrong, in a sentence."""

    model_config = ConfigDict(frozen=True)

    detail: str


def errors(described: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """A route's ``responses`` for error statuses, each with its description and an :class:`ErrorDetail` body."""
    return {status: {"model": ErrorDetail, "description": text} for status, text in described.items()}
