"""BoaviztAPI down or answering errors, and names it does not know: typed errors, nothing partial, nothing cached."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from impacts_helpers import CountingClient, make_impact, make_server

from greenhack.config import ImpactSection
from greenhack.errors import BoaviztaUnavailable, HardwareNameError, ImpactsError
from greenhack.impacts import BoaviztaClient, FactorCache, ImpactCalculator
from greenhack.impacts.factors import FACTOR_CACHE_FILE
from greenhack.services.ports import free_port


def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there


def test_boavizta_down_raises_a_retryable_error(tmp_path: Path) -> None:
    url = dead_url()
    calculator = ImpactCalculator(BoaviztaClient(url, timeout_s=5), FactorCache.in_data_dir(tmp_path))
    with pytest.raises(BoaviztaUnavailable) as caught:
        calculator.impacts(make_server(), make_impact(), energy_j=1e6, duration_s=60)
    assert caught.value.url.startswith(url) and caught.value.status_code is None
    assert isinstance(caught.value, ImpactsError)
    assert not (tmp_path / FACTOR_CACHE_FILE).exists()


def test_down_after_factors_were_cached_still_scores(
    counting_client: Callable[..., CountingClient], tmp_path: Path
) -> None:
    server, impact = make_server(), make_impact()
    live = ImpactCalculator(counting_client().client, FactorCache.in_data_dir(tmp_path))
    expected = live.impacts(server, impact, energy_j=1e6, duration_s=60)
    offline = ImpactCalculator(BoaviztaClient(dead_url(), timeout_s=5), FactorCache.in_data_dir(tmp_path))
    job = offline.impacts(server, impact, energy_j=1e6, duration_s=60)
    assert job == expected and job.boavizta_version == "2.5.0"
    # but a location never derived cannot be scored
    with pytest.raises(BoaviztaUnavailable):
        offline.impacts(server, make_impact(location="DEU"), energy_j=1e6, duration_s=60)


class FailingTransport(httpx.BaseTransport):
    """Forwards to the real server, but answers ``status`` (with ``body``) to the ``fail_at``-th request."""

    def __init__(self, fail_at: int, status: int = 500, body: bytes = b"Internal Server Error") -> None:
        self._real = httpx.HTTPTransport()
        self._fail_at = fail_at
        self._status = status
        self._body = body
        self.count = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        if self.count == self._fail_at:
            return httpx.Response(self._status, content=self._body, headers={"content-type": "text/plain"})
        return self._real.handle_request(request)

    def close(self) -> None:
        self._real.close()


@pytest.mark.parametrize("fail_at", [1, 5, 6])  # the version check, the verbose request, the pinned request
def test_error_at_any_request_publishes_nothing(boavizta_url: str, tmp_path: Path, fail_at: int) -> None:
    transport = FailingTransport(fail_at, status=503)
    cache = FactorCache.in_data_dir(tmp_path)
    with httpx.Client(transport=transport) as http:
        calculator = ImpactCalculator(BoaviztaClient(boavizta_url, http=http), cache)
        with pytest.raises(BoaviztaUnavailable) as caught:
            calculator.impacts(make_server(), make_impact(), energy_j=1e6, duration_s=60)
        assert caught.value.status_code == 503
        assert cache.entries() == [] and not (tmp_path / FACTOR_CACHE_FILE).exists()
        # the evaluation retries later: the same calculator then succeeds
        job = calculator.impacts(make_server(), make_impact(), energy_j=1e6, duration_s=60)
    assert job.gwp.total > 0 and len(cache.entries()) == 1


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (200, b"<html>proxy login</html>", "not JSON"),
        (200, b'{"detail": "hello"}', "is this URL really BoaviztAPI"),
        (404, b'{"detail": "Not Found"}', "answered 404"),
    ],
)
def test_answers_that_are_not_boavizta(status: int, body: bytes, message: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body)

    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        client = BoaviztaClient("http://boavizta.invalid", http=http)
        with pytest.raises(BoaviztaUnavailable, match=message):
            client.server({"configuration": {}}, duration_h=1.0, verbose=False)


def test_unimplemented_phase_is_an_impacts_error() -> None:
    payload = {
        "impacts": {
            name: {"embedded": {"value": 1.0, "min": 0.5, "max": 2.0}, "use": "not implemented"}
            for name in ("gwp", "adp", "pe")
        }
    }
    with httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, json=payload))) as http:
        client = BoaviztaClient("http://boavizta.invalid", http=http)
        with pytest.raises(ImpactsError, match="could not compute gwp.use: not implemented"):
            client.server({}, duration_h=1.0, verbose=False)


@pytest.mark.parametrize(
    ("hardware", "key", "words"),
    [
        (
            {"gpu": "NVIDIA Quantum 9000"},
            "servers[0].hardware.gpu.name",
            "does not know the GPU 'NVIDIA Quantum 9000'",
        ),
        (
            {"gpu": "NVIDIA A100X 80GB"},
            "servers[0].hardware.gpu.name",
            "nearest entry 'NVIDIA A100 SXM4 80GB'",
        ),
        ({"cpu": "Quantum Foo"}, "servers[0].hardware.cpu.name", "does not know the CPU 'Quantum Foo'"),
        # BoaviztAPI's fuzzy matcher would silently take the Xeon Gold 5115 for this one
        ({"cpu": "Intel Xeon Gold 9999"}, "servers[0].hardware.cpu.name", "is another model"),
    ],
)
def test_unknown_hardware_names_the_yaml_key(
    counting_client: Callable[..., CountingClient], hardware: dict[str, Any], key: str, words: str
) -> None:
    counted = counting_client()
    cache = FactorCache(None)
    calculator = ImpactCalculator(counted.client, cache)
    with pytest.raises(HardwareNameError) as caught:
        calculator.impacts(
            make_server(**hardware), make_impact(), energy_j=1e6, duration_s=60, server_key="servers[0]"
        )
    assert caught.value.key == key
    assert str(caught.value).startswith(f"{key}: ") and words in str(caught.value)
    assert counted.posts() == 0 and cache.entries() == []


def test_close_names_are_suggested(counting_client: Callable[..., CountingClient]) -> None:
    calculator = ImpactCalculator(counting_client().client, FactorCache(None))
    with pytest.raises(HardwareNameError, match="close names it knows: .*'NVIDIA H100 SXM 80GB'"):
        calculator.impacts(
            make_server(gpu="NVIDIA H100 SXM 80GB HBM9"), make_impact(), energy_j=1, duration_s=1
        )


def test_names_boavizta_matches_are_accepted_and_recorded(
    counting_client: Callable[..., CountingClient],
) -> None:
    calculator = ImpactCalculator(counting_client().client, FactorCache(None))
    job = calculator.impacts(
        make_server(cpu="AMD EPYC 7763", gpu="NVIDIA H100 PCIe 80GB", gpu_units=8),
        make_impact(),
        energy_j=1e6,
        duration_s=60,
    )
    assert job.factors.cpu_matched_name.endswith("7763")
    assert job.factors.gpu_matched_name == "NVIDIA H100 PCIe 80GB"


def test_location_boavizta_does_not_know_names_impact_location(
    counting_client: Callable[..., CountingClient],
) -> None:
    counted = counting_client()
    # the YAML loader refuses these already; a section built in code must still not fall back silently
    impact = ImpactSection.model_construct(
        criterion="gwp",
        include=["use", "embodied"],
        pue=1.0,
        location="fra",
        carbon_intensity_g_per_kwh=None,
        idle="include",
        lifecycle=None,
    )
    calculator = ImpactCalculator(counted.client, FactorCache(None))
    with pytest.raises(HardwareNameError) as caught:
        calculator.impacts(make_server(), impact, energy_j=1e6, duration_s=60)
    assert caught.value.key == "impact.location" and "(codes are upper case)" in str(caught.value)
    assert counted.posts() == 0


@pytest.mark.parametrize(
    ("energy_j", "duration_s"), [(-1.0, 60.0), (1.0, 0.0), (float("nan"), 60.0), (1.0, float("inf"))]
)
def test_bad_job_inputs(energy_j: float, duration_s: float) -> None:
    calculator = ImpactCalculator(BoaviztaClient(dead_url()), FactorCache(None))
    with pytest.raises(ImpactsError, match="energy_j|duration_s"):
        calculator.impacts(make_server(), make_impact(), energy_j=energy_j, duration_s=duration_s)
