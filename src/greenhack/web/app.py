"""``create_app(settings, config)``: the leaderboard service (JSON API, HTML pages, admin, health, metrics)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from greenhack import __version__
from greenhack.config import EventConfig
from greenhack.errors import StoreError
from greenhack.feedback.router import lazy_services, make_feedback_router
from greenhack.gitlab.credentials import webhook_secret
from greenhack.settings import Settings
from greenhack.store import crud
from greenhack.store.db import (
    create_db_engine,
    current_revision,
    head_revision,
    make_session_factory,
    transaction,
)
from greenhack.store.models import utcnow
from greenhack.web import admin, admin_pages, api, html, screen
from greenhack.web.context import AppContext, ResponseCache
from greenhack.web.error_pages import install_error_pages
from greenhack.web.hooks import make_hook_router
from greenhack.web.metrics import RequestTimer, build_registry
from greenhack.web.resources import leaderboard_dir
from greenhack.web.security import install_security_headers
from greenhack.web.templating import install_filters

__all__ = ["create_app"]


def create_app(
    settings: Settings,
    config: EventConfig,
    *,
    clock: Callable[[], datetime] = utcnow,
    cache_ttl_s: float = 1.0,
    check_schema: bool = True,
) -> FastAPI:
    """Build the board for one event.

    Args:
        settings: deployment settings (database URL, admin token, ...).
        config: the event YAML, loaded.
        clock: the current time (tests pass a fixed one to cross the freeze and the close).
        cache_ttl_s: how long, in seconds, a rendered board is served before the data version is checked again
            (changes made through this app are seen at once).
        check_schema: refuse to start unless the database is at the newest migration.

    Raises:
        StoreError: the database cannot be reached or is not migrated (run ``greenhack db upgrade``).
    """
    engine = create_db_engine(settings.database_url)
    if check_schema:
        at, head = current_revision(engine), head_revision(settings.database_url)
        if at != head:
            engine.dispose()
            raise StoreError(
                f"the database is at migration {at or '(none)'}, this greenhack needs {head}: "
                "run `greenhack db upgrade` first"
            )
    sessions = make_session_factory(engine)
    with transaction(sessions, "registering the event") as session:
        event_id = crud.ensure_event(session=session, name=config.event.name).id

    root = leaderboard_dir()
    templates = Jinja2Templates(directory=str(root / "templates"))
    install_filters(templates.env)
    registry, request_histogram = build_registry(sessions, event_id)
    context = AppContext(
        settings=settings,
        config=config,
        engine=engine,
        sessions=sessions,
        event_id=event_id,
        templates=templates,
        registry=registry,
        cache=ResponseCache(ttl_s=cache_ttl_s, read_state=lambda: context.read_event_state()),
        clock=clock,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    # FastAPIOffline: the same FastAPI app, with Swagger UI and ReDoc served from the fastapi-offline package's
    # files (/static-offline-docs) instead of a CDN, so the API docs work at venues without internet
    app = FastAPIOffline(
        title="greenhack leaderboard",
        version=__version__,
        description=f"Board of {config.event.name}: performance and environmental footprint of every submission.",
        lifespan=lifespan,
    )
    app.state.context = context
    install_security_headers(app)  # CSP, nosniff, referrer policy on every answer, a crash's 500 included
    app.add_middleware(RequestTimer, histogram=request_histogram)
    app.mount("/static", StaticFiles(directory=str(root / "static")), name="static")
    app.include_router(api.router)
    app.include_router(admin.router)
    app.include_router(html.router)
    app.include_router(screen.router)  # /screen, the projector view
    app.include_router(admin_pages.router)  # /admin: sign-in, forms, what visitors cannot see
    app.include_router(  # POST /api/v1/hooks/gitlab (greenhack.web.hooks, queued by greenhack.intake)
        make_hook_router(
            config=config, sessions=lambda: sessions, webhook_secret=webhook_secret(config, settings)
        )
    )
    # GET /api/v1/jobs/self/energy, POST /api/v1/jobs/self/budget-check (greenhack.feedback): job tokens are
    # checked with GitLab, so an event without a gitlab section has no such routes (404, not a 5xx)
    if config.gitlab is not None:
        services = lazy_services(config, settings, lambda: sessions)
        app.include_router(make_feedback_router(config=config, services=services))

    install_error_pages(app, context)  # HTML pages for browsers, JSON for the API (greenhack.web.error_pages)

    @app.get("/healthz", tags=["service"], response_class=PlainTextResponse)
    def healthz() -> str:
        """Liveness: the process answers (no database round trip)."""
        return "ok"

    @app.get("/metrics", tags=["service"], response_class=PlainTextResponse)
    def metrics() -> Response:
        """Prometheus metrics: evaluations by status, queue length, evaluation and request durations."""
        return Response(generate_latest(context.registry), media_type=CONTENT_TYPE_LATEST)

    return app

