"""What the competition tests share: the example files, times of the example event, its loaded config.

Tests import it by this unique name (two folders' modules both called conftest would shadow each other)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from greenhack.config import EventConfig, load_event

__all__ = ["CONTRACT", "EXAMPLE", "at", "config"]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "phases-and-tracks.yaml"
CONTRACT = ROOT / "examples" / "event.yaml"
_CET = timezone(timedelta(hours=1))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A time of the example event (December 2026, UTC+1)."""
    return datetime(2026, 12, day, hour, minute, tzinfo=_CET)


@pytest.fixture(scope="module")
def config() -> EventConfig:
    """examples/phases-and-tracks.yaml, loaded."""
    return load_event(EXAMPLE)
