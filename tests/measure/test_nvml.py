from __future__ import annotations

import pytest
from measure_helpers import fake_pynvml

from greenhack.measure.nvml import probe_nvml


def test_missing_module_is_named() -> None:
    def absent() -> object:
        raise ModuleNotFoundError("No module named 'pynvml'")

    probe = probe_nvml(loader=absent)  # type: ignore[arg-type]
    assert probe.meter is None
    assert "nvidia-ml-py is not installed" in probe.reason


def test_no_driver_is_named() -> None:
    probe = probe_nvml(loader=lambda: fake_pynvml([], init_fails=True))  # type: ignore[arg-type,return-value]
    assert probe.meter is None
    assert "Driver Not Loaded" in probe.reason


def test_no_gpu_is_named() -> None:
    probe = probe_nvml(loader=lambda: fake_pynvml([]))  # type: ignore[arg-type,return-value]
    assert probe.meter is None
    assert "no NVIDIA GPU" in probe.reason


def test_energy_counter_and_power_sampling_per_gpu() -> None:
    devices: list[dict[str, object]] = [
        # the counter is read once by the probe, once at begin, then at each poll (millijoules)
        {
            "name": "NVIDIA H100 80GB HBM3",
            "uuid": "GPU-aaa",
            "energy_mj": [1_000, 1_000, 51_000, 151_000],
            "power_mw": [0],
        },
        # no counter: power samples 100 W, 100 W, 300 W (milliwatts)
        {
            "name": b"Tesla P100",
            "uuid": b"GPU-bbb",
            "energy_mj": None,
            "power_mw": [100_000, 100_000, 300_000],
        },
    ]
    clock = iter([0.0, 0.0, 1.0, 2.0]).__next__
    module = fake_pynvml(devices)
    probe = probe_nvml(loader=lambda: module)  # type: ignore[arg-type,return-value]
    meter = probe.meter
    assert meter is not None
    meter._clock = clock
    meter.begin()
    meter.poll()
    total_j = meter.poll()

    per_gpu = {g.uuid: g for g in meter.per_gpu()}
    assert per_gpu["GPU-aaa"].method == "energy_counter"
    assert per_gpu["GPU-aaa"].energy_j == pytest.approx(150.0)
    assert per_gpu["GPU-bbb"].method == "power_sampling"
    assert per_gpu["GPU-bbb"].name == "Tesla P100"
    # trapezoids: 0-1 s at 100 W, 1-2 s from 100 to 300 W
    assert per_gpu["GPU-bbb"].energy_j == pytest.approx(100.0 + 200.0)
    assert total_j == pytest.approx(450.0)
    assert "energy counter and power sampling" in probe.reason
    meter.close()
    assert module.state["shutdown"] == 1
