"""Per-joule and per-second impact factors of a server at a location, derived from BoaviztAPI and cached.

Impacts are linear: use = grid energy x the grid's factor; embodied = the server's whole-life manufacturing impact
x duration / lifetime. So one derivation per (hardware, location) serves every job on that server.

How the factors are read exactly (BoaviztAPI 2.5.0, ``models/impact.py``, ``utils/roundit.py``):

* Impact *values* are rounded to a step set by their uncertainty: 10 % of ``max - min``, floored to a power of
  ten, then capped to 4 significant figures. A server's embodied impacts have a wide range (e.g. the CPU die
  size 41-3640 mm2 when the die is not in BoaviztAPI's table), so the embodied value comes back with 1-2
  significant figures (1400 kgCO2e for a true 1366): up to several % off. Only ``min`` and ``max`` are always
  rounded to 4 significant figures.
* Verbose *attributes* are not rounded. The server's electricity factors (``gwp_factor``, ...) are read from
  there, exactly, and checked against the ``use`` impact of the same answer.
* Embodied values: a second request pins every uncertain component attribute to the value BoaviztAPI itself
  completed (CPU die size, RAM density, the archetype's disk and power supplies, the case type). The nominal
  embodied impact is unchanged, but min = max, so BoaviztAPI rounds it to 4 significant figures only (<= 0.05 %).
  The pinned value must fall inside the first answer's [min, max]; the bounds of the factors come from the first.

The GPU goes in the server configuration's ``gpu`` component (2.5.0 ``dto/device/device.py``:
``ConfigurationServer.gpu``; ``models/device/server.py`` lists it in ``components``), so its manufacturing is in
the server's embodied impacts; its electricity is in the measured energy.

Names BoaviztAPI does not know fall back silently to generic values there, so they are checked first against
BoaviztAPI's own matcher (``/v1/utils/name_to_cpu``, ``/v1/utils/name_to_gpu``) and locations against
``/v1/utils/country_code``. The matcher is fuzzy ("Intel Xeon Gold 9999" becomes "Intel Xeon Gold 5115"), so a
match is accepted only when every token of the YAML name that holds a digit (a model number) is in the match.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import os
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from greenhack.config import EventConfig, ServerConfig
from greenhack.errors import HardwareNameError, ImpactsError
from greenhack.impacts.client import BoaviztaClient, ServerAnswer
from greenhack.impacts.models import (
    BOAVIZTA_CRITERIA,
    CRITERION_UNITS,
    J_PER_KWH,
    Bound,
    CriterionFactors,
    HardwareQuery,
    ServerFactors,
)
from greenhack.impacts.names import resolve_name

__all__ = [
    "FACTOR_CACHE_FILE",
    "FactorCache",
    "derive_factors",
    "factor_key",
    "hardware_query",
    "pinned_request",
    "server_request",
    "server_yaml_key",
]

log = logging.getLogger(__name__)

FACTOR_CACHE_FILE = "boavizta-factors.json"
_CACHE_FORMAT = 1

# The power and duration of the derivation request. Any values work (the factors are read from verbose
# attributes and the answer is linear); a whole lifetime at 1 kW gives large, well-rounded numbers.
_PROBE_POWER_W = 1000.0

# BoaviztAPI rounds min/max to 4 significant figures: relative error <= 5e-4
_SIG_FIG_TOLERANCE = 1e-3


# --------------------------------------------------------------------------------------------------------------
# What is asked
# --------------------------------------------------------------------------------------------------------------


def hardware_query(server: ServerConfig) -> HardwareQuery:
    """The hardware of a server, as greenhack sends it to BoaviztAPI."""
    hw = server.hardware
    return HardwareQuery(
        cpu_name=hw.cpu.name,
        cpu_units=hw.cpu.units,
        ram_gb=max(1, round(hw.ram_gb)),
        gpu_name=hw.gpu.name if hw.gpu is not None else None,
        gpu_units=hw.gpu.units if hw.gpu is not None else 0,
        lifetime_hours=hw.lifetime_hours,
    )


def factor_key(query: HardwareQuery, location: str) -> str:
    """The cache key of a server's factors: a hash of its hardware, and the location.

    PUE and ``carbon_intensity_g_per_kwh`` are not in it: greenhack applies them itself, so changing them
    rescores without asking BoaviztAPI. The server's name is not in it either: identical servers share factors.
    """
    digest = hashlib.sha256(query.model_dump_json().encode()).hexdigest()[:16]
    return f"{digest}:{location}"


def server_yaml_key(config: EventConfig, server: ServerConfig) -> str:
    """``servers[i]``: where a server sits in the event YAML, to name keys in errors."""
    for index, candidate in enumerate(config.servers):
        if candidate.name == server.name:
            return f"servers[{index}]"
    return f"servers[name={server.name}]"


def server_request(query: HardwareQuery, location: str) -> dict[str, Any]:
    """The ``POST /v1/server/`` body for a server at a location, drawing 1 kW all its lifetime."""
    configuration: dict[str, Any] = {
        "cpu": {"units": query.cpu_units, "name": query.cpu_name},
        "ram": [{"units": 1, "capacity": query.ram_gb}],
    }
    if query.gpu_name is not None and query.gpu_units > 0:
        configuration["gpu"] = {"units": query.gpu_units, "name": query.gpu_name}
    return {
        "configuration": configuration,
        "usage": {
            "avg_power": _PROBE_POWER_W,
            "use_time_ratio": 1.0,
            "hours_life_time": query.lifetime_hours,
            "usage_location": location,
        },
    }


def _component(components: dict[str, dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    """The verbose attributes of ``PREFIX-1``, ``PREFIX-2``, ... in order."""
    found = []
    index = 1
    while f"{prefix}-{index}" in components:
        found.append(components[f"{prefix}-{index}"])
        index += 1
    return found


def _pick(attributes: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: attributes[name] for name in names if attributes.get(name) is not None}


def pinned_request(body: dict[str, Any], components: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``body`` with every uncertain component attribute set to the value BoaviztAPI completed it with.

    Args:
        body: the request first sent.
        components: ``ServerAnswer.components`` of its verbose answer (``CPU-1``: {``die_size``: 523.0, ...}).
    """
    pinned = copy.deepcopy(body)
    configuration = pinned.setdefault("configuration", {})
    for cpu in _component(components, "CPU")[:1]:
        configuration["cpu"] = {**configuration.get("cpu", {}), **_pick(cpu, "die_size")}
    rams = _component(components, "RAM")
    if rams:
        sent = configuration.get("ram", [])
        configuration["ram"] = [
            {**(sent[i] if i < len(sent) else {}), **_pick(ram, "units", "capacity", "density")}
            for i, ram in enumerate(rams)
        ]
    disks = [
        {"type": "ssd", **_pick(ssd, "units", "capacity", "density")} for ssd in _component(components, "SSD")
    ]
    disks += [{"type": "hdd", **_pick(hdd, "units", "capacity")} for hdd in _component(components, "HDD")]
    if disks:
        configuration["disk"] = disks
    for psu in _component(components, "POWER_SUPPLY")[:1]:
        configuration["power_supply"] = _pick(psu, "units", "unit_weight")
    for case in _component(components, "CASE")[:1]:
        if isinstance(case.get("case_type"), str):
            pinned["model"] = {**pinned.get("model", {}), "type": case["case_type"]}
    return pinned


