"""CPU and DRAM energy from Linux RAPL counters (``/sys/class/powercap/intel-rapl:*``).

Each RAPL zone exposes ``energy_uj`` (a counter in microjoules that wraps to zero after ``max_energy_range_uj``)
and ``name``. Zones nest: ``intel-rapl:0`` is ``package-0`` and its subzones ``intel-rapl:0:0`` (``core``),
``intel-rapl:0:1`` (``uncore``) are *part of* the package, so adding them would count the same joules twice.
``dram`` is the exception: DRAM sits outside the package, so a ``dram`` subzone is added. ``psys`` (the whole
SoC on client machines) contains the packages, so it is used only on machines that expose no package zone.
``intel-rapl-mmio:*`` zones are the package again through another interface and are skipped.
AMD CPUs (Linux 5.8+) expose the same ``intel-rapl`` zones.

RAPL measures the whole machine, not one process: other work running at the same time is included.
Since Linux 5.10 (CVE-2020-8694, "PLATYPUS") ``energy_uj`` is readable by root only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEFAULT_POWERCAP_ROOT",
    "RaplDomain",
    "RaplMeter",
    "RaplProbe",
    "counter_delta_uj",
    "discover_rapl_domains",
    "probe_rapl",
]

DEFAULT_POWERCAP_ROOT = Path("/sys/class/powercap")

_ZONE = re.compile(r"^intel-rapl:(\d+)(?::(\d+))?$")


@dataclass(frozen=True)
class RaplDomain:
    """One RAPL zone whose energy is counted.

    Attributes:
        zone: the powercap zone directory name, e.g. ``intel-rapl:0`` or ``intel-rapl:0:2``.
        name: the zone's own name, made unique per socket: ``package-0``, ``dram-0``, ``psys``.
        path: the zone directory.
        max_energy_range_uj: the value at which ``energy_uj`` wraps back to zero, in microjoules.
    """

    zone: str
    name: str
    path: Path
    max_energy_range_uj: int

    def read_energy_uj(self) -> int:
        """The counter's current value in microjoules (raises OSError when it cannot be read)."""
        return int((self.path / "energy_uj").read_text().strip())


@dataclass(frozen=True)
class RaplProbe:
    """Whether RAPL can be read here: ``domains`` when it can, otherwise ``reason`` says why not."""

    domains: tuple[RaplDomain, ...]
    reason: str

    @property
    def readable(self) -> bool:
        return bool(self.domains)


def counter_delta_uj(previous_uj: int, current_uj: int, max_energy_range_uj: int) -> int:
    """Energy between two readings of a wrapping counter, in microjoules.

    A reading lower than the previous one means the counter wrapped once past ``max_energy_range_uj``
    (the sampler reads far more often than the minutes a wrap takes at full power).
    """
    if current_uj >= previous_uj:
        return current_uj - previous_uj
    return max_energy_range_uj - previous_uj + current_uj


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def discover_rapl_domains(root: Path = DEFAULT_POWERCAP_ROOT) -> list[RaplDomain]:
    """The RAPL zones to add up, without nested zones counted twice (see the module docstring).

    Args:
        root: the powercap class directory (``/sys/class/powercap``; tests point it at a fake tree).

    Returns:
        Package and DRAM zones sorted by zone name, or the ``psys`` zone when there is no package zone.
        Zones whose ``max_energy_range_uj`` cannot be read are left out.
    """
    if not root.is_dir():
        return []
    packages: list[RaplDomain] = []
    drams: list[RaplDomain] = []
    psys: list[RaplDomain] = []
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        match = _ZONE.match(entry.name)
        if match is None:
            continue  # intel-rapl (the control type), intel-rapl-mmio:* (the package again), other drivers
        name = _read_text(entry / "name")
        max_range = _read_text(entry / "max_energy_range_uj")
        if name is None or max_range is None or not max_range.isdigit():
            continue
        socket, sub = match.group(1), match.group(2)
        if sub is None:
            if name.startswith("package"):
                packages.append(RaplDomain(entry.name, name, entry, int(max_range)))
            elif name == "psys":
                psys.append(RaplDomain(entry.name, "psys", entry, int(max_range)))
            elif name == "dram":  # some platforms expose DRAM as a top-level zone
                drams.append(RaplDomain(entry.name, f"dram-{socket}", entry, int(max_range)))
        elif name == "dram":
            drams.append(RaplDomain(entry.name, f"dram-{socket}", entry, int(max_range)))
        # core, uncore and any other subzone are inside their package: skipped
    if packages:
        return packages + drams
    return psys


def probe_rapl(root: Path = DEFAULT_POWERCAP_ROOT) -> RaplProbe:
    """Find the RAPL zones and check that every counter can actually be read."""
    domains = discover_rapl_domains(root)
    if not domains:
        if not root.is_dir():
            why = f"{root} does not exist"
        else:
            why = f"no intel-rapl zone under {root}"
        return RaplProbe(
            (), f"{why} (no RAPL driver: a virtual machine, a container without /sys, or a CPU without RAPL)"
        )
    for domain in domains:
        try:
            domain.read_energy_uj()
        except PermissionError:
            return RaplProbe(
                (),
                f"{domain.path / 'energy_uj'} is not readable by this user (root only since Linux 5.10); "
                "run as root or grant read access, e.g. sudo chmod o+r "
                f"{root}/intel-rapl:*/energy_uj {root}/intel-rapl:*/*/energy_uj",
            )
        except (OSError, ValueError) as exc:
            return RaplProbe((), f"cannot read {domain.path / 'energy_uj'}: {exc}")
    names = ", ".join(d.name for d in domains)
    return RaplProbe(tuple(domains), f"RAPL counters readable ({names}); machine-wide energy")


class RaplMeter:
    """Accumulates the energy of each domain between :meth:`begin` and the last :meth:`poll`.

    Poll at least every few minutes so that no counter wraps twice between two readings.
    """

    def __init__(self, domains: tuple[RaplDomain, ...] | list[RaplDomain]) -> None:
        if not domains:
            raise ValueError("RaplMeter needs at least one domain")
        self._domains = tuple(domains)
        self._last_uj: dict[str, int] = {}
        self._total_uj: dict[str, int] = {}

    @property
    def domains(self) -> tuple[RaplDomain, ...]:
        return self._domains

    def begin(self) -> None:
        """Take the first reading of every counter."""
        self._last_uj = {d.name: d.read_energy_uj() for d in self._domains}
        self._total_uj = {d.name: 0 for d in self._domains}

    def poll(self) -> float:
        """Read every counter and return the energy since :meth:`begin`, in joules (all domains)."""
        if not self._last_uj:
            raise RuntimeError("RaplMeter.poll() before begin()")
        for domain in self._domains:
            current = domain.read_energy_uj()
            previous = self._last_uj[domain.name]
            self._total_uj[domain.name] += counter_delta_uj(previous, current, domain.max_energy_range_uj)
            self._last_uj[domain.name] = current
        return self.energy_j

    @property
    def energy_j(self) -> float:
        """Energy of all domains accumulated so far, in joules."""
        return sum(self._total_uj.values()) / 1e6

    def energy_j_by_domain(self) -> dict[str, float]:
        """Energy accumulated so far per domain name, in joules."""
        return {name: uj / 1e6 for name, uj in self._total_uj.items()}
