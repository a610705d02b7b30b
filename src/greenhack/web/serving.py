"""Build the app from the environment, for uvicorn's factory mode (several worker processes).

``greenhack serve --workers N`` sets ``GREENHACK_EVENT_CONFIG`` to the event YAML's path and lets each worker
process call :func:`app_from_environment`.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from greenhack.errors import SettingsError
from greenhack.preflight import load_checked_event
from greenhack.settings import Settings
from greenhack.web.app import create_app

__all__ = ["EVENT_CONFIG_ENV", "app_from_environment"]

EVENT_CONFIG_ENV = "GREENHACK_EVENT_CONFIG"


def app_from_environment() -> FastAPI:
    """The app for the event YAML named by ``GREENHACK_EVENT_CONFIG`` and the ``GREENHACK_*`` settings."""
    path = os.environ.get(EVENT_CONFIG_ENV)
    if not path:
        raise SettingsError(f"{EVENT_CONFIG_ENV} must name the event YAML")
    return create_app(Settings(), load_checked_event(path))
