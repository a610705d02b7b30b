"""The admin's browser session: the admin token, typed once into the sign-in form, exchanged for a signed cookie.

The cookie (:data:`COOKIE_NAME`) holds ``v1.<session id>.<expiry>.<signature>``: a random id, the expiry in Unix
seconds, and an HMAC-SHA256 of both under a key derived from ``GREENHACK_ADMIN_TOKEN`` (so changing the token
ends every session, and no other secret has to be kept). It is ``HttpOnly`` (no script reads it),
``SameSite=Strict`` (no other site's page sends it), ``Secure`` when the board is served over https, and expires
(``Max-Age``, and the server checks the signed expiry itself, so an old cookie kept by a browser is refused).

Forms that change anything carry a CSRF token (:meth:`SessionKeys.csrf_token`): an HMAC of the session id under
the same key, which a page of another site cannot read or compute. The admin token itself is never in the
cookie, only signatures made with the key derived from it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import Request, Response

__all__ = [
    "COOKIE_NAME",
    "DEFAULT_LIFETIME",
    "AdminSession",
    "SessionKeys",
    "clear_session_cookie",
    "keys_for",
    "read_session",
    "secure_cookie",
    "set_session_cookie",
]

COOKIE_NAME = "greenhack_admin"
DEFAULT_LIFETIME = timedelta(hours=8)  # a day of the event; sign in again the next morning

_VERSION = "v1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class AdminSession:
    """A signed-in admin: the session's id and when it ends (UTC)."""

    session_id: str
    expires_at: datetime


class SessionKeys:
    """Signs and checks session cookies and CSRF tokens with a key derived from the admin token."""

    def __init__(self, admin_token: str) -> None:
        if not admin_token:
            raise ValueError("an admin session needs GREENHACK_ADMIN_TOKEN")
        self._key = hashlib.sha256(b"greenhack admin session\0" + admin_token.encode()).digest()

    @staticmethod
    def same_token(given: str, wanted: str) -> bool:
        """Whether the token typed into the sign-in form is the admin token (in constant time)."""
        return bool(wanted) and hmac.compare_digest(given.encode(), wanted.encode())

    def _mac(self, purpose: str, text: str) -> str:
        return _b64(hmac.new(self._key, f"{purpose}\0{text}".encode(), hashlib.sha256).digest())

    def issue(self, *, now: datetime, lifetime: timedelta = DEFAULT_LIFETIME) -> tuple[str, AdminSession]:
        """A new session and its cookie value."""
        expires = int((now + lifetime).timestamp())
        session_id = _b64(secrets.token_bytes(16))
        body = f"{_VERSION}.{session_id}.{expires}"
        return f"{body}.{self._mac('session', body)}", AdminSession(
            session_id=session_id, expires_at=datetime.fromtimestamp(expires, UTC)
        )

    def read(self, value: str | None, *, now: datetime) -> AdminSession | None:
        """The session a cookie value holds; None when absent, malformed, forged or expired."""
        if not value or len(value) > 200:
            return None
        parts = value.split(".")
        if len(parts) != 4 or parts[0] != _VERSION or not parts[2].isdigit():
            return None
        body, signature = ".".join(parts[:3]), parts[3]
        if not hmac.compare_digest(signature.encode(), self._mac("session", body).encode()):
            return None
        expires_at = datetime.fromtimestamp(int(parts[2]), UTC)
        if now >= expires_at:
            return None
        return AdminSession(session_id=parts[1], expires_at=expires_at)

    def csrf_token(self, session: AdminSession) -> str:
        """The token every form of this session carries."""
        return self._mac("csrf", session.session_id)

    def csrf_ok(self, session: AdminSession, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(str(token).encode(), self.csrf_token(session).encode())

    def sign(self, text: str) -> str:
        """``text`` with a signature, for a value the browser keeps but must not forge (the admin's flash)."""
        return f"{_b64(text.encode())}.{self._mac('flash', text)}"

    def unsign(self, value: str | None) -> str | None:
        if not value or "." not in value or len(value) > 4000:
            return None
        data, signature = value.rsplit(".", 1)
        try:
            text = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        return text if hmac.compare_digest(signature.encode(), self._mac("flash", text).encode()) else None


def keys_for(admin_token: str | None) -> SessionKeys | None:
    """The session keys of this admin token; None while no token is set (nobody can sign in)."""
    return SessionKeys(admin_token) if admin_token else None


def read_session(request: Request, keys: SessionKeys | None, *, now: datetime) -> AdminSession | None:
    """The admin session of the request's cookie (None without one, or while no admin token is set)."""
    if keys is None:
        return None
    return keys.read(request.cookies.get(COOKIE_NAME), now=now)


def _cookie_path(request: Request) -> str:
    return request.scope.get("root_path", "") or "/"


def secure_cookie(request: Request, public_url: str) -> bool:
    """Whether a cookie of this board is ``Secure``: served over https, or published at an https address."""
    return request.url.scheme == "https" or public_url.startswith("https://")


def set_session_cookie(
    response: Response, request: Request, *, value: str, session: AdminSession, now: datetime, public_url: str
) -> None:
    """Put the session on ``response``: HttpOnly, SameSite=Strict, Secure over https, with its expiry."""
    response.set_cookie(
        COOKIE_NAME,
        value,
        max_age=max(0, int((session.expires_at - now).total_seconds())),
        expires=session.expires_at,
        path=_cookie_path(request),
        secure=secure_cookie(request, public_url),
        httponly=True,
        samesite="strict",
    )


def clear_session_cookie(response: Response, request: Request, *, public_url: str) -> None:
    response.delete_cookie(
        COOKIE_NAME,
        path=_cookie_path(request),
        secure=secure_cookie(request, public_url),
        httponly=True,
        samesite="strict",
    )
