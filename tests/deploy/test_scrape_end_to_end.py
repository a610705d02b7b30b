"""A real Prometheus runs the generated prometheus.yml against live simulated exporters and remote_writes to
VictoriaMetrics: the event's selectors match the scraped series in both stores, with the same samples."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from greenhack.cli import app
from greenhack.services.victoriametrics import VictoriaMetricsServer
from greenhack.telemetry.profiles import NVIDIA_SMI, SCAPHANDRE
from greenhack.telemetry.simulator import ExporterSim, PowerTrace, SimDevice, SimulatorServer

GPU_UUID = "GPU-1d2c3b4a-0000-4c56-9d7a-4f1c2b3a1d00"


def _series(url: str, promql: str, at_s: float) -> list[dict]:  # type: ignore[type-arg]
    body = httpx.get(
        f"{url}/api/v1/query", params={"query": promql, "time": f"{at_s:.3f}"}, timeout=10
    ).json()
    assert body["status"] == "success", body
    return body["data"]["result"]  # type: ignore[no-any-return]


def test_generated_config_feeds_selectors_in_prometheus_and_victoriametrics(  # type: ignore[no-untyped-def]
    write_event,
    server_entry,
    run_generated_prometheus,
    victoriametrics: VictoriaMetricsServer,
    tmp_path: Path,
) -> None:
    now = time.time()
    host = SimulatorServer(ExporterSim(SCAPHANDRE, (SimDevice(PowerTrace(150.0)),)))
    gpu = SimulatorServer(
        ExporterSim(NVIDIA_SMI, (SimDevice(PowerTrace(70.0), uuid=GPU_UUID, counter_origin_s=now - 60),))
    )
    try:
        scaph_selector = f'{{instance="{host.address}", site="e2e-{int(now)}"}}'
        gpu_selector = f'{{instance="{gpu.address}", job="gpu-e2e", uuid="{GPU_UUID[4:]}"}}'
        path = write_event([server_entry("gpu-1", scaph_selector, gpu_selector)], scrape_interval="2s")
        out = tmp_path / "prom"
        result = CliRunner().invoke(
            app,
            [
                "deploy",
                "prometheus-config",
                "--config",
                str(path),
                "--out",
                str(out),
                "--remote-write",
                victoriametrics.remote_write_url,
            ],
        )
        assert result.exit_code == 0, result.output
        prometheus = run_generated_prometheus(out)

        # the rules file was loaded with the configuration
        groups = httpx.get(f"{prometheus.url}/api/v1/rules", timeout=10).json()["data"]["groups"]
        assert sum(len(g["rules"]) for g in groups) == 6

        queries = {
            "scaph": f"scaph_host_power_microwatts{scaph_selector}",
            "gpu": f"nvidia_smi_power_draw_watts{gpu_selector}",
        }
        deadline = time.monotonic() + 40
        while True:  # ≥ 4 scrapes stored, and remote_write (5 s batches) delivered them
            victoriametrics.flush()
            at_s = time.time()
            counts = {
                (store, key): sum(len(s["values"]) for s in _series(url, f"{q}[60s]", at_s))
                for store, url in (("prom", prometheus.url), ("vm", victoriametrics.url))
                for key, q in queries.items()
            }
            if min(counts.values()) >= 4:
                break
            assert time.monotonic() < deadline, f"too few samples {counts}\n{prometheus.log()}"
            time.sleep(1.0)

        end_s = at_s  # every series had >= 4 samples in both stores at this instant
        for key, promql in queries.items():
            prom = _series(prometheus.url, f"{promql}[60s]", end_s)
            vm = _series(victoriametrics.url, f"{promql}[60s]", end_s)
            assert len(prom) == 1 and len(vm) == 1, (key, prom, vm)
            # the selector's labels are on the series (instance from the address, the rest as target labels)
            assert prom[0]["metric"]["instance"] in (host.address, gpu.address)
            # remote_write adds the event's external label; everything else is identical
            vm_labels = dict(vm[0]["metric"])
            assert vm_labels.pop("greenhack_event") == "Green AI Hack 2026"
            assert vm_labels == prom[0]["metric"]
            # the same samples, timestamps to the millisecond (the window's lower bound differs: (t-w, t] vs [t-w, t])
            prom_samples = {float(t): float(v) for t, v in prom[0]["values"]}
            vm_samples = {float(t): float(v) for t, v in vm[0]["values"]}
            assert len(vm_samples) >= 4
            for t, value in vm_samples.items():
                assert abs(prom_samples[t] - value) <= 1e-9 * abs(value), (key, t)
        assert (
            _series(prometheus.url, f'up{{job="gpu-e2e", instance="{gpu.address}"}}', end_s)[0]["value"][1]
            == "1"
        )
    finally:
        host.stop()
        gpu.stop()
