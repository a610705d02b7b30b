"""Impacts of a measured command with the event's methodology: the platform's :class:`ImpactCalculator`.

The measured energy (CPU + GPU, before PUE) and duration go through exactly the computation the platform applies
to a job: energy x PUE x the grid factor of ``impact.location`` (or ``carbon_intensity_g_per_kwh``) for use, the
event server's manufacturing share for the duration for embodied, totals over ``impact.include``.

When no BoaviztAPI answers (and no factor was cached before), the factors BoaviztAPI 2.5.0 gave for the demo's
server, shipped with greenhack (``boavizta-factors.json`` of the demo event), are used as the demo does, when they
cover the event's server and location; the note says so.
"""

from __future__ import annotations

import httpx

from greenhack.config import EventConfig, ServerConfig
from greenhack.errors import BoaviztaUnavailable, ImpactsError
from greenhack.impacts import (
    FactorCache,
    JobImpacts,
    ServerFactors,
    factor_key,
    hardware_query,
    impacts_from_factors,
    server_yaml_key,
)
from greenhack.measure.report import MeasureImpacts, MeasureReport
from greenhack.settings import Settings
from greenhack.shipped import FACTORS_SNAPSHOT, demo_event_dir
from greenhack.wiring import build_services

__all__ = ["impacts_for_report", "measure_impacts", "shipped_factors"]


def measure_impacts(job: JobImpacts, *, server: str) -> MeasureImpacts:
    """The report's view of the platform's impacts of one job."""
    headline = job.headline
    return MeasureImpacts(
        server=server,
        pue=job.pue,
        location=job.location,
        include=tuple(job.include),
        gwp_kgco2e=job.gwp.total,
        adpe_kgsbeq=job.adpe.total,
        pe_mj=job.pe.total,
        criterion=job.criterion,
        criterion_value=headline.total,
        criterion_unit=headline.unit,
    )


def impacts_for_report(
    report: MeasureReport,
    event: EventConfig,
    *,
    settings: Settings,
    server_name: str | None = None,
    http: httpx.Client | None = None,
) -> MeasureReport:
    """The report with the event's impacts added, or with a note saying why they could not be computed.

    Args:
        report: the measurement.
        event: the event whose impact section (PUE, location, include, criterion) and server hardware apply.
        settings: where the factor cache lives and an optional BoaviztAPI address override.
        server_name: the event server whose hardware is charged (default: the first server).
        http: an httpx client for BoaviztAPI (tests inject one).
    """
    server = event.server(server_name) if server_name is not None else event.servers[0]
    services = build_services(event, settings, boavizta_http=http)
    assumptions = (
        f"as on the platform: measured energy x PUE {event.impact.pue:g} at {event.impact.location}, "
        f"embodied share of server {server.name!r} ({server.hardware.cpu.units}x {server.hardware.cpu.name}"
        + (f", {server.hardware.gpu.units}x {server.hardware.gpu.name}" if server.hardware.gpu else "")
        + ") for the duration"
    )
    if event.impact.idle == "subtract":
        assumptions += "; impact.idle 'subtract' not applied (this machine's idle power is not known)"
    if report.duration_s <= 0:
        return report.with_impacts(None, "impacts not computed: the command took no measurable time")
    try:
        job = services.impacts.impacts(
            server,
            event.impact,
            energy_j=report.total_energy_j,
            duration_s=report.duration_s,
            server_key=server_yaml_key(event, server),
        )
    except BoaviztaUnavailable as exc:
        url = services.addresses.boavizta_url
        shipped = shipped_factors(server, event)
        if shipped is None:
            return report.with_impacts(
                None,
                f"impacts not computed: BoaviztAPI at {url}: {exc}; the BoaviztAPI factors shipped with greenhack "
                f"do not cover server {server.name!r} at {event.impact.location}",
            )
        job = impacts_from_factors(shipped, event.impact, report.total_energy_j, report.duration_s)
        fallback = (
            f"; BoaviztAPI at {url} did not answer, so from the factors BoaviztAPI {shipped.boavizta_version} gave "
            f"for this server at {event.impact.location}, shipped with greenhack (as the demo does)"
        )
        return report.with_impacts(measure_impacts(job, server=server.name), assumptions + fallback)
    except ImpactsError as exc:
        return report.with_impacts(
            None, f"impacts not computed: BoaviztAPI at {services.addresses.boavizta_url}: {exc}"
        )
    finally:
        services.close()
    return report.with_impacts(measure_impacts(job, server=server.name), assumptions)


def shipped_factors(server: ServerConfig, event: EventConfig) -> ServerFactors | None:
    """The factors shipped with greenhack (the demo's BoaviztAPI 2.5.0 snapshot) for this server's hardware at
    the event's location, or None when they do not cover them."""
    snapshot = demo_event_dir() / FACTORS_SNAPSHOT
    if not snapshot.is_file():
        return None
    return FactorCache(snapshot).get(factor_key(hardware_query(server), event.impact.location))
