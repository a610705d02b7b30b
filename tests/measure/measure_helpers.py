"""Helpers of the measure tests: a fake pynvml module."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

MakeZone = Callable[..., Path]


class FakeNVMLError(Exception):
    """Stands for pynvml.NVMLError."""


def fake_pynvml(devices: list[dict[str, object]], *, init_fails: bool = False) -> SimpleNamespace:
    """A module-like object with the pynvml functions greenhack calls.

    Each device: name, uuid, energy_mj (a list consumed one value per call, or None: not supported), power_mw
    (a list consumed one value per call).
    """
    state = {"shutdown": 0}

    def init() -> None:
        if init_fails:
            raise FakeNVMLError("Driver Not Loaded")

    def energy(handle: int) -> int:
        values = devices[handle]["energy_mj"]
        if values is None:
            raise FakeNVMLError("Not Supported")
        assert isinstance(values, list)
        return int(values.pop(0)) if len(values) > 1 else int(values[0])

    def power(handle: int) -> int:
        values = devices[handle]["power_mw"]
        assert isinstance(values, list)
        return int(values.pop(0)) if len(values) > 1 else int(values[0])

    def shutdown() -> None:
        state["shutdown"] += 1

    return SimpleNamespace(
        NVMLError=FakeNVMLError,
        nvmlInit=init,
        nvmlShutdown=shutdown,
        nvmlDeviceGetCount=lambda: len(devices),
        nvmlDeviceGetHandleByIndex=lambda i: i,
        nvmlDeviceGetName=lambda h: devices[h]["name"],
        nvmlDeviceGetUUID=lambda h: devices[h]["uuid"],
        nvmlDeviceGetTotalEnergyConsumption=energy,
        nvmlDeviceGetPowerUsage=power,
        state=state,
    )