# --------------------------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------------------------

# one verdict on a name, online (here) and offline (check-config): greenhack.impacts.names
_resolve_name = resolve_name


def _check_names(
    client: BoaviztaClient, query: HardwareQuery, location: str, *, server_key: str, version: str
) -> tuple[str, str | None]:
    codes = client.country_codes()
    if location not in codes:
        upper = " (codes are upper case)" if location.upper() in codes else ""
        raise HardwareNameError(
            f"BoaviztAPI {version} has no electricity factors for location {location!r}{upper}; "
            "use an ISO 3166-1 alpha-3 code such as FRA, DEU, USA, or WOR (world), EEE (Europe)",
            key="impact.location",
        )
    cpu = _resolve_name(
        query.cpu_name,
        client.cpu_match,
        client.cpu_names,
        kind="CPU",
        key=f"{server_key}.hardware.cpu.name",
        version=version,
    )
    gpu: str | None = None
    if query.gpu_name is not None:
        gpu = _resolve_name(
            query.gpu_name,
            client.gpu_match,
            client.gpu_names,
            kind="GPU",
            key=f"{server_key}.hardware.gpu.name",
            version=version,
        )
    return cpu, gpu


# --------------------------------------------------------------------------------------------------------------
# Derivation
# --------------------------------------------------------------------------------------------------------------


