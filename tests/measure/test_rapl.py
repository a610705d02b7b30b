from __future__ import annotations

from pathlib import Path

import pytest
from measure_helpers import MakeZone

from greenhack.measure.rapl import RaplDomain, RaplMeter, counter_delta_uj, discover_rapl_domains, probe_rapl


def test_packages_and_dram_are_counted_nested_and_duplicate_zones_are_not(
    powercap: Path, make_zone: MakeZone
) -> None:
    make_zone("intel-rapl:0", "package-0")
    make_zone("intel-rapl:0:0", "core")
    make_zone("intel-rapl:0:1", "uncore")
    make_zone("intel-rapl:0:2", "dram")
    make_zone("intel-rapl:1", "package-1")
    make_zone("intel-rapl:1:0", "dram")
    make_zone("intel-rapl:2", "psys")
    make_zone("intel-rapl-mmio:0", "package-0")

    names = [d.name for d in discover_rapl_domains(powercap)]

    assert names == ["package-0", "package-1", "dram-0", "dram-1"]


def test_psys_is_used_only_without_a_package_zone(powercap: Path, make_zone: MakeZone) -> None:
    make_zone("intel-rapl:0", "psys")
    make_zone("intel-rapl:0:0", "core")

    assert [d.name for d in discover_rapl_domains(powercap)] == ["psys"]


def test_wrapping_counter_delta() -> None:
    assert counter_delta_uj(100, 350, 1000) == 250
    assert counter_delta_uj(900, 100, 1000) == 200  # wrapped once: 900 -> 1000 -> 0 -> 100


def test_meter_accumulates_across_a_wrap(powercap: Path, make_zone: MakeZone) -> None:
    zone = make_zone("intel-rapl:0", "package-0", energy_uj=9_000_000, max_uj=10_000_000)
    dram = make_zone("intel-rapl:0:0", "dram", energy_uj=0)
    meter = RaplMeter(discover_rapl_domains(powercap))
    meter.begin()
    (zone / "energy_uj").write_text("9500000\n")
    (dram / "energy_uj").write_text("250000\n")
    assert meter.poll() == pytest.approx(0.75)
    (zone / "energy_uj").write_text("1500000\n")  # wrapped: 0.5 J to the top, then 1.5 J
    assert meter.poll() == pytest.approx(2.75)
    assert meter.energy_j_by_domain() == {"package-0": pytest.approx(2.5), "dram-0": pytest.approx(0.25)}


def test_probe_says_why_when_there_is_no_powercap(tmp_path: Path) -> None:
    probe = probe_rapl(tmp_path / "absent")
    assert not probe.readable
    assert "does not exist" in probe.reason


def test_probe_says_why_when_there_is_no_zone(powercap: Path) -> None:
    probe = probe_rapl(powercap)
    assert not probe.readable
    assert "no intel-rapl zone" in probe.reason


def test_probe_names_the_file_a_user_cannot_read(
    powercap: Path, make_zone: MakeZone, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_zone("intel-rapl:0", "package-0")

    def denied(self: RaplDomain) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(RaplDomain, "read_energy_uj", denied)
    probe = probe_rapl(powercap)
    assert not probe.readable
    assert "intel-rapl:0/energy_uj is not readable" in probe.reason
    assert "root" in probe.reason


def test_probe_reports_readable_domains(powercap: Path, make_zone: MakeZone) -> None:
    make_zone("intel-rapl:0", "package-0", energy_uj=5)
    probe = probe_rapl(powercap)
    assert probe.readable
    assert "package-0" in probe.reason
