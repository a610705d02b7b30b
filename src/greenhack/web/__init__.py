"""The leaderboard service: ``create_app(settings, config)`` builds the FastAPI app (JSON API, pages, admin)."""

from __future__ import annotations

from greenhack.web.app import create_app

__all__ = ["create_app"]
