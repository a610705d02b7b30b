"""What every request of one app shares, built once by ``create_app`` (never at import time)."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from fastapi.templating import Jinja2Templates
from prometheus_client import CollectorRegistry

from greenhack.competition import event_phases, phase_at
from greenhack.config import EventConfig
from greenhack.settings import Settings
from greenhack.store import queries
from greenhack.store.db import SessionFactory, transaction
from greenhack.web.visibility import FreezeState, freeze_state

__all__ = ["AppContext", "CachedBody", "EventState", "ResponseCache"]


@dataclass(frozen=True)
class EventState:
    """What the database says of the event that pages depend on: the data version and the admin's freeze."""

    data_version: int
    frozen_override: bool | None
    frozen_at: datetime | None


@dataclass(frozen=True)
class CachedBody:
    """A rendered body and the data version it was rendered from."""

    version: int
    body: bytes
    etag: str


def _etag(version: int, body: bytes) -> str:
    # a digest, not hash(): Python salts hash() per process, and the worker processes behind one address
    # (``serve --workers N``) must agree on a body's tag
    return f'W/"{version}-{hashlib.blake2b(body, digest_size=8).hexdigest()}"'


@dataclass
class ResponseCache:
    """Rendered bodies keyed by what they show; a body is reused while the event's data version is unchanged.

    The version is read from the database at most once per ``ttl_s`` seconds (shared by all keys), so a busy
    board costs one tiny query per ``ttl_s`` rather than one board query per request; a write in this process
    (admin actions) calls :meth:`invalidate` and is seen at once.
    """

    ttl_s: float
    read_state: Callable[[], EventState]
    monotonic: Callable[[], float] = time.monotonic  # seconds; tests pass one they advance
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _state: EventState | None = None
    _checked_at: float = float("-inf")
    _bodies: dict[str, CachedBody] = field(default_factory=dict)
    _render_locks: dict[str, threading.Lock] = field(default_factory=dict)

    def state(self) -> EventState:
        """The event's data version and freeze override, read at most once per ``ttl_s``."""
        now = self.monotonic()
        state = self._state
        if state is None or now - self._checked_at >= self.ttl_s:
            state = self.read_state()
            with self._lock:
                if self._state is None or state.data_version != self._state.data_version:
                    self._bodies.clear()
                self._state = state
                self._checked_at = now
        return state

    def version(self) -> int:
        return self.state().data_version

    def get(self, key: str, render: Callable[[int], bytes]) -> CachedBody:
        version = self.version()
        cached = self._bodies.get(key)
        if cached is not None and cached.version == version:
            return cached
        with self._lock:
            key_lock = self._render_locks.setdefault(key, threading.Lock())
        # one render per key at a time: visitors arriving meanwhile wait for it instead of each running the
        # board query (the event rehearsal saw 20 identical renders at once after every data change)
        with key_lock:
            cached = self._bodies.get(key)
            if cached is not None and cached.version == version:
                return cached
            body = render(version)
            entry = CachedBody(version=version, body=body, etag=_etag(version, body))
            with self._lock:
                if self._state is not None and version == self._state.data_version:
                    self._bodies[key] = entry
        return entry

    def invalidate(self) -> None:
        with self._lock:
            self._checked_at = float("-inf")
            self._bodies.clear()


@dataclass
class AppContext:
    """The app's settings, event, database and shared helpers."""

    settings: Settings
    config: EventConfig
    engine: sa.Engine
    sessions: SessionFactory
    event_id: int
    templates: Jinja2Templates
    registry: CollectorRegistry
    cache: ResponseCache
    clock: Callable[[], datetime]

    def freeze(self, phase: str | None = None) -> FreezeState:
        """The freeze of ``phase`` (None: the phase a visitor lands on) as it stands now (the admin's override is
        read through the cache).

        Raises:
            KeyError: no phase of that name.
        """
        state = self.cache.state()
        return freeze_state(
            self.config,
            now=self.clock(),
            override=state.frozen_override,
            frozen_at=state.frozen_at,
            phase=phase,
        )

    def freeze_at(self, created_at: datetime) -> FreezeState:
        """The freeze of the phase a job created at ``created_at`` belongs to (its private rows and its place
        after the cut follow that phase's times), or of the phase a visitor lands on when it belongs to none."""
        phase = phase_at(event_phases(self.config), created_at).phase
        return self.freeze(phase.name if phase is not None else None)

    def read_event_state(self) -> EventState:
        """Read the event's data version and freeze override from the database."""
        with transaction(self.sessions, "reading the event's state") as session:
            event = queries.get_event(session=session, event_id=self.event_id)
            return EventState(
                data_version=event.data_version,
                frozen_override=event.frozen_override,
                frozen_at=event.frozen_at,
            )