def _close(a: float, b: float, rel: float) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-300)


def _use_factors(answer: ServerAnswer, query: HardwareQuery, *, url: str) -> dict[str, tuple[Bound, str]]:
    """Per-joule use factors from the verbose answer, checked against the answer's own use impacts."""
    energy_kwh = _PROBE_POWER_W / 1000.0 * query.lifetime_hours
    out: dict[str, tuple[Bound, str]] = {}
    for criterion in BOAVIZTA_CRITERIA:
        per_kwh = answer.usage_factors.get(criterion)
        if per_kwh is None:
            raise ImpactsError(f"BoaviztAPI at {url} gave no electricity factor for {criterion}")
        use = answer.impacts[criterion].use
        for side in ("min", "max"):
            expected = getattr(per_kwh, side) * energy_kwh
            if not _close(getattr(use, side), expected, _SIG_FIG_TOLERANCE):
                raise ImpactsError(
                    f"BoaviztAPI at {url}: the {criterion} use impact ({side} {getattr(use, side)}) does not equal "
                    f"its electricity factor x energy ({expected}); its model is not what greenhack assumes"
                )
        source = answer.usage_factor_sources.get(criterion, "")
        out[criterion] = (per_kwh.scaled(1.0 / J_PER_KWH), source)
    return out


def _embodied_factors(
    first: ServerAnswer, pinned: ServerAnswer, query: HardwareQuery, *, url: str
) -> dict[str, Bound]:
    """Per-second embodied factors: the pinned (precise) value with the first answer's bounds."""
    out: dict[str, Bound] = {}
    for criterion in BOAVIZTA_CRITERIA:
        wide = first.impacts[criterion].embedded
        exact = pinned.impacts[criterion].embedded
        if not _close(exact.min, exact.max, 1e-9):
            raise ImpactsError(
                f"BoaviztAPI at {url} still gives an uncertainty range for the {criterion} embodied impact of the "
                f"pinned server ({exact.min} to {exact.max}): a component attribute greenhack does not know of is "
                "uncertain, so the embodied value cannot be read to better than its rounding"
            )
        if not (wide.min * (1 - _SIG_FIG_TOLERANCE) <= exact.value <= wide.max * (1 + _SIG_FIG_TOLERANCE)):
            raise ImpactsError(
                f"BoaviztAPI at {url}: the pinned {criterion} embodied impact {exact.value} lies outside the range "
                f"[{wide.min}, {wide.max}] of the same server; pinning changed the model"
            )
        lifetime_s = query.lifetime_s
        out[criterion] = Bound(
            value=exact.value / lifetime_s,
            min=min(wide.min, exact.value) / lifetime_s,
            max=max(wide.max, exact.value) / lifetime_s,
        )
    return out


