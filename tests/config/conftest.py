"""Fixtures of the event YAML tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "event.yaml"


@pytest.fixture
def event_dir(tmp_path: Path) -> Path:
    """A copy of the example event (YAML + truth) that a test may edit."""
    shutil.copy(EXAMPLE, tmp_path / "event.yaml")
    (tmp_path / "secrets").mkdir()
    shutil.copy(EXAMPLE.parent / "secrets" / "truth.csv", tmp_path / "secrets" / "truth.csv")
    return tmp_path
