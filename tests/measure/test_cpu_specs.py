from __future__ import annotations

from pathlib import Path

import pytest

from greenhack.measure.cpu_specs import (
    GENERIC_POWER_PER_THREAD_W,
    cpu_power,
    local_cpu_model,
    normalise_cpu_name,
)


@pytest.mark.parametrize(
    ("raw", "table"),
    [
        ("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", "Intel Xeon Gold 6248"),
        ("AMD EPYC 7763 64-Core Processor", "AMD EPYC 7763"),
        ("11th Gen Intel(R) Core(TM) i7-1165G7 @ 2.80GHz", "11th Gen Intel Core i7-1165G7"),
    ],
)
def test_vendor_strings_normalise_to_table_names(raw: str, table: str) -> None:
    assert normalise_cpu_name(raw) == table.lower()


def test_a_known_cpu_uses_its_tdp_per_thread() -> None:
    power = cpu_power("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz")
    assert power.spec is not None
    assert power.power_per_thread_w == pytest.approx(150 / 40)
    assert "TDP 150 W / 40 hardware threads" in power.source


def test_an_unknown_cpu_gets_the_generic_default_and_says_so() -> None:
    power = cpu_power("Intel(R) Xeon(R) Processor")
    assert power.spec is None
    assert power.power_per_thread_w == GENERIC_POWER_PER_THREAD_W
    assert "not in greenhack's table" in power.source
    assert "generic default" in power.source


def test_a_given_tdp_wins() -> None:
    power = cpu_power("AMD EPYC 7763 64-Core Processor", tdp_w=65, threads=8)
    assert power.power_per_thread_w == pytest.approx(65 / 8)
    assert "given TDP 65 W" in power.source
    with pytest.raises(ValueError):
        cpu_power(None, tdp_w=65, threads=0)


def test_model_name_is_read_from_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7742 64-Core Processor\n"
    )
    assert local_cpu_model(cpuinfo) == "AMD EPYC 7742 64-Core Processor"
    assert local_cpu_model(tmp_path / "absent") is None
