"""The collector speaks only the Prometheus HTTP API: it must measure the same energy from VictoriaMetrics
(the long-term store fed by remote_write) as from Prometheus, and both must agree with the simulator's truth.

Also pins down the VictoriaMetrics 1.79 query semantics the collector depends on, so a package upgrade that
changes them fails here first.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from greenhack.config import ServerConfig
from greenhack.services.victoriametrics import VictoriaMetricsServer, format_import_lines
from greenhack.telemetry.measure import measure_energy
from greenhack.telemetry.profiles import NVIDIA_SMI, SCAPHANDRE
from greenhack.telemetry.prometheus import PrometheusClient
from greenhack.telemetry.simulator import ExporterSim, PowerTrace, SimDevice, openmetrics

SCRAPE_S = 5.0
GPU_UUID = "GPU-8f6b5b0e-58a3-4c56-9d7a-4f1c2b3a1d00"


def _openmetrics_to_import(text: str) -> str:
    """The same samples, as /api/v1/import/prometheus lines (timestamps in integer milliseconds)."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, ts = line.rpartition(" ")
        out.append(f"{head} {round(float(ts) * 1000)}\n")
    return "".join(out)


def _server(tag: str) -> ServerConfig:
    return ServerConfig.model_validate(
        {
            "name": "gpu-1",
            "runner_tags": ["green-ai-gpu-1"],
            "scaphandre": f'{{instance="gpu-1:8080", event="{tag}"}}',
            "gpu": f'{{instance="gpu-1:9835", event="{tag}"}}',
            "gpu_exporter": "nvidia_smi",
            "hardware": {
                "cpu": {"name": "Intel Xeon Gold 6248"},
                "ram_gb": 192,
                "gpu": {"name": "NVIDIA A100 80GB"},
            },
        }
    )


