"""NVIDIA GPU energy through NVML (the ``pynvml`` module of ``nvidia-ml-py``, an optional extra: ``greenhack[gpu]``).

Per GPU, the total-energy counter (``nvmlDeviceGetTotalEnergyConsumption``, millijoules since the driver loaded,
Volta and newer) is read at the start and at each poll. GPUs without that counter fall back to sampling
``nvmlDeviceGetPowerUsage`` (milliwatts) and integrating with the trapezoidal rule. NVML reports the whole GPU,
not one process: other work on the same GPU is included, as it is on the platform's servers.

``pynvml`` is imported lazily, only by :func:`probe_nvml`, so greenhack works without it.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

__all__ = ["GpuEnergy", "Method", "NvmlMeter", "NvmlProbe", "probe_nvml"]

Method = Literal["energy_counter", "power_sampling"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GpuEnergy:
    """Energy of one GPU over the measured window.

    Attributes:
        index: NVML device index.
        name: the GPU's marketing name, e.g. ``NVIDIA A100 80GB PCIe``.
        uuid: the GPU's UUID (``GPU-...``).
        method: ``energy_counter`` (exact) or ``power_sampling`` (integrated samples).
        energy_j: energy in joules.
    """

    index: int
    name: str
    uuid: str
    method: Method
    energy_j: float


@dataclass
class _Device:
    index: int
    handle: Any
    name: str
    uuid: str
    method: Method
    start_mj: int = 0
    last_power_w: float = 0.0
    last_time_s: float = 0.0
    energy_j: float = 0.0


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class NvmlMeter:
    """Energy of every visible NVIDIA GPU between :meth:`begin` and the last :meth:`poll`."""

    def __init__(self, nvml: ModuleType, devices: list[_Device], *, clock: Callable[[], float] = time.monotonic):
        self._nvml = nvml
        self._devices = devices
        self._clock = clock
        self._begun = False

    @property
    def device_count(self) -> int:
        return len(self._devices)

    def begin(self) -> None:
        """Take the first reading of every GPU."""
        now = self._clock()
        for device in self._devices:
            device.energy_j = 0.0
            if device.method == "energy_counter":
                device.start_mj = int(self._nvml.nvmlDeviceGetTotalEnergyConsumption(device.handle))
            else:
                device.last_power_w = self._nvml.nvmlDeviceGetPowerUsage(device.handle) / 1000.0
                device.last_time_s = now
        self._begun = True

    def poll(self) -> float:
        """Read every GPU and return the energy since :meth:`begin`, in joules (all GPUs)."""
        if not self._begun:
            raise RuntimeError("NvmlMeter.poll() before begin()")
        now = self._clock()
        for device in self._devices:
            if device.method == "energy_counter":
                current_mj = int(self._nvml.nvmlDeviceGetTotalEnergyConsumption(device.handle))
                device.energy_j = max(0, current_mj - device.start_mj) / 1000.0
            else:
                power_w = self._nvml.nvmlDeviceGetPowerUsage(device.handle) / 1000.0
                device.energy_j += (power_w + device.last_power_w) / 2.0 * (now - device.last_time_s)
                device.last_power_w, device.last_time_s = power_w, now
        return self.energy_j

    @property
    def energy_j(self) -> float:
        """Energy of all GPUs accumulated so far, in joules."""
        return sum(d.energy_j for d in self._devices)

    def per_gpu(self) -> list[GpuEnergy]:
        """Energy accumulated so far per GPU."""
        return [GpuEnergy(d.index, d.name, d.uuid, d.method, d.energy_j) for d in self._devices]

    def close(self) -> None:
        """Release NVML."""
        try:
            self._nvml.nvmlShutdown()
        except Exception as exc:  # noqa: BLE001 - shutting down must never hide the measurement
            log.debug("nvmlShutdown failed: %s", exc)


@dataclass(frozen=True)
class NvmlProbe:
    """Whether NVML can be read here: ``meter`` when it can, otherwise ``reason`` says why not."""

    meter: NvmlMeter | None
    reason: str


def _import_pynvml() -> ModuleType:
    return importlib.import_module("pynvml")


def probe_nvml(*, loader: Callable[[], ModuleType] = _import_pynvml) -> NvmlProbe:
    """Initialise NVML and choose, per GPU, the energy counter or power sampling.

    Args:
        loader: returns the ``pynvml`` module (tests pass a fake one).

    Returns:
        A probe with a meter, or with no meter and the reason (module missing, no driver, no GPU).
    """
    try:
        nvml = loader()
    except ImportError:
        return NvmlProbe(None, "nvidia-ml-py is not installed (install greenhack[gpu] to measure NVIDIA GPUs)")
    error_class: type[BaseException] = getattr(nvml, "NVMLError", Exception)
    try:
        nvml.nvmlInit()
    except error_class as exc:
        return NvmlProbe(None, f"NVML did not initialise ({exc}): no NVIDIA driver or GPU here")
    try:
        count = int(nvml.nvmlDeviceGetCount())
        devices: list[_Device] = []
        for index in range(count):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            name = _text(nvml.nvmlDeviceGetName(handle))
            uuid = _text(nvml.nvmlDeviceGetUUID(handle))
            method: Method = "energy_counter"
            try:
                nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
            except error_class:
                method = "power_sampling"
                nvml.nvmlDeviceGetPowerUsage(handle)  # neither readable: the outer handler reports it
            devices.append(_Device(index, handle, name, uuid, method))
    except error_class as exc:
        try:
            nvml.nvmlShutdown()
        except error_class:
            pass
        return NvmlProbe(None, f"NVML cannot read GPU energy or power ({exc})")
    if not devices:
        nvml.nvmlShutdown()
        return NvmlProbe(None, "NVML found no NVIDIA GPU")
    methods = sorted({d.method.replace("_", " ") for d in devices})
    return NvmlProbe(
        NvmlMeter(nvml, devices),
        f"NVML reads {len(devices)} GPU(s) by {' and '.join(methods)}; whole-GPU energy",
    )
