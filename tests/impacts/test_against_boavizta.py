"""Impacts from cached factors against a real BoaviztAPI answering the same job directly."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import pytest
from impacts_helpers import CountingClient, direct_server, make_impact, make_server

from greenhack.impacts import FactorCache, ImpactCalculator, JobImpacts, hardware_query
from greenhack.impacts.factors import server_request

TOLERANCE = 0.005  # the brief: cached factors reproduce BoaviztAPI within 0.5 %
BOAVIZTA_NAMES = {"gwp": "gwp", "adpe": "adp", "pe": "pe"}


def job_body(job: JobImpacts, *, pinned: bool) -> dict[str, Any]:
    """The request a person would send BoaviztAPI for this job: the job's average grid power over its duration."""
    body = (
        copy.deepcopy(job.factors.request) if pinned else server_request(job.factors.hardware, job.location)
    )
    body["usage"]["avg_power"] = job.grid_energy_j / job.duration_s
    if job.carbon_intensity_g_per_kwh is not None:
        body["usage"]["elec_factors"] = {"gwp": job.carbon_intensity_g_per_kwh / 1000.0}
    return body


def rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b))


def boavizta_rounding_step(low: float, high: float, value: float) -> float:
    """The step BoaviztAPI 2.5.0 rounds an impact value to (models/impact.py, utils/roundit.py)."""
    approx = (high - low) / 10.0
    if approx <= 0:
        return abs(value) * 1e-3  # then only 4 significant figures
    return 10.0 ** min(math.floor(math.log10(approx)), math.floor(math.log10(abs(value))))


def assert_matches_direct(job: JobImpacts, boavizta_url: str) -> None:
    duration_h = job.duration_s / 3600.0
    plain = direct_server(boavizta_url, job_body(job, pinned=False), duration_h=duration_h)["impacts"]
    pinned = direct_server(boavizta_url, job_body(job, pinned=True), duration_h=duration_h)["impacts"]
    for criterion, name in BOAVIZTA_NAMES.items():
        ours = job.of(criterion)  # type: ignore[arg-type]
        use = plain[name]["use"]
        assert rel(ours.use, use["value"]) <= TOLERANCE, (criterion, ours.use, use)
        assert ours.use_factor is not None
        assert rel(ours.use_factor.min * job.grid_energy_j, use["min"]) <= TOLERANCE
        embodied = plain[name]["embedded"]
        assert ours.embodied is not None and ours.embodied_factor is not None
        # BoaviztAPI's bounds are precise (4 significant figures): ours must reproduce them
        assert rel(ours.embodied_factor.min * job.duration_s, embodied["min"]) <= TOLERANCE, (
            criterion,
            embodied,
        )
        assert rel(ours.embodied_factor.max * job.duration_s, embodied["max"]) <= TOLERANCE, (
            criterion,
            embodied,
        )
        # its value is rounded to a step set by the range: ours must round to it
        step = boavizta_rounding_step(embodied["min"], embodied["max"], ours.embodied)
        assert abs(ours.embodied - embodied["value"]) <= 0.5 * step * 1.001, (
            criterion,
            ours.embodied,
            embodied,
        )
        # the same job with the uncertain attributes pinned: BoaviztAPI answers to 4 significant figures
        assert pinned[name]["embedded"]["min"] == pinned[name]["embedded"]["max"]
        assert rel(ours.embodied, pinned[name]["embedded"]["value"]) <= TOLERANCE, (criterion, pinned[name])
        assert rel(ours.use, pinned[name]["use"]["value"]) <= TOLERANCE


@pytest.mark.parametrize("location", ["FRA", "DEU"])
def test_two_locations_reproduce_direct_answers(
    location: str, counting_client: Callable[..., CountingClient], boavizta_url: str
) -> None:
    calculator = ImpactCalculator(counting_client().client, FactorCache(None))
    server, impact = make_server(), make_impact(location=location, pue=1.3)
    for energy_j, duration_s in [(5.4e6, 1800.0), (2.0e4, 37.0), (9.1e8, 6 * 3600.0)]:
        job = calculator.impacts(server, impact, energy_j=energy_j, duration_s=duration_s)
        assert job.boavizta_version == job.factors.boavizta_version == "2.5.0"
        assert job.location == job.factors.location == location
        assert_matches_direct(job, boavizta_url)


def test_locations_differ_in_use_not_in_embodied(counting_client: Callable[..., CountingClient]) -> None:
    calculator = ImpactCalculator(counting_client().client, FactorCache(None))
    server = make_server()
    fra = calculator.impacts(server, make_impact(location="FRA"), energy_j=3.6e6, duration_s=3600)
    deu = calculator.impacts(server, make_impact(location="DEU"), energy_j=3.6e6, duration_s=3600)
    assert deu.gwp.use > 3 * fra.gwp.use  # a coal- and gas-heavy grid against a nuclear one
    for criterion in ("gwp", "adpe", "pe"):
        assert fra.of(criterion).embodied == deu.of(criterion).embodied
    # 1 kWh x PUE 1.3 at FRA's factor, read exactly from BoaviztAPI's verbose answer
    assert fra.gwp.use_factor is not None
    assert fra.gwp.use == pytest.approx(1.3 * fra.gwp.use_factor.value * 3.6e6)
    assert fra.energy.total == pytest.approx(1.3)


