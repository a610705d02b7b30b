"""CPU energy estimated from the CPU time of a process tree, when RAPL cannot be read.

energy_j = cpu_time_s x power_per_thread_w, where cpu_time_s is user + system time summed over the command and
all its descendants (one hardware thread busy for one second counts one second) and power_per_thread_w comes from
the CPU's TDP (:mod:`greenhack.measure.cpu_specs`).

Why the standard library and not psutil: the final figure comes from ``os.wait4``, whose resource usage of the
child already includes every descendant it waited for (exact, kernel-accounted, no extra dependency). While the
command runs, :class:`ProcessTreeCpu` reads ``/proc/<pid>/stat`` of the tree for the live progress line; that is
all psutil would add. Descendants that outlive the command (daemons reparented to init) are not counted.
"""

from __future__ import annotations

import os
import resource
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CpuTimeEstimate", "ProcessTreeCpu", "cpu_time_from_rusage_s"]

_CLOCK_TICKS_PER_S = float(os.sysconf("SC_CLK_TCK")) if hasattr(os, "sysconf") else 100.0


def cpu_time_from_rusage_s(rusage: resource.struct_rusage) -> float:
    """User + system CPU time in seconds from a ``resource.struct_rusage`` (as ``os.wait4`` returns)."""
    return float(rusage.ru_utime) + float(rusage.ru_stime)


@dataclass(frozen=True)
class _Stat:
    ppid: int
    cpu_time_s: float  # utime + stime + cutime + cstime


def _read_stat(path: Path) -> _Stat | None:
    try:
        text = path.read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after its last ')'
    fields = text[text.rfind(")") + 2 :].split()
    if len(fields) < 15:
        return None
    ppid = int(fields[1])
    ticks = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime (fields 14-17 of stat)
    return _Stat(ppid, ticks / _CLOCK_TICKS_PER_S)


class ProcessTreeCpu:
    """CPU time so far of a process and its descendants, read from ``/proc``.

    A process's ``cutime``/``cstime`` hold the time of the children it has waited for, so a child's time moves
    from its own line to its parent's when it is reaped and the sum stays complete. The value returned never
    decreases (a descendant reparented away would otherwise make it drop).
    """

    def __init__(self, pid: int, *, proc: Path = Path("/proc")) -> None:
        self._pid = pid
        self._proc = proc
        self._max_s = 0.0

    @property
    def available(self) -> bool:
        """Whether ``/proc`` can be read here (Linux)."""
        return (self._proc / "self" / "stat").is_file() or (self._proc / str(os.getpid()) / "stat").is_file()

    @property
    def peak_s(self) -> float:
        """The largest CPU time seen so far, in seconds, without reading /proc again."""
        return self._max_s

    def cpu_time_s(self) -> float:
        """CPU time of the tree so far, in seconds (the largest value seen)."""
        stats: dict[int, _Stat] = {}
        try:
            entries = [e for e in os.scandir(self._proc) if e.name.isdigit()]
        except OSError:
            return self._max_s
        for entry in entries:
            stat = _read_stat(Path(entry.path) / "stat")
            if stat is not None:
                stats[int(entry.name)] = stat
        children: dict[int, list[int]] = defaultdict(list)
        for pid, stat in stats.items():
            children[stat.ppid].append(pid)
        total, stack = 0.0, [self._pid]
        seen: set[int] = set()
        while stack:
            pid = stack.pop()
            if pid in seen or pid not in stats:
                continue
            seen.add(pid)
            total += stats[pid].cpu_time_s
            stack.extend(children.get(pid, ()))
        self._max_s = max(self._max_s, total)
        return self._max_s


@dataclass(frozen=True)
class CpuTimeEstimate:
    """The estimated CPU energy of a command.

    Attributes:
        cpu_time_s: user + system time of the command and its descendants, in seconds.
        power_per_thread_w: the power charged per busy hardware thread, in watts.
        energy_j: cpu_time_s x power_per_thread_w, in joules.
    """

    cpu_time_s: float
    power_per_thread_w: float

    @property
    def energy_j(self) -> float:
        return self.cpu_time_s * self.power_per_thread_w
