"""A simulator of the power exporters, for tests, benches and the demo.

A :class:`PowerTrace` is a scripted power curve (W against Unix seconds) whose energy over any window is known
exactly (``energy_j``). An :class:`ExporterSim` turns traces into what an exporter serves, with the exporter's own
metric names, labels, units and semantics:

* ``scaphandre``: ``scaph_host_power_microwatts`` = mean power since the previous refresh (one refresh per scrape),
  ``scaph_host_energy_microjoules`` = a RAPL-like counter in integer µJ that wraps to 0 at ``wrap_at_j``; with
  :class:`RaplDomains`, also each socket's package and DRAM domain, and (PSYS) the host series' ``value_source``;
* ``nvidia_smi``: ``nvidia_smi_power_draw_watts{uuid}`` = mean power over the second before the read, and, with the
  NVML backend only, ``nvidia_smi_energy_joules_total{uuid}`` (J since the driver loaded);
* ``dcgm``: ``DCGM_FI_DEV_POWER_USAGE`` (W, 1 s mean) and ``DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION`` (integer mJ since
  the driver loaded) with labels ``gpu``, ``UUID``, ``pci_bus_id``, ``device``, ``modelName``, ``Hostname``.

It can (a) write OpenMetrics text of every scrape at a given interval with jitter and outages, for
``promtool tsdb create-blocks-from openmetrics``, (b) give the true energy, and (c) serve live ``/metrics`` in each
exporter's text format from a small threaded HTTP server.

A :class:`NodeExporterSim` serves node_exporter's clock series (``node_time_seconds``, ``node_timex_*``) of a server
whose clock is off by a chosen offset, and :func:`phased_job` scripts a job's phases (the runner's preparation, the
team's script, the artifact upload) with a known power per phase.
"""

from __future__ import annotations

import bisect
import math
import random
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from typing import Self

from greenhack.telemetry.profiles import NVIDIA_SMI, SCAPHANDRE, ExporterProfile

__all__ = [
    "Families",
    "Constant",
    "ExporterSim",
    "NodeExporterSim",
    "Noise",
    "Outage",
    "Phase",
    "PhasedJob",
    "PowerTrace",
    "RaplDomains",
    "Ramp",
    "ScrapeSpan",
    "ScrapedExporter",
    "Segment",
    "SimDevice",
    "SimulatorServer",
    "job_trace",
    "openmetrics",
    "openmetrics_spans",
    "phased_job",
    "scrape_times",
]

_NVML_AVERAGE_S = 1.0  # power.draw / NVML power usage: mean over the last second (Ampere and newer)


# ---------------------------------------------------------------------------------------------------------------
# Power traces
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Constant:
    """Power ``power_w`` over [start_s, end_s)."""

    start_s: float
    end_s: float
    power_w: float

    def power_at(self, t_s: float) -> float:
        return self.power_w

    def energy_j(self, a: float, b: float) -> float:
        return self.power_w * (b - a)


@dataclass(frozen=True)
class Ramp:
    """Power going linearly from ``from_w`` at start_s to ``to_w`` at end_s."""

    start_s: float
    end_s: float
    from_w: float
    to_w: float

    def power_at(self, t_s: float) -> float:
        return self.from_w + (self.to_w - self.from_w) * (t_s - self.start_s) / (self.end_s - self.start_s)

    def energy_j(self, a: float, b: float) -> float:
        return 0.5 * (self.power_at(a) + self.power_at(b)) * (b - a)