def test_custom_carbon_intensity_reproduces_boavizta_elec_factors(
    counting_client: Callable[..., CountingClient], boavizta_url: str
) -> None:
    counted = counting_client()
    calculator = ImpactCalculator(counted.client, FactorCache(None))
    server = make_server()
    by_location = calculator.impacts(server, make_impact(location="DEU"), energy_j=7.2e6, duration_s=2400)
    posts = counted.posts()
    custom = calculator.impacts(
        server, make_impact(location="DEU", carbon_intensity_g_per_kwh=52), energy_j=7.2e6, duration_s=2400
    )
    assert counted.posts() == posts  # the override needs no BoaviztAPI call
    assert custom.gwp.use == pytest.approx(7.2e6 * 1.3 / 3.6e6 * 0.052)
    assert custom.gwp.use_factor_source.startswith("impact.carbon_intensity_g_per_kwh")
    assert custom.gwp.min == pytest.approx(custom.gwp.use + custom.gwp.embodied_factor.min * 2400)  # type: ignore[union-attr]
    # only GWP changes: ADPe and PE keep the location's factors; embodied is the same
    assert custom.adpe == by_location.adpe and custom.pe == by_location.pe
    assert custom.gwp.embodied == by_location.gwp.embodied
    assert custom.gwp.use < by_location.gwp.use
    assert_matches_direct(custom, boavizta_url)


def test_embodied_scales_with_duration(
    counting_client: Callable[..., CountingClient], boavizta_url: str
) -> None:
    calculator = ImpactCalculator(counting_client().client, FactorCache(None))
    server, impact = make_server(), make_impact()
    short, long = (calculator.impacts(server, impact, energy_j=1.0e6, duration_s=d) for d in (600.0, 6000.0))
    for criterion in ("gwp", "adpe", "pe"):
        a, b = short.of(criterion), long.of(criterion)
        assert a.embodied is not None and b.embodied is not None
        assert b.embodied == pytest.approx(10 * a.embodied, rel=1e-12)
        assert b.use == a.use  # same energy, same use
        assert b.total - a.total == pytest.approx(9 * a.embodied, rel=1e-9)
    # and BoaviztAPI agrees at both durations
    assert_matches_direct(short, boavizta_url)
    assert_matches_direct(long, boavizta_url)
    # the embodied share of the whole server is its lifetime total x duration / lifetime
    query = hardware_query(server)
    whole = direct_server(boavizta_url, short.factors.request, duration_h=query.lifetime_hours)["impacts"]
    assert rel(short.gwp.embodied * query.lifetime_s / 600.0, whole["gwp"]["embedded"]["value"]) <= TOLERANCE  # type: ignore[operator]


def test_gpu_is_part_of_the_embodied_impacts(counting_client: Callable[..., CountingClient]) -> None:
    calculator = ImpactCalculator(counting_client().client, FactorCache(None))
    impact = make_impact()
    with_gpu = calculator.impacts(make_server(gpu_units=4), impact, energy_j=1e6, duration_s=3600)
    one_gpu = calculator.impacts(make_server(gpu_units=1), impact, energy_j=1e6, duration_s=3600)
    no_gpu = calculator.impacts(make_server(gpu=None), impact, energy_j=1e6, duration_s=3600)
    assert with_gpu.factors.gpu_matched_name == "NVIDIA A100 SXM4 80GB"
    assert no_gpu.factors.gpu_matched_name is None and "gpu" not in no_gpu.factors.request["configuration"]
    assert (
        no_gpu.gwp.embodied is not None
        and one_gpu.gwp.embodied is not None
        and with_gpu.gwp.embodied is not None
    )
    per_gpu = one_gpu.gwp.embodied - no_gpu.gwp.embodied
    assert per_gpu > 0
    assert with_gpu.gwp.embodied - no_gpu.gwp.embodied == pytest.approx(4 * per_gpu, rel=2e-3)
    assert with_gpu.gwp.use == no_gpu.gwp.use  # GPU electricity is in the measured energy, not modelled


def test_eee_default_location_carries_its_uncertainty(counting_client: Callable[..., CountingClient]) -> None:
    calculator = ImpactCalculator(counting_client().client, FactorCache(None))
    job = calculator.impacts(make_server(), make_impact(location="EEE"), energy_j=3.6e6, duration_s=3600)
    assert job.gwp.use_factor is not None
    # BoaviztAPI gives Europe's factor with the min and max of all its zones
    assert job.gwp.use_factor.min < job.gwp.use_factor.value < job.gwp.use_factor.max
    assert job.gwp.min is not None and job.gwp.max is not None
    assert job.gwp.min < job.gwp.total < job.gwp.max
