"""Fixtures of the measure tests: a fake powercap tree."""

from __future__ import annotations

from pathlib import Path

import pytest
from measure_helpers import MakeZone


@pytest.fixture
def powercap(tmp_path: Path) -> Path:
    root = tmp_path / "powercap"
    root.mkdir()
    (root / "intel-rapl").mkdir()  # the control type: no energy_uj
    return root


@pytest.fixture
def make_zone(powercap: Path) -> MakeZone:
    def make(zone: str, name: str, energy_uj: int = 0, max_uj: int = 262_143_328_850) -> Path:
        path = powercap / zone
        path.mkdir()
        (path / "name").write_text(name + "\n")
        (path / "energy_uj").write_text(f"{energy_uj}\n")
        (path / "max_energy_range_uj").write_text(f"{max_uj}\n")
        return path

    return make