@dataclass(frozen=True)
class Noise:
    """Noisy load: ``mean_w`` plus a uniform random level in ±``amplitude_w``, redrawn every ``period_s``.

    Levels are drawn once from ``seed``, so the energy is exact and reproducible.
    """

    start_s: float
    end_s: float
    mean_w: float
    amplitude_w: float
    seed: int
    period_s: float = 0.5

    @cached_property
    def _levels(self) -> tuple[list[float], list[float]]:
        """Each cell's level (W) and the energy (J) from start_s to each cell's start."""
        rng = random.Random(self.seed)
        cells = max(1, math.ceil((self.end_s - self.start_s) / self.period_s))
        levels = [self.mean_w + self.amplitude_w * rng.uniform(-1.0, 1.0) for _ in range(cells)]
        cumulative = [0.0]
        for level in levels:
            cumulative.append(cumulative[-1] + level * self.period_s)
        return levels, cumulative

    def _cell(self, t_s: float) -> int:
        levels, _ = self._levels
        return min(max(int((t_s - self.start_s) // self.period_s), 0), len(levels) - 1)

    def power_at(self, t_s: float) -> float:
        return self._levels[0][self._cell(t_s)]

    def _energy_to(self, t_s: float) -> float:
        levels, cumulative = self._levels
        cell = self._cell(t_s)
        return cumulative[cell] + levels[cell] * (t_s - (self.start_s + cell * self.period_s))

    def energy_j(self, a: float, b: float) -> float:
        return self._energy_to(b) - self._energy_to(a)


Segment = Constant | Ramp | Noise


@dataclass(frozen=True)
class PowerTrace:
    """A power curve: ``baseline_w`` outside the segments, each segment's own law inside. Segments must not overlap.

    Times are Unix seconds; ``energy_j(a, b)`` is the exact integral in joules.
    """

    baseline_w: float
    segments: tuple[Segment, ...] = ()

    def __post_init__(self) -> None:
        ordered = sorted(self.segments, key=lambda s: s.start_s)
        for seg in ordered:
            if seg.end_s <= seg.start_s:
                raise ValueError(f"segment {seg} ends before it starts")
        for a, b in pairwise(ordered):
            if b.start_s < a.end_s:
                raise ValueError(f"segments {a} and {b} overlap")
        object.__setattr__(self, "segments", tuple(ordered))
        object.__setattr__(self, "_starts", [s.start_s for s in ordered])

    @classmethod
    def steps(cls, baseline_w: float, levels: Sequence[tuple[float, float]], end_s: float) -> PowerTrace:
        """A step trace: power ``levels[i][1]`` from ``levels[i][0]`` to the next step (the last to ``end_s``)."""
        bounds = [t for t, _ in levels] + [end_s]
        return cls(
            baseline_w,
            tuple(Constant(bounds[i], bounds[i + 1], w) for i, (_, w) in enumerate(levels) if bounds[i + 1] > bounds[i]),
        )

    def _segment_at(self, t_s: float) -> Segment | None:
        i = bisect.bisect_right(self._starts, t_s) - 1  # type: ignore[attr-defined]
        if i >= 0 and self.segments[i].start_s <= t_s < self.segments[i].end_s:
            return self.segments[i]
        return None

    def power_w(self, t_s: float) -> float:
        """Power at ``t_s``, watts."""
        seg = self._segment_at(t_s)
        return seg.power_at(t_s) if seg is not None else self.baseline_w

    def energy_j(self, a: float, b: float) -> float:
        """Exact energy over [a, b], joules (negative when b < a)."""
        if b < a:
            return -self.energy_j(b, a)
        total = self.baseline_w * (b - a)
        for seg in self.segments:
            lo, hi = max(a, seg.start_s), min(b, seg.end_s)
            if hi > lo:
                total += seg.energy_j(lo, hi) - self.baseline_w * (hi - lo)
        return total

    def mean_power_w(self, a: float, b: float) -> float:
        """Mean power over [a, b], watts."""
        return self.energy_j(a, b) / (b - a)


def job_trace(
    kind: str, start_s: float, end_s: float, *, idle_w: float, load_w: float, seed: int = 0
) -> PowerTrace:
    """A job's power: ``idle_w`` outside [start_s, end_s], inside a load of kind

    * ``steps``: a few random steps between ``idle_w`` and ``load_w``, at random times;
    * ``ramp``: linear from ``idle_w`` to ``load_w`` over the first half, then constant;
    * ``noise``: noisy ``load_w`` (±15 %, redrawn every 0.5 s);
    * ``mixed``: a ramp, a noisy stretch and a step, in a third of the window each;
    * ``realistic``: noisy idle (±5 %) around the window; inside, the load starts 0.5-4 s after the window start
      with a 2 s ramp, runs noisy (±10 %), and falls back to idle over 1 s ending 0-2 s before the window end
      (for windows of at least 10 s).
    """
    rng = random.Random(seed)
    span = end_s - start_s
    if kind == "steps":
        count = rng.randint(1, 4)
        times = sorted(rng.uniform(start_s, end_s) for _ in range(count - 1))
        levels = [(start_s, load_w)] + [(t, rng.uniform(idle_w, load_w)) for t in times]
        return PowerTrace.steps(idle_w, levels, end_s)
    if kind == "ramp":
        mid = start_s + span / 2
        return PowerTrace(idle_w, (Ramp(start_s, mid, idle_w, load_w), Constant(mid, end_s, load_w)))
    if kind == "noise":
        return PowerTrace(idle_w, (Noise(start_s, end_s, load_w, 0.15 * load_w, seed),))
    if kind == "mixed":
        a, b = start_s + span / 3, start_s + 2 * span / 3
        return PowerTrace(
            idle_w,
            (
                Ramp(start_s, a, 0.5 * (idle_w + load_w), load_w),
                Noise(a, b, load_w, 0.1 * load_w, seed),
                Constant(b, end_s, 0.7 * load_w),
            ),
        )
    if kind == "realistic":
        delay, early = rng.uniform(0.5, min(4.0, span / 4)), rng.uniform(0.0, min(2.0, span / 8))
        up, down = start_s + delay, end_s - early - 1.0
        top = max(up + 2.0, down)
        return PowerTrace(
            idle_w,
            (
                Noise(start_s - 600.0, up, idle_w, 0.05 * idle_w, seed),
                Ramp(up, up + 2.0, idle_w, load_w),
                *((Noise(up + 2.0, top, load_w, 0.1 * load_w, seed + 1),) if top > up + 2.0 else ()),
                Ramp(top, top + 1.0, load_w, idle_w),
                Noise(top + 1.0, end_s + 600.0, idle_w, 0.05 * idle_w, seed + 2),
            ),
        )
    raise ValueError(f"unknown job trace kind {kind!r}: steps, ramp, noise, mixed or realistic")


# ---------------------------------------------------------------------------------------------------------------
# Exporters
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outage:
    """The exporter (or its scrape) is down over [start_s, end_s): no sample is taken."""

    start_s: float
    end_s: float


@dataclass(frozen=True)
class SimDevice:
    """One measured device: the host (Scaphandre) or one GPU.

    Attributes:
        trace: its power.
        uuid: the GPU's UUID in NVIDIA's form ``GPU-…`` (None for the host).
        model_name: the GPU model, as nvidia-smi names it.
        counter_origin_s: when the energy counter started counting (boot / driver load), Unix seconds.
        counter_offset_j: the counter's value at ``counter_origin_s``, joules.
        wrap_at_j: the counter goes back to 0 on reaching this (a RAPL domain's max_energy_range_uj), joules.
        resets_at_s: times the driver reloaded: the counter restarts from 0 (GPU counters).
    """

    trace: PowerTrace
    uuid: str | None = None
    model_name: str = "NVIDIA A100 80GB PCIe"
    counter_origin_s: float = 0.0
    counter_offset_j: float = 0.0
    wrap_at_j: float | None = None
    resets_at_s: tuple[float, ...] = ()

    def counter_j(self, t_s: float) -> float:
        """The energy counter's value at ``t_s``, joules (with resets and wrap-around applied)."""
        resets = [r for r in self.resets_at_s if r <= t_s]
        if resets:
            value = self.trace.energy_j(max(resets), t_s)
        else:
            value = self.counter_offset_j + self.trace.energy_j(self.counter_origin_s, t_s)
        if self.wrap_at_j is not None:
            value = math.fmod(value, self.wrap_at_j)
        return value


@dataclass(frozen=True)
class RaplDomains:
    """The RAPL domains Scaphandre finds on a host, and so what its host counter is (hubblo-org/scaphandre,
    src/sensors/powercap_rapl.rs ``read_record`` and src/exporters/mod.rs).

    With ``psys``, the host counter is the PSYS (platform) domain alone, and the host series carry
    ``value_source="powercap_rapl_psys"``; each socket's package (``scaph_socket_*{socket_id}``) and DRAM domain
    (``scaph_domain_*{domain_name="dram", domain_id, socket_id}``) are still served, as parts of what PSYS measures.
    Without it, the host counter is the sum over sockets of package + DRAM, so the shares must add up to 1.

    Attributes:
        psys: the machine has a PSYS domain.
        sockets: CPU sockets, each with a package and a DRAM domain (the host power is split evenly among them).
        package_share: all packages' share of the host device's power.
        dram_share: all DRAM domains' share of the host device's power.
    """

    psys: bool = False
    sockets: int = 1
    package_share: float = 0.8
    dram_share: float = 0.2

    def __post_init__(self) -> None:
        if self.sockets < 1 or self.package_share < 0 or self.dram_share < 0:
            raise ValueError("a host has at least one socket and non-negative domain shares")
        total = self.package_share + self.dram_share
        if not self.psys and not math.isclose(total, 1.0):
            raise ValueError(f"without PSYS, package and DRAM shares add up to the host counter (got {total:g})")
        if self.psys and total > 1.0:
            raise ValueError(f"PSYS covers the packages and DRAM: their shares cannot exceed it (got {total:g})")


def scrape_times(
    start_s: float, end_s: float, interval_s: float, *, jitter_s: float = 0.0, seed: int = 0
) -> list[float]:
    """Scrape timestamps from ``start_s`` to ``end_s`` every ``interval_s`` with ±``jitter_s`` uniform jitter,
    rounded to the millisecond like Prometheus stores them."""
    rng = random.Random(seed)
    count = math.floor((end_s - start_s) / interval_s) + 1
    times = [round(start_s + i * interval_s + rng.uniform(-jitter_s, jitter_s), 3) for i in range(count)]
    return sorted(set(times))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


_HELP: dict[str, tuple[str, str]] = {
    "scaph_host_power_microwatts": ("gauge", "Power measurement on the whole host, in microwatts"),
    "scaph_host_energy_microjoules": (
        "counter",
        "Energy measurement for the whole host, as extracted from the sensor, in microjoules.",
    ),
    "scaph_socket_power_microwatts": ("gauge", "Power measurement relative to a CPU socket, in microwatts"),
    "scaph_socket_energy_microjoules": ("counter", "Socket related energy measurement in microjoules."),
    "scaph_domain_power_microwatts": ("gauge", "Power measurement relative to a RAPL Domain, in microwatts"),
    "scaph_domain_energy_microjoules": ("counter", "Domain related energy measurement in microjoules."),
    "nvidia_smi_gpu_info": ("gauge", "A metric with a constant '1' value labeled by gpu uuid, name, driver_model_current, driver_model_pending, vbios_version, driver_version."),
    "nvidia_smi_index": ("gauge", "index"),
    "nvidia_smi_power_draw_watts": ("gauge", "power.draw [W]"),
    "nvidia_smi_energy_joules_total": ("counter", "Total energy consumption of the GPU in joules since the driver was last reloaded."),
    "DCGM_FI_DEV_POWER_USAGE": ("gauge", "Power draw (in W)."),
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": ("counter", "Total energy consumption since boot (in mJ)."),
    # node_exporter, collector/time.go and collector/timex.go
    "node_time_seconds": ("gauge", "System time in seconds since epoch (1970)."),
    "node_timex_sync_status": ("gauge", "Is clock synchronized to a reliable server (1 = yes, 0 = no)."),
    "node_timex_offset_seconds": ("gauge", "Time offset in between local system and reference clock."),
    "node_timex_maxerror_seconds": ("gauge", "Maximum error in seconds."),
    # recorded by Prometheus itself for every target
    "scrape_duration_seconds": ("gauge", "Duration of the scrape"),
}


Families = dict[str, list[tuple[dict[str, str], str]]]


class ScrapedExporter:
    """What every simulated exporter shares: its scrapes over a span (for backfills) and its live ``/metrics``.

    Subclasses provide ``families(t_s, previous_refresh_s)``, ``outages``, ``target_labels`` and the
    ``_last_refresh_s``/``_lock`` fields.
    """

    outages: tuple[Outage, ...]
    target_labels: dict[str, str]
    _last_refresh_s: float | None
    _lock: threading.Lock

    def families(self, t_s: float, previous_refresh_s: float) -> Families:
        raise NotImplementedError

    def is_down(self, t_s: float) -> bool:
        return any(o.start_s <= t_s < o.end_s for o in self.outages)

    def scrapes(
        self, start_s: float, end_s: float, interval_s: float, *, jitter_s: float = 0.0, seed: int = 0
    ) -> list[tuple[float, Families]]:
        """Every successful scrape over [start_s, end_s]: (timestamp, families)."""
        out = []
        previous = start_s - interval_s
        for t in scrape_times(start_s, end_s, interval_s, jitter_s=jitter_s, seed=seed):
            if self.is_down(t):
                continue
            out.append((t, self.families(t, previous)))
            previous = t
        return out

    def exposition(self, t_s: float | None = None) -> str:
        """The exporter's ``/metrics`` text (Prometheus text format 0.0.4) at a scrape now (or at ``t_s``)."""
        now = time.time() if t_s is None else t_s
        with self._lock:
            previous = self._last_refresh_s if self._last_refresh_s is not None else now - 1.0
            if now <= previous:
                now = previous + 1e-3
            families = self.families(now, previous)
            self._last_refresh_s = now
        lines: list[str] = []
        for name, rows in families.items():
            kind, help_text = _HELP[name]
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")
            lines.extend(f"{name}{_labels(labels)} {value}" for labels, value in rows)
        return "\n".join(lines) + "\n"


@dataclass
class ExporterSim(ScrapedExporter):
    """One exporter instance serving its devices' traces.

    Attributes:
        profile: which exporter (SCAPHANDRE, NVIDIA_SMI or DCGM from greenhack.telemetry.profiles).
        devices: the host (Scaphandre: exactly one) or the GPUs.
        target_labels: labels Prometheus adds at scrape (``instance``, ``job``), written only into OpenMetrics
            backfills (a live exporter never serves them).
        with_counter: serve the energy counter (nvidia_gpu_exporter does only with its NVML backend).
        outages: stretches with no successful scrape.
        hostname: the ``Hostname`` label of dcgm-exporter.
        rapl: Scaphandre only: the host's RAPL domains (None: the host series alone, as on a host without PSYS
            whose per-socket series are not looked at).
        collect_interval_s: the exporter reads the hardware only every this many seconds (dcgm-exporter's
            ``-c``, 30 s by default) and serves the last reading in between; None reads at every scrape.
    """

    profile: ExporterProfile
    devices: tuple[SimDevice, ...]
    target_labels: dict[str, str] = field(default_factory=dict)
    with_counter: bool = True
    outages: tuple[Outage, ...] = ()
    hostname: str = "gpu-1"
    collect_interval_s: float | None = None
    rapl: RaplDomains | None = None
    _last_refresh_s: float | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.profile is SCAPHANDRE and len(self.devices) != 1:
            raise ValueError("a Scaphandre exporter measures exactly one host")
        if self.profile is not SCAPHANDRE and any(d.uuid is None for d in self.devices):
            raise ValueError("every GPU needs a uuid")
        if self.profile is not SCAPHANDRE and self.rapl is not None:
            raise ValueError("RAPL domains are Scaphandre's")

    # -- values at one scrape ----------------------------------------------------------------------------------

    def families(self, t_s: float, previous_refresh_s: float) -> dict[str, list[tuple[dict[str, str], str]]]:
        """Each metric family's (labels, formatted value) at a scrape at ``t_s``.

        ``previous_refresh_s`` is the previous successful scrape (Scaphandre's gauge averages since then).
        """
        out: dict[str, list[tuple[dict[str, str], str]]] = {}
        if self.collect_interval_s is not None:
            t_s = math.floor(t_s / self.collect_interval_s) * self.collect_interval_s
            previous_refresh_s = min(previous_refresh_s, t_s - self.collect_interval_s)
        if self.profile is SCAPHANDRE:
            return self._scaphandre(t_s, previous_refresh_s)
        for index, dev in enumerate(self.devices):
            uuid = str(dev.uuid)
            power_w = dev.trace.mean_power_w(t_s - _NVML_AVERAGE_S, t_s)
            if self.profile is NVIDIA_SMI:
                bare = uuid[4:].lower() if uuid.upper().startswith("GPU-") else uuid.lower()
                info = {
                    "uuid": bare,
                    "name": dev.model_name,
                    "driver_model_current": "N/A",
                    "driver_model_pending": "N/A",
                    "vbios_version": "92.00.36.00.01",
                    "driver_version": "535.104.05",
                }
                out.setdefault("nvidia_smi_gpu_info", []).append((info, "1"))
                out.setdefault("nvidia_smi_index", []).append(({"uuid": bare}, str(index)))
                out.setdefault("nvidia_smi_power_draw_watts", []).append(({"uuid": bare}, f"{power_w:.2f}"))
                if self.with_counter:
                    out.setdefault("nvidia_smi_energy_joules_total", []).append(
                        ({"uuid": bare}, f"{dev.counter_j(t_s):.3f}")
                    )
            else:
                labels = {
                    "gpu": str(index),
                    "UUID": uuid,
                    "pci_bus_id": f"00000000:{index + 0x17:02X}:00.0",
                    "device": f"nvidia{index}",
                    "modelName": dev.model_name,
                    "Hostname": self.hostname,
                    "DCGM_FI_DRIVER_VERSION": "535.104.05",
                }
                out.setdefault("DCGM_FI_DEV_POWER_USAGE", []).append((labels, f"{power_w:.3f}"))
                if self.with_counter:
                    out.setdefault("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", []).append(
                        (labels, str(math.floor(dev.counter_j(t_s) * 1e3)))
                    )
        return out

    def _scaphandre(self, t_s: float, previous_refresh_s: float) -> dict[str, list[tuple[dict[str, str], str]]]:
        host = self.devices[0]
        power_w = host.trace.mean_power_w(previous_refresh_s, t_s)
        rapl = self.rapl
        # src/exporters/mod.rs gen_host_metrics: the label says which sensor the host counter reads
        labels = {"value_source": "powercap_rapl_psys"} if rapl is not None and rapl.psys else {}
        out = {"scaph_host_power_microwatts": [(labels, str(round(power_w * 1e6)))]}
        if self.with_counter:
            out["scaph_host_energy_microjoules"] = [(labels, str(math.floor(host.counter_j(t_s) * 1e6)))]
        if rapl is None:
            return out
        energy_j = host.trace.energy_j(host.counter_origin_s, t_s)
        for socket in range(rapl.sockets):
            package, dram = rapl.package_share / rapl.sockets, rapl.dram_share / rapl.sockets
            where = {"socket_id": str(socket)}
            domain = {"domain_name": "dram", "domain_id": "0", **where}
            for name, part, series in (("socket", package, where), ("domain", dram, domain)):
                power_uw, energy_uj = round(part * power_w * 1e6), math.floor(part * energy_j * 1e6)
                out.setdefault(f"scaph_{name}_power_microwatts", []).append((series, str(power_uw)))
                out.setdefault(f"scaph_{name}_energy_microjoules", []).append((series, str(energy_uj)))
        return out


@dataclass
class NodeExporterSim(ScrapedExporter):
    """node_exporter's clock series of one server (prometheus/node_exporter ``collector/time.go``, ``timex.go``).

    ``node_time_seconds`` is the server's clock when the collector runs, i.e. the scrape's own time (what Prometheus
    stamps the sample with) plus the time the scrape took to reach the collector, plus the server's clock offset.

    Attributes:
        clock_offset_s: the server's clock minus the true time (Prometheus's clock), seconds.
        scrape_latency_s: from the scrape's start to node_exporter reading its clock, seconds.
        synchronised: ``node_timex_sync_status`` (the kernel's clock is not in TIME_ERROR).
        ntp_offset_s: ``node_timex_offset_seconds`` (the kernel PLL's remaining offset to its reference).
        maxerror_s: ``node_timex_maxerror_seconds``.
        target_labels: labels Prometheus adds at scrape (``instance``), for OpenMetrics backfills.
        outages: stretches with no successful scrape.
    """

    clock_offset_s: float = 0.0
    scrape_latency_s: float = 0.002
    synchronised: bool = True
    ntp_offset_s: float = 0.0
    maxerror_s: float = 0.016
    target_labels: dict[str, str] = field(default_factory=dict)
    outages: tuple[Outage, ...] = ()
    _last_refresh_s: float | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def families(self, t_s: float, previous_refresh_s: float) -> Families:
        server_time_s = t_s + self.scrape_latency_s + self.clock_offset_s
        return {
            "node_time_seconds": [({}, repr(server_time_s))],
            "node_timex_sync_status": [({}, "1" if self.synchronised else "0")],
            "node_timex_offset_seconds": [({}, repr(self.ntp_offset_s))],
            "node_timex_maxerror_seconds": [({}, repr(self.maxerror_s))],
        }

    def scrapes(
        self, start_s: float, end_s: float, interval_s: float, *, jitter_s: float = 0.0, seed: int = 0
    ) -> list[tuple[float, Families]]:
        """Every successful scrape, with the ``scrape_duration_seconds`` Prometheus itself records for the target
        (twice the latency: the collector read its clock within the scrape). Backfills only: a live exporter never
        serves that series."""
        duration = [({}, repr(2 * self.scrape_latency_s))]
        return [
            (t, {**families, "scrape_duration_seconds": duration})
            for t, families in super().scrapes(start_s, end_s, interval_s, jitter_s=jitter_s, seed=seed)
        ]


# ---------------------------------------------------------------------------------------------------------------
# A job in phases: the runner's preparation, the team's script, the upload
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    """One phase of a job: its name, length and the true power of the host (CPU+DRAM) and of the GPU."""

    name: str
    duration_s: float
    cpu_w: float
    gpu_w: float

    def __post_init__(self) -> None:
        if self.duration_s <= 0:
            raise ValueError(f"phase {self.name!r} must last a positive time")


@dataclass(frozen=True)
class PhasedJob:
    """A job as a sequence of phases from ``start_s``, with idle power around it; energies are exact.

    Attributes:
        start_s: when the first phase starts (GitLab's ``started_at``), Unix seconds.
        phases: the phases, in order.
        cpu: the host's power (Scaphandre's view).
        gpu: the GPU's power.
    """

    start_s: float
    phases: tuple[Phase, ...]
    cpu: PowerTrace
    gpu: PowerTrace

    @property
    def end_s(self) -> float:
        return self.start_s + sum(p.duration_s for p in self.phases)

    def bounds(self, name: str) -> tuple[float, float]:
        """[start, end] of the phase called ``name``, Unix seconds."""
        at = self.start_s
        for phase in self.phases:
            if phase.name == name:
                return at, at + phase.duration_s
            at += phase.duration_s
        raise KeyError(f"no phase {name!r} (phases: {', '.join(p.name for p in self.phases)})")

    def energy_j(self, start_s: float, end_s: float) -> float:
        """True energy of host and GPU over [start_s, end_s], joules."""
        return self.cpu.energy_j(start_s, end_s) + self.gpu.energy_j(start_s, end_s)

    def phase_energy_j(self, name: str) -> float:
        """True energy of host and GPU during the phase called ``name``, joules."""
        return self.energy_j(*self.bounds(name))


def phased_job(
    start_s: float,
    phases: Sequence[Phase],
    *,
    idle_cpu_w: float,
    idle_gpu_w: float,
    noise: float = 0.0,
    seed: int = 0,
) -> PhasedJob:
    """A job whose phases follow each other from ``start_s`` at their own power, idle before and after.

    Args:
        start_s: the first phase's start, Unix seconds.
        phases: e.g. ``Phase("preparation", 25, cpu_w=190, gpu_w=60)``, ``Phase("script", 30, 230, 300)``,
            ``Phase("upload", 4, 140, 60)``.
        idle_cpu_w: the host's power outside the job.
        idle_gpu_w: the GPU's power outside the job.
        noise: a relative amplitude (0.1: +-10 %) of uniform noise redrawn every 0.5 s inside each phase (the
            energy stays exact and reproducible from ``seed``).
        seed: seeds the noise.
    """
    cpu: list[Segment] = []
    gpu: list[Segment] = []
    at = start_s
    for n, phase in enumerate(phases):
        end = at + phase.duration_s
        if noise > 0:
            cpu.append(Noise(at, end, phase.cpu_w, noise * phase.cpu_w, seed * 1009 + 2 * n))
            gpu.append(Noise(at, end, phase.gpu_w, noise * phase.gpu_w, seed * 1009 + 2 * n + 1))
        else:
            cpu.append(Constant(at, end, phase.cpu_w))
            gpu.append(Constant(at, end, phase.gpu_w))
        at = end
    return PhasedJob(start_s, tuple(phases), PowerTrace(idle_cpu_w, tuple(cpu)), PowerTrace(idle_gpu_w, tuple(gpu)))


@dataclass(frozen=True)
class ScrapeSpan:
    """One exporter scraped every ``interval_s`` over [start_s, end_s] (for :func:`openmetrics_spans`)."""

    sim: ScrapedExporter
    start_s: float
    end_s: float
    interval_s: float
    jitter_s: float = 0.05
    seed: int = 0


def openmetrics(
    sims: Iterable[ScrapedExporter],
    start_s: float,
    end_s: float,
    interval_s: float,
    *,
    jitter_s: float = 0.05,
    seed: int = 0,
) -> str:
    """OpenMetrics text of every scrape of every exporter over one span (see :func:`openmetrics_spans`)."""
    return openmetrics_spans(
        ScrapeSpan(sim, start_s, end_s, interval_s, jitter_s, seed * 7919 + n) for n, sim in enumerate(sims)
    )


def openmetrics_spans(spans: Iterable[ScrapeSpan]) -> str:
    """OpenMetrics text of every scrape, ready for ``promtool tsdb create-blocks-from openmetrics``: families
    grouped, each exporter's target labels added, timestamps in seconds (milliseconds kept), ``# EOF`` last.

    Counters are declared ``unknown`` (their names do not end in ``_total`` as OpenMetrics wants for counters;
    the TSDB keeps no type anyway).
    """
    rows: dict[str, list[str]] = {}
    for span in spans:
        sim = span.sim
        for t, families in sim.scrapes(
            span.start_s, span.end_s, span.interval_s, jitter_s=span.jitter_s, seed=span.seed
        ):
            for name, samples in families.items():
                bucket = rows.setdefault(name, [])
                for labels, value in samples:
                    bucket.append(f"{name}{_labels({**labels, **sim.target_labels})} {value} {t:.3f}")
    out: list[str] = []
    for name, lines in rows.items():
        kind = _HELP[name][0]
        out.append(f"# TYPE {name} {'gauge' if kind == 'gauge' else 'unknown'}")
        out.extend(_sorted_by_series(lines))
    out.append("# EOF")
    return "\n".join(out) + "\n"


def _sorted_by_series(lines: list[str]) -> list[str]:
    def key(line: str) -> tuple[str, float]:
        head, _, ts = line.rpartition(" ")
        series = head.rpartition(" ")[0]
        return series, float(ts)

    return sorted(lines, key=key)


class SimulatorServer:
    """A threaded HTTP server serving a simulated exporter's ``/metrics`` live (an outage answers 503).

    Args:
        sim: the exporter to serve.
        host: address to bind.
        port: port to bind (0: any free port).
    """

    def __init__(self, sim: ScrapedExporter, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sim = sim

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404)
                    return
                now = time.time()
                if sim.is_down(now):
                    self.send_error(503, "exporter down (simulated outage)")
                    return
                body = sim.exposition(now).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="exporter-sim", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        """``host:port`` as a Prometheus target (and its ``instance`` label)."""
        host, port = self._server.server_address[:2]
        host_text = host.decode() if isinstance(host, bytes) else str(host)
        return f"{host_text}:{port}"

    @property
    def url(self) -> str:
        """The ``/metrics`` URL."""
        return f"http://{self.address}/metrics"

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

