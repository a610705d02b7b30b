"""Exporter profiles: which metrics each exporter serves, their units, semantics and label keys.

Sources (the exporters' own code and docs decide):

* Scaphandre (hubblo-org/scaphandre, port 8080): ``scaph_host_power_microwatts`` is a gauge whose value is the
  average power since the previous refresh (the Prometheus exporter refreshes on each scrape);
  ``scaph_host_energy_microjoules`` is a counter read from RAPL with no wrap-around handling, so a drop is a wrap
  of one domain, not a reset to zero. What it reads (src/sensors/powercap_rapl.rs ``read_record``): on a host with
  a PSYS (platform) domain, PSYS alone, and both host series then carry ``value_source="powercap_rapl_psys"``
  (src/exporters/mod.rs ``gen_host_metrics``; ``scaphandredrv_rapl_pkg`` from the Windows driver); otherwise the
  sum of each socket's package and DRAM domains, with no label. The per-socket (``socket_id``) and per-domain
  (``domain_name``, ``domain_id``, ``socket_id``) series are parts of the host figure, never added to it: greenhack
  reads the host series alone, so PSYS and the package domains are not counted twice. Since every
  scrape refreshes the gauge, two Prometheus servers scraping one Scaphandre would each see averages over the
  stretch since the *other's* scrape: the counter (preferred here) is immune to that.
* utkuozdemir/nvidia_gpu_exporter (port 9835): gauges named from nvidia-smi fields, label ``uuid`` written
  lower-case without the ``GPU-`` prefix. ``nvidia_smi_power_draw_watts`` is ``power.draw``, on Ampere and newer
  a 1 s average ending at the read. Only the NVML backend adds the counter ``nvidia_smi_energy_joules_total``
  (total energy since the driver loaded: it resets when the driver reloads).
* NVIDIA dcgm-exporter (port 9400): ``DCGM_FI_DEV_POWER_USAGE`` (W, gauge: NVML's power usage, like
  ``power.draw`` a 1 s average on Ampere and newer) and
  ``DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION`` (mJ since the driver loaded, counter), labels ``gpu``, ``UUID`` (with
  ``GPU-``), ``pci_bus_id``, ``device``, ``modelName``, ``Hostname`` (``hostname`` on its main branch), and
  ``GPU_I_PROFILE``/``GPU_I_ID`` on a MIG instance's series. Its collect interval (default 30 s) must not
  exceed the scrape interval, or values go stale between collections.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DCGM",
    "GPU_PROFILES",
    "NVIDIA_SMI",
    "SCAPHANDRE",
    "CounterDropKind",
    "ExporterProfile",
    "GaugeKind",
    "gpu_profile",
    "normalise_gpu_uuid",
]

GaugeKind = Literal["interval_average", "point"]
"""``interval_average``: a sample is the mean power since the previous sample (Scaphandre).
``point``: a sample is the (short-average) power at its timestamp (nvidia-smi, DCGM)."""

CounterDropKind = Literal["wrap", "reset"]
"""What a decrease of the counter means: one RAPL domain wrapped (Scaphandre) or the driver reloaded (GPUs)."""


@dataclass(frozen=True)
class ExporterProfile:
    """One exporter's energy-related metrics.

    Attributes:
        name: profile name as written in the event YAML (``gpu_exporter``) or ``scaphandre``.
        power_metric: the power gauge's metric name.
        power_scale_w: multiply a raw gauge value by this to get watts.
        gauge_kind: the gauge's semantics (see :data:`GaugeKind`).
        gauge_lag_s: how far before its timestamp a ``point`` sample is centred (a 1 s average ending at the
            read is centred 0.5 s earlier).
        energy_metric: the energy counter's metric name, or None where the exporter has none.
        energy_scale_j: multiply a raw counter value by this to get joules.
        counter_drop: what a counter decrease means (see :data:`CounterDropKind`).
        uuid_label: the label carrying the GPU UUID (None for host-level series).
        model_label: the label carrying the GPU model name, where the power series has it.
        info_metric: a metric whose labels name the device (``name``), where the model is not on the power series.
        default_port: the exporter's default port, for documentation and the simulator.
    """

    name: str
    power_metric: str
    power_scale_w: float
    gauge_kind: GaugeKind
    gauge_lag_s: float
    energy_metric: str | None
    energy_scale_j: float
    counter_drop: CounterDropKind
    uuid_label: str | None
    model_label: str | None
    info_metric: str | None
    default_port: int


SCAPHANDRE = ExporterProfile(
    name="scaphandre",
    power_metric="scaph_host_power_microwatts",
    power_scale_w=1e-6,
    gauge_kind="interval_average",
    gauge_lag_s=0.0,
    energy_metric="scaph_host_energy_microjoules",
    energy_scale_j=1e-6,
    counter_drop="wrap",
    uuid_label=None,
    model_label=None,
    info_metric=None,
    default_port=8080,
)

NVIDIA_SMI = ExporterProfile(
    name="nvidia_smi",
    power_metric="nvidia_smi_power_draw_watts",
    power_scale_w=1.0,
    gauge_kind="point",
    gauge_lag_s=0.5,
    energy_metric="nvidia_smi_energy_joules_total",
    energy_scale_j=1.0,
    counter_drop="reset",
    uuid_label="uuid",
    model_label=None,
    info_metric="nvidia_smi_gpu_info",
    default_port=9835,
)

DCGM = ExporterProfile(
    name="dcgm",
    power_metric="DCGM_FI_DEV_POWER_USAGE",
    power_scale_w=1.0,
    gauge_kind="point",
    gauge_lag_s=0.5,
    energy_metric="DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
    energy_scale_j=1e-3,
    counter_drop="reset",
    uuid_label="UUID",
    model_label="modelName",
    info_metric=None,
    default_port=9400,
)

GPU_PROFILES: dict[str, ExporterProfile] = {"nvidia_smi": NVIDIA_SMI, "dcgm": DCGM}


def gpu_profile(name: str) -> ExporterProfile:
    """The GPU exporter profile called ``name`` (``nvidia_smi`` or ``dcgm``)."""
    try:
        return GPU_PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown GPU exporter {name!r}; expected one of {sorted(GPU_PROFILES)}") from None


def normalise_gpu_uuid(raw: str) -> str:
    """Write a GPU UUID in NVIDIA's form: ``GPU-`` then the lower-case hex UUID.

    nvidia_gpu_exporter serves ``df6e7a7c-7314-...`` (lower case, no prefix); dcgm-exporter serves
    ``GPU-df6e7a7c-7314-...``. Both become ``GPU-df6e7a7c-7314-...``.
    """
    text = raw.strip()
    if text[:4].lower() == "gpu-":
        text = text[4:]
    return "GPU-" + text.lower()
