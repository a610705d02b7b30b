"""Jobs per second for impacts: cached BoaviztAPI factors against one BoaviztAPI call per job.

Run: ``.venv/bin/python bench/impacts_throughput.py [--jobs N] [--direct-jobs M] [--boavizta-url URL]``.
Without ``--boavizta-url`` it starts a real BoaviztAPI from ``.venv-boavizta``. Both modes score the same
random jobs (energy, duration) on the example server, side by side in this run, and every HTTP request is
counted. The accuracy rows compare the cached result with BoaviztAPI's own answer for the same jobs.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import random
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from greenhack.config import ImpactSection, ServerConfig
from greenhack.impacts import BoaviztaClient, FactorCache, ImpactCalculator, JobImpacts, hardware_query
from greenhack.impacts.factors import server_request
from greenhack.services.boavizta import BoaviztaServer

__all__ = ["main"]

_NAMES = {"gwp": "gwp", "adpe": "adp", "pe": "pe"}


def _server() -> ServerConfig:
    return ServerConfig.model_validate(
        {
            "name": "gpu-1",
            "runner_tags": ["green-ai-gpu-1"],
            "scaphandre": '{instance="gpu-1:8080"}',
            "gpu": '{instance="gpu-1:9835"}',
            "hardware": {
                "cpu": {"name": "Intel Xeon Gold 6248", "units": 2},
                "ram_gb": 192,
                "gpu": {"name": "NVIDIA A100 80GB", "units": 1},
                "lifetime_years": 5,
            },
        }
    )


def _jobs(count: int, seed: int) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    jobs = []
    for _ in range(count):
        duration_s = rng.uniform(10.0, 3600.0)
        jobs.append((duration_s * rng.uniform(150.0, 700.0), duration_s))  # 150-700 W on average
    return jobs


class _Counter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, request: httpx.Request) -> None:
        self.calls += 1


@contextlib.contextmanager
def _boavizta(url: str | None) -> Iterator[str]:
    if url:
        yield url.rstrip("/")
        return
    with BoaviztaServer() as server:
        yield server.url


def _direct(
    http: httpx.Client,
    url: str,
    server: ServerConfig,
    impact: ImpactSection,
    energy_j: float,
    duration_s: float,
    *,
    pinned: dict[str, Any] | None = None,
) -> dict[str, dict[str, dict[str, float]]]:
    """What a scorer without the cache does: one BoaviztAPI request per job (optionally the pinned request)."""
    body = (
        copy.deepcopy(pinned)
        if pinned is not None
        else server_request(hardware_query(server), impact.location)
    )
    body["usage"]["avg_power"] = energy_j * impact.pue / duration_s
    response = http.post(
        f"{url}/v1/server/", params={"duration": duration_s / 3600.0, "verbose": "false"}, json=body
    )
    response.raise_for_status()
    impacts: dict[str, dict[str, dict[str, float]]] = response.json()["impacts"]
    return impacts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000, help="jobs scored with the cache")
    parser.add_argument("--direct-jobs", type=int, default=300, help="jobs scored with one call each")
    parser.add_argument("--boavizta-url", default=None, help="use this BoaviztAPI instead of starting one")
    args = parser.parse_args()

    server = _server()
    impact = ImpactSection(criterion="gwp", include=["use", "embodied"], pue=1.3, location="FRA")
    jobs = _jobs(max(args.jobs, args.direct_jobs), seed=2026)

    with _boavizta(args.boavizta_url) as url, tempfile.TemporaryDirectory() as tmp:
        counter = _Counter()
        with httpx.Client(event_hooks={"request": [counter]}, timeout=60.0) as http:
            calculator = ImpactCalculator(BoaviztaClient(url, http=http), FactorCache.in_data_dir(Path(tmp)))
            started = time.perf_counter()
            first = calculator.impacts(server, impact, energy_j=jobs[0][0], duration_s=jobs[0][1])
            derive_s = time.perf_counter() - started
            derive_calls = counter.calls
            started = time.perf_counter()
            cached: list[JobImpacts] = [
                calculator.impacts(server, impact, energy_j=e, duration_s=d) for e, d in jobs[: args.jobs]
            ]
            cached_s = time.perf_counter() - started
            cached_calls = counter.calls - derive_calls

            counter.calls = 0
            started = time.perf_counter()
            direct = [_direct(http, url, server, impact, e, d) for e, d in jobs[: args.direct_jobs]]
            direct_s = time.perf_counter() - started
            direct_calls = counter.calls
            pinned = [
                _direct(http, url, server, impact, e, d, pinned=first.factors.request)
                for e, d in jobs[: min(50, args.direct_jobs)]
            ]

    version = first.boavizta_version
    rows = [
        ("factor derivation (first job, cold cache)", 1, derive_calls, derive_s),
        ("cached factors", args.jobs, cached_calls, cached_s),
        ("one BoaviztAPI call per job", args.direct_jobs, direct_calls, direct_s),
    ]
    print(
        f"Impacts throughput, BoaviztAPI {version} at {url}; server gpu-1 (2x Xeon Gold 6248, A100), FRA, PUE 1.3"
    )
    print(f"{'mode':<44} {'jobs':>7} {'HTTP calls':>11} {'seconds':>9} {'jobs/s':>11}")
    for name, count, calls, seconds in rows:
        print(f"{name:<44} {count:>7} {calls:>11} {seconds:>9.3f} {count / seconds:>11.1f}")
    cached_rate, direct_rate = args.jobs / cached_s, args.direct_jobs / direct_s
    print(f"speed-up of the cache: {cached_rate / direct_rate:,.0f}x")

    # accuracy on the jobs both modes scored
    print()
    print("Cached vs direct BoaviztAPI answers on the same jobs (relative difference, max over jobs):")
    print(
        f"{'criterion':<10} {'use':>10} {'embodied min':>13} {'embodied max':>13} {'embodied value*':>16} "
        f"{'embodied vs pinned**':>21}"
    )
    for criterion, name in _NAMES.items():
        use_diff = emb_min = emb_max = emb_val = 0.0
        for ours, theirs in zip(cached, direct, strict=False):
            mine = ours.of(criterion)  # type: ignore[arg-type]
            factor = mine.embodied_factor
            assert factor is not None and mine.embodied is not None
            answer = theirs[name]
            use_diff = max(use_diff, abs(mine.use - answer["use"]["value"]) / answer["use"]["value"])
            emb = answer["embedded"]
            emb_min = max(emb_min, abs(factor.min * ours.duration_s - emb["min"]) / emb["min"])
            emb_max = max(emb_max, abs(factor.max * ours.duration_s - emb["max"]) / emb["max"])
            emb_val = max(emb_val, abs(mine.embodied - emb["value"]) / emb["value"])
        emb_pinned = max(
            abs(ours.of(criterion).embodied - theirs[name]["embedded"]["value"])  # type: ignore[arg-type,operator]
            / theirs[name]["embedded"]["value"]
            for ours, theirs in zip(cached, pinned, strict=False)
        )
        print(
            f"{criterion:<10} {use_diff:>10.2e} {emb_min:>13.2e} {emb_max:>13.2e} {emb_val:>16.2e} "
            f"{emb_pinned:>21.2e}"
        )
    print("* BoaviztAPI rounds embodied values to a step set by their min-max range (often 1-2 significant")
    print(
        "  figures); the cache reads them unrounded from a pinned request, so this column is that rounding."
    )
    print(
        f"** the same jobs (first {len(pinned)}) sent with BoaviztAPI's uncertain attributes pinned to its own "
        "values: min = max, 4 significant figures."
    )


if __name__ == "__main__":
    main()