@pytest.fixture(scope="module")
def stores(prometheus_factory, victoriametrics: VictoriaMetricsServer, request):  # type: ignore[no-untyped-def]
    """The same scrapes of a host and one GPU in Prometheus (backfilled) and VictoriaMetrics (imported)."""
    # recent past: inside both stores' retention, and VictoriaMetrics refuses samples > 2 days in the future
    origin_s = float(int(time.time()) // 60 * 60 - 3600)
    tag = f"vm-{request.node.name}-{int(origin_s)}"
    host = PowerTrace.steps(180.0, [(origin_s + 600, 320.0), (origin_s + 900, 250.0)], origin_s + 1800)
    gpu = PowerTrace.steps(60.0, [(origin_s + 610, 290.0), (origin_s + 890, 75.0)], origin_s + 1800)
    sims = [
        ExporterSim(
            SCAPHANDRE,
            (SimDevice(host),),
            target_labels={"instance": "gpu-1:8080", "job": "scaphandre", "event": tag},
        ),
        ExporterSim(
            NVIDIA_SMI,
            (SimDevice(gpu, uuid=GPU_UUID, counter_origin_s=origin_s - 3600),),
            target_labels={"instance": "gpu-1:9835", "job": "nvidia_gpu", "event": tag},
        ),
    ]
    text = openmetrics(sims, origin_s, origin_s + 1800, SCRAPE_S, jitter_s=0.2, seed=7)
    prometheus = prometheus_factory(text)
    victoriametrics.import_prometheus(_openmetrics_to_import(text))
    return {
        "prometheus": prometheus.url,
        "victoriametrics": victoriametrics.url,
        "tag": tag,
        "origin_s": origin_s,
        "host": host,
        "gpu": gpu,
    }


@pytest.mark.parametrize(
    ("start_offset_s", "duration_s"),
    [(590.0, 330.0), (605.5, 37.3), (1200.0, 12.0)],
    ids=["whole-burst", "short-edge-window", "shorter-than-3-scrapes"],
)
def test_same_energy_from_prometheus_and_victoriametrics(
    stores, start_offset_s: float, duration_s: float
) -> None:  # type: ignore[no-untyped-def]
    start_s = stores["origin_s"] + start_offset_s
    end_s = start_s + duration_s
    start = datetime.fromtimestamp(start_s, tz=UTC)
    end = datetime.fromtimestamp(end_s, tz=UTC)
    server = _server(stores["tag"])
    results = {}
    for name in ("prometheus", "victoriametrics"):
        with PrometheusClient(stores[name]) as client:
            results[name] = measure_energy(
                server, start, end, source=client, scrape_interval=timedelta(seconds=SCRAPE_S)
            )
    prom, vm = results["prometheus"], results["victoriametrics"]
    assert prom.valid, prom.problems
    assert vm.valid, vm.problems
    # the same samples give the same answer (VictoriaMetrics keeps ~12 significant digits)
    assert vm.cpu_energy_j == pytest.approx(prom.cpu_energy_j, rel=1e-9)
    assert vm.gpu_energy_j == pytest.approx(prom.gpu_energy_j, rel=1e-9)
    assert set(vm.gpus) == set(prom.gpus)
    # and both agree with the truth
    true_cpu_j = stores["host"].energy_j(start_s, end_s)
    true_gpu_j = stores["gpu"].energy_j(start_s, end_s)
    for result in (prom, vm):
        assert result.cpu_energy_j == pytest.approx(true_cpu_j, rel=0.03)
        assert result.gpu_energy_j == pytest.approx(true_gpu_j, rel=0.03)


def _query(url: str, promql: str, at_s: float | None = None) -> list[dict]:  # type: ignore[type-arg]
    params = {"query": promql}
    if at_s is not None:
        params["time"] = f"{at_s:.3f}"
    body = httpx.get(f"{url}/api/v1/query", params=params, timeout=10).json()
    assert body["status"] == "success", body
    return body["data"]["result"]  # type: ignore[no-any-return]


def test_victoriametrics_raw_range_semantics(
    victoriametrics: VictoriaMetricsServer, prometheus_factory
) -> None:  # type: ignore[no-untyped-def]
    """What differs between VictoriaMetrics 1.79 and Prometheus 2.42 for ``m[w]`` and ``m[w] @ t``.

    * ``m[w]`` with ``time=t``: both return raw samples with their own timestamps; Prometheus 2.42 includes a
      sample exactly at ``t - w``, VictoriaMetrics does not (its window is ``(t-w, t]``).
    * ``m[w] @ t``: Prometheus evaluates at ``t``; VictoriaMetrics 1.79 ignores ``@`` on a bare range selector
      (its raw-export shortcut reads only ``time`` and ``offset``) and answers from the ``time`` parameter, i.e.
      now when ``time`` is omitted.
    """
    t0 = float(int(time.time()) // 60 * 60 - 7200)
    samples = [(t0 + 5 * i, 100.0 + i) for i in range(10)]
    metric, labels = "greenhack_semantics_probe", {"instance": "probe:1"}
    victoriametrics.import_prometheus(format_import_lines(metric, labels, samples))
    lines = "".join(f'{metric}{{instance="probe:1"}} {v} {t:.3f}\n' for t, v in samples)
    prometheus = prometheus_factory(f"# TYPE {metric} gauge\n{lines}# EOF\n")
    selector = f'{metric}{{instance="probe:1"}}'
    end_s = t0 + 30

    def times(url: str, promql: str, at_s: float | None) -> list[float]:
        result = _query(url, promql, at_s)
        return [float(t) for series in result for t, _ in series["values"]]

    # same window by time=: VictoriaMetrics drops the sample on the lower bound
    assert times(prometheus.url, f"{selector}[20s]", end_s) == [t0 + 10, t0 + 15, t0 + 20, t0 + 25, t0 + 30]
    assert times(victoriametrics.url, f"{selector}[20s]", end_s) == [t0 + 15, t0 + 20, t0 + 25, t0 + 30]
    # @ without time=: Prometheus honours it, VictoriaMetrics 1.79 answers for now (nothing)
    assert times(prometheus.url, f"{selector}[20s] @ {end_s:.3f}", None) == [
        t0 + 10,
        t0 + 15,
        t0 + 20,
        t0 + 25,
        t0 + 30,
    ]
    assert times(victoriametrics.url, f"{selector}[20s] @ {end_s:.3f}", None) == []
    # @ together with time= at the same instant works on both
    assert times(victoriametrics.url, f"{selector}[20s] @ {end_s:.3f}", end_s) == [
        t0 + 15,
        t0 + 20,
        t0 + 25,
        t0 + 30,
    ]
    # values come back exactly for these magnitudes
    result = _query(victoriametrics.url, f"{selector}[20s]", end_s)
    assert [float(v) for _, v in result[0]["values"]] == [103.0, 104.0, 105.0, 106.0]
