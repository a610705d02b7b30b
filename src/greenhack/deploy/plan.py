"""Which exporters Prometheus must scrape for an event, how often, and under which job: a typed plan.

Built once from :class:`~greenhack.config.EventConfig`; both the scrape configuration and the alert rules are
rendered from it. Every problem (a selector that names no target, an interval Scaphandre cannot follow, one
address claimed twice) is collected and raised together as :class:`~greenhack.errors.ConfigError`, each with
its YAML key (``servers[0].scaphandre``); :func:`greenhack.deploy.locate.locate_problems` adds line numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from greenhack.config import EventConfig, ServerConfig
from greenhack.deploy.selectors import ExporterKind, SelectorProblem, TargetSpec, target_from_selector
from greenhack.errors import ConfigError, ConfigProblem

__all__ = [
    "JOB_NAMES",
    "MIN_SCRAPE_INTERVAL_S",
    "ExporterTarget",
    "ScrapeJob",
    "ScrapePlan",
    "plan_scrapes",
]

# Scrape job name per exporter kind (a suffix is added when servers scrape the same kind at different rates).
JOB_NAMES: dict[ExporterKind, str] = {
    "scaphandre": "scaphandre", "nvidia_smi": "nvidia_gpu", "dcgm": "dcgm", "node": "node"
}

# Scaphandre refreshes its values on each scrape and freezes them when scraped faster than every 2 s;
# nvidia_gpu_exporter runs nvidia-smi per scrape (hundreds of ms), so 1 s is its floor.
MIN_SCRAPE_INTERVAL_S: dict[ExporterKind, float] = {"scaphandre": 2.0, "nvidia_smi": 1.0, "dcgm": 1.0, "node": 1.0}


@dataclass(frozen=True)
class ExporterTarget:
    """One exporter of one server, as the event YAML names it and as Prometheus will scrape it.

    Attributes:
        server: the server's name in the event.
        kind: scaphandre, nvidia_smi or dcgm.
        key: the YAML key of its selector, e.g. ``servers[0].gpu``.
        selector: the normalised PromQL label selector from the YAML.
        spec: the derived scrape target.
        job: the scrape job it is in.
        interval_s: the scrape interval in seconds.
    """

    server: str
    kind: ExporterKind
    key: str
    selector: str
    spec: TargetSpec
    job: str
    interval_s: float


@dataclass(frozen=True)
class ScrapeJob:
    """One Prometheus scrape job: exporters of one kind scraped at one interval."""

    name: str
    kind: ExporterKind
    interval_s: float
    targets: tuple[TargetSpec, ...]


@dataclass(frozen=True)
class ScrapePlan:
    """Every exporter of the event, grouped into scrape jobs."""

    event_name: str
    exporters: tuple[ExporterTarget, ...]
    jobs: tuple[ScrapeJob, ...]


def _selectors(server: ServerConfig, index: int) -> list[tuple[ExporterKind, str, str]]:
    out: list[tuple[ExporterKind, str, str]] = [("scaphandre", f"servers[{index}].scaphandre", server.scaphandre)]
    if server.gpu is not None:
        out.append((server.gpu_exporter, f"servers[{index}].gpu", server.gpu))
    if server.node_exporter is not None:
        out.append(("node", f"servers[{index}].node_exporter", server.node_exporter))
    return out


def _interval_key(config: EventConfig, server: ServerConfig, index: int) -> str:
    return f"servers[{index}].scrape_interval" if server.scrape_interval is not None else "telemetry.scrape_interval"


def _format_seconds(seconds: float) -> str:
    return f"{seconds:g}s" if seconds >= 1 else f"{seconds * 1000:g}ms"


def plan_scrapes(config: EventConfig) -> ScrapePlan:
    """Plan the scrape jobs of an event, or raise ConfigError listing every problem with its YAML key."""
    filename = str(config.source) if config.source is not None else "<event>"
    problems: list[ConfigProblem] = []

    def problem(key: str, message: str) -> None:
        problems.append(ConfigProblem(filename, None, key, message))

    # Intervals decide job names, so gather them first.
    wanted: list[tuple[int, ServerConfig, ExporterKind, str, str, float]] = []
    intervals: dict[ExporterKind, set[float]] = {}
    for index, server in enumerate(config.servers):
        interval_s = config.scrape_interval_for(server).total_seconds()
        for kind, key, selector in _selectors(server, index):
            floor = MIN_SCRAPE_INTERVAL_S[kind]
            if interval_s < floor:
                problem(
                    _interval_key(config, server, index),
                    f"{_format_seconds(interval_s)} is too fast for {kind} on server {server.name!r}: "
                    f"scrape it every {floor:g}s or slower"
                    + (" (Scaphandre freezes its values when scraped faster than every 2 s)" if kind == "scaphandre"
                       else ""),
                )
            wanted.append((index, server, kind, key, selector, interval_s))
            intervals.setdefault(kind, set()).add(interval_s)

    def job_name(kind: ExporterKind, interval_s: float) -> str:
        base = JOB_NAMES[kind]
        if len(intervals[kind]) == 1:
            return base
        return f"{base}_{_format_seconds(interval_s).replace('.', '_')}"

    exporters: list[ExporterTarget] = []
    for _index, server, kind, key, selector, interval_s in wanted:
        job = job_name(kind, interval_s)
        try:
            spec = target_from_selector(selector, kind=kind, job_name=job)
        except SelectorProblem as exc:
            problem(key, str(exc))
            continue
        exporters.append(ExporterTarget(server.name, kind, key, selector, spec, job, interval_s))

    # One address is scraped once; two exporters may share it only if they agree on how.
    by_address: dict[str, ExporterTarget] = {}
    for exporter in exporters:
        first = by_address.setdefault(exporter.spec.address, exporter)
        if first is exporter:
            continue
        if first.selector == exporter.selector and first.kind == exporter.kind:
            problem(
                exporter.key,
                f"{exporter.selector} is also {first.key} (server {first.server!r}): both servers would be "
                "charged the same energy; give each server its own exporter or a filter such as "
                'gpu="0" / uuid="..." that splits the series',
            )
        elif first.kind != exporter.kind:
            problem(
                exporter.key,
                f"address {exporter.spec.address} is also {first.key}, a {first.kind} exporter; "
                f"one address serves one exporter",
            )
        elif first.spec.labels != exporter.spec.labels or first.interval_s != exporter.interval_s:
            problem(
                exporter.key,
                f"address {exporter.spec.address} is also {first.key} with different target labels or scrape "
                "interval; Prometheus scrapes an address once, so they must agree",
            )
    if problems:
        raise ConfigError(problems)

    jobs: dict[str, list[TargetSpec]] = {}
    kinds: dict[str, tuple[ExporterKind, float]] = {}
    for exporter in exporters:
        targets = jobs.setdefault(exporter.job, [])
        kinds[exporter.job] = (exporter.kind, exporter.interval_s)
        bare = TargetSpec(exporter.spec.address, exporter.spec.labels)
        if bare not in targets:
            targets.append(bare)
    return ScrapePlan(
        event_name=config.event.name,
        exporters=tuple(exporters),
        jobs=tuple(
            ScrapeJob(name, kinds[name][0], kinds[name][1], tuple(targets)) for name, targets in jobs.items()
        ),
    )