def derive_factors(
    client: BoaviztaClient, query: HardwareQuery, location: str, *, version: str, server_key: str
) -> ServerFactors:
    """Ask BoaviztAPI for a server's factors at a location: name checks, then two ``POST /v1/server/``.

    Args:
        client: the BoaviztAPI client.
        query: the server's hardware.
        location: the ``impact.location`` code.
        version: the BoaviztAPI version the factors will be recorded with.
        server_key: where the server sits in the YAML (``servers[0]``), to name keys in errors.

    Raises:
        HardwareNameError: a CPU/GPU name or the location is unknown to BoaviztAPI (names the YAML key).
        BoaviztaUnavailable: BoaviztAPI did not answer or answered an error.
        ImpactsError: BoaviztAPI answered something greenhack cannot turn into exact factors.
    """
    cpu_matched, gpu_matched = _check_names(client, query, location, server_key=server_key, version=version)
    body = server_request(query, location)
    first = client.server(body, duration_h=query.lifetime_hours, verbose=True)
    body_pinned = pinned_request(body, first.components)
    pinned = client.server(body_pinned, duration_h=query.lifetime_hours, verbose=False)
    use = _use_factors(first, query, url=client.base_url)
    embodied = _embodied_factors(first, pinned, query, url=client.base_url)
    per_criterion = {
        criterion: CriterionFactors(
            unit=CRITERION_UNITS[criterion],
            use_per_j=use[criterion][0],
            use_source=use[criterion][1],
            embodied_per_s=embodied[criterion],
        )
        for criterion in BOAVIZTA_CRITERIA
    }
    return ServerFactors(
        key=factor_key(query, location),
        boavizta_version=version,
        boavizta_url=client.base_url,
        fetched_at=datetime.now(UTC),
        location=location,
        hardware=query,
        cpu_matched_name=cpu_matched,
        gpu_matched_name=gpu_matched,
        gwp=per_criterion["gwp"],
        adpe=per_criterion["adpe"],
        pe=per_criterion["pe"],
        request=body_pinned,
    )


# --------------------------------------------------------------------------------------------------------------
# The persisted cache
# --------------------------------------------------------------------------------------------------------------


class FactorCache:
    """Factors by key, persisted as one JSON file (``None`` keeps them in memory only).

    Entries carry the BoaviztAPI version they came from; storing factors of a new version drops the entries of
    other versions. The file is rewritten atomically; a damaged file is set aside (``.damaged``) and rebuilt, since
    every entry can be derived again.
    """

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._entries: dict[str, ServerFactors] | None = None
        self._lock = threading.Lock()

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> FactorCache:
        """The cache file under ``Settings.data_dir``."""
        return cls(Path(data_dir) / FACTOR_CACHE_FILE)

    @property
    def path(self) -> Path | None:
        return self._path

    def _read_file(self) -> dict[str, ServerFactors]:
        if self._path is None or not self._path.exists():
            return {}
        try:
            raw = json.loads(self._path.read_text(encoding="utf-8"))
            if not isinstance(raw, dict) or raw.get("format") != _CACHE_FORMAT:
                raise ValueError(f"not a greenhack factor cache of format {_CACHE_FORMAT}")
            return {key: ServerFactors.model_validate(entry) for key, entry in raw["entries"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError, ValidationError) as exc:
            damaged = self._path.with_name(self._path.name + ".damaged")
            log.warning(
                "factor cache %s is unreadable (%s); moved to %s, factors will be derived again",
                self._path,
                exc,
                damaged,
            )
            try:
                os.replace(self._path, damaged)
            except OSError:
                pass
            return {}

    def _loaded(self) -> dict[str, ServerFactors]:
        if self._entries is None:
            self._entries = self._read_file()
        return self._entries

    def get(self, key: str) -> ServerFactors | None:
        """The factors stored under ``key`` (any version), or None."""
        with self._lock:
            return self._loaded().get(key)

    def entries(self) -> list[ServerFactors]:
        with self._lock:
            return list(self._loaded().values())

    def put(self, factors: ServerFactors) -> None:
        """Store factors (dropping entries of other BoaviztAPI versions) and persist the file."""
        with self._lock:
            entries = {**self._read_file(), **self._loaded()}  # keep what another process wrote meanwhile
            entries[factors.key] = factors
            entries = {k: v for k, v in entries.items() if v.boavizta_version == factors.boavizta_version}
            self._entries = entries
            self._write(entries)

    def _write(self, entries: dict[str, ServerFactors]) -> None:
        if self._path is None:
            return
        document = {
            "format": _CACHE_FORMAT,
            "entries": {key: entry.model_dump(mode="json") for key, entry in sorted(entries.items())},
        }
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=self._path.name, suffix=".tmp", dir=self._path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(document, handle, indent=1, sort_keys=True)
                handle.write("\n")
            os.replace(tmp, self._path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
