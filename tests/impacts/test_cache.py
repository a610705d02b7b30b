"""Factors are asked once per (hardware, location), persisted with their BoaviztAPI version, and reused."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from impacts_helpers import CountingClient, make_impact, make_server
from pydantic import ValidationError

from greenhack.impacts import FactorCache, ImpactCalculator, ServerFactors, factor_key, hardware_query
from greenhack.impacts.factors import FACTOR_CACHE_FILE


def test_ten_thousand_jobs_make_one_derivation(
    counting_client: Callable[..., CountingClient], tmp_path: Path
) -> None:
    counted = counting_client()
    calculator = ImpactCalculator(counted.client, FactorCache.in_data_dir(tmp_path))
    server, impact = make_server(), make_impact()
    first = calculator.impacts(server, impact, energy_j=1e6, duration_s=100)
    # version, location codes, the two names, then the verbose and the pinned server requests
    assert [path for _, path in counted.calls] == [
        "/v1/utils/version",
        "/v1/utils/country_code",
        "/v1/utils/name_to_cpu",
        "/v1/utils/name_to_gpu",
        "/v1/server/",
        "/v1/server/",
    ]
    rng = random.Random(7)
    for _ in range(10_000):
        job = calculator.impacts(
            server, impact, energy_j=rng.uniform(0, 1e8), duration_s=rng.uniform(1, 7200)
        )
        assert job.factors is first.factors
    assert len(counted.calls) == 6


def test_what_is_not_in_the_key_needs_no_call(counting_client: Callable[..., CountingClient]) -> None:
    counted = counting_client()
    calculator = ImpactCalculator(counted.client, FactorCache(None))
    calculator.impacts(make_server(), make_impact(), energy_j=1e6, duration_s=100)
    before = len(counted.calls)
    # another server with the same hardware, another PUE, include, criterion, carbon intensity: no call
    calculator.impacts(make_server(name="gpu-2"), make_impact(pue=1.6), energy_j=1e6, duration_s=100)
    calculator.impacts(
        make_server(), make_impact(include=["use"], carbon_intensity_g_per_kwh=20), energy_j=1, duration_s=1
    )
    calculator.impacts(make_server(), make_impact(criterion="pe"), energy_j=1e6, duration_s=100)
    assert len(counted.calls) == before
    # another location or other hardware: one derivation each (two server requests), no new version check
    calculator.impacts(make_server(), make_impact(location="DEU"), energy_j=1e6, duration_s=100)
    assert counted.posts() == 4
    calculator.impacts(make_server(ram_gb=384), make_impact(), energy_j=1e6, duration_s=100)
    calculator.impacts(make_server(lifetime_years=4), make_impact(), energy_j=1e6, duration_s=100)
    assert counted.posts() == 8
    assert sum(1 for _, path in counted.calls if path == "/v1/utils/version") == 1


def test_persisted_factors_serve_a_new_process(
    counting_client: Callable[..., CountingClient], tmp_path: Path
) -> None:
    server, impact = make_server(), make_impact()
    first = ImpactCalculator(counting_client().client, FactorCache.in_data_dir(tmp_path))
    job = first.impacts(server, impact, energy_j=2e6, duration_s=900)

    document = json.loads((tmp_path / FACTOR_CACHE_FILE).read_text())
    key = factor_key(hardware_query(server), "FRA")
    assert document["format"] == 1 and list(document["entries"]) == [key]
    assert document["entries"][key]["boavizta_version"] == "2.5.0"
    assert document["entries"][key]["gwp"]["use_per_j"]["value"] > 0

    counted = counting_client()
    second = ImpactCalculator(counted.client, FactorCache.in_data_dir(tmp_path))
    again = second.impacts(server, impact, energy_j=2e6, duration_s=900)
    assert counted.calls == [("GET", "/v1/utils/version")]  # only to check the factors are still current
    assert again == job


def test_other_version_is_derived_again(
    counting_client: Callable[..., CountingClient], tmp_path: Path
) -> None:
    server, impact = make_server(), make_impact()
    ImpactCalculator(counting_client().client, FactorCache.in_data_dir(tmp_path)).impacts(
        server, impact, energy_j=1e6, duration_s=60
    )
    path = tmp_path / FACTOR_CACHE_FILE
    document = json.loads(path.read_text())
    for entry in document["entries"].values():
        entry["boavizta_version"] = "2.4.0"
        entry["gwp"]["use_per_j"] = {"value": 1.0, "min": 1.0, "max": 1.0}  # stale data must not be served
    path.write_text(json.dumps(document))

    counted = counting_client()
    job = ImpactCalculator(counted.client, FactorCache.in_data_dir(tmp_path)).impacts(
        server, impact, energy_j=1e6, duration_s=60
    )
    assert counted.posts() == 2
    assert job.boavizta_version == "2.5.0" and job.gwp.use < 1.0
    versions = {e["boavizta_version"] for e in json.loads(path.read_text())["entries"].values()}
    assert versions == {"2.5.0"}


def test_version_is_checked_again_after_its_ttl(counting_client: Callable[..., CountingClient]) -> None:
    now = [0.0]
    counted = counting_client()
    calculator = ImpactCalculator(counted.client, FactorCache(None), version_ttl_s=60, clock=lambda: now[0])
    for t in (0.0, 30.0, 59.0, 61.0, 100.0, 122.0):
        now[0] = t
        calculator.impacts(make_server(), make_impact(), energy_j=1e6, duration_s=60)
    assert sum(1 for _, path in counted.calls if path == "/v1/utils/version") == 3  # at 0, 61 and 122 s
    assert counted.posts() == 2


def test_damaged_cache_file_is_set_aside(
    counting_client: Callable[..., CountingClient], tmp_path: Path
) -> None:
    path = tmp_path / FACTOR_CACHE_FILE
    path.write_text("{ not json")
    counted = counting_client()
    job = ImpactCalculator(counted.client, FactorCache.in_data_dir(tmp_path)).impacts(
        make_server(), make_impact(), energy_j=1e6, duration_s=60
    )
    assert counted.posts() == 2
    assert (tmp_path / (FACTOR_CACHE_FILE + ".damaged")).read_text() == "{ not json"
    reread = FactorCache.in_data_dir(tmp_path).get(job.factors.key)
    assert isinstance(reread, ServerFactors) and reread == job.factors


def test_factors_survive_json(counting_client: Callable[..., CountingClient]) -> None:
    calculator = ImpactCalculator(counting_client().client, FactorCache(None))
    job = calculator.impacts(make_server(), make_impact(), energy_j=1e6, duration_s=60)
    assert type(job).model_validate_json(job.model_dump_json()) == job
    with pytest.raises(ValidationError):
        job.gwp.total = 0.0
