"""A real Prometheus answers exactly the backfilled samples, keeps them across restarts, and scrapes targets."""

from __future__ import annotations

import http.server
import math
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from greenhack.errors import ServiceError
from greenhack.services.openmetrics import SeriesSamples, openmetrics_text
from greenhack.services.ports import free_port, wait_until_ready
from greenhack.services.prometheus import PrometheusServer, find_prometheus_binaries, static_scrape_config

Sample = tuple[int, float]  # (timestamp_ms, value)


def raw_samples(url: str, selector: str, window_s: int, at_s: float) -> dict[str, list[Sample]]:
    """``selector[window] @ at``: every raw sample in the window, keyed ``name{label=value,...}``."""
    query = f"{selector}[{window_s}s] @ {at_s:.3f}"
    response = httpx.get(f"{url}/api/v1/query", params={"query": query}, timeout=10)
    response.raise_for_status()
    body = response.json()
    assert body["status"] == "success" and body["data"]["resultType"] == "matrix", body
    out: dict[str, list[Sample]] = {}
    for series in body["data"]["result"]:
        labels = dict(series["metric"])
        name = labels.pop("__name__")
        key = name + "{" + ",".join(f"{k}={v}" for k, v in sorted(labels.items())) + "}"
        out[key] = [(round(float(t) * 1000), float(v)) for t, v in series["values"]]
    return out


def as_ms(samples: Sequence[tuple[float, float]]) -> list[Sample]:
    return sorted((round(t * 1000), v) for t, v in samples)


@pytest.fixture(scope="module")
def now_s() -> float:
    return math.floor(time.time() * 1000) / 1000


@pytest.fixture(scope="module")
def bench_series(now_s: float) -> list[SeriesSamples]:
    # power every 2 s up to one second ago, millisecond jitter; an energy counter five hours ago
    power = [(now_s - 41 + 2 * i + (i * 37 % 1000) / 1000, 40_000_000.0 + i * 1_234.5) for i in range(20)]
    energy = [(now_s - 5 * 3600 + i * 2.5, 1.0e12 + i * 8.0e7) for i in range(10)]
    gpu = [(now_s - 30 + i, 250.25 + i) for i in range(30)]
    return [
        SeriesSamples("scaph_host_power_microwatts", "gauge", {"instance": "gpu-1:8080"}, power),
        SeriesSamples("scaph_host_energy_microjoules", "counter", {"instance": "gpu-1:8080"}, energy),
        SeriesSamples(
            "DCGM_FI_DEV_POWER_USAGE", "gauge", {"UUID": "GPU-1", "modelName": 'NVIDIA "H100"'}, gpu
        ),
    ]


@pytest.fixture(scope="module")
def backfilled(
    prometheus_factory: Callable[..., PrometheusServer], bench_series: list[SeriesSamples]
) -> PrometheusServer:
    return prometheus_factory(openmetrics_text(bench_series))


def test_recent_samples_come_back_exactly(
    backfilled: PrometheusServer, bench_series: list[SeriesSamples], now_s: float
) -> None:
    got = raw_samples(backfilled.url, "scaph_host_power_microwatts", 60, now_s)
    assert got == {"scaph_host_power_microwatts{instance=gpu-1:8080}": as_ms(bench_series[0].samples)}
    gpu = raw_samples(backfilled.url, "DCGM_FI_DEV_POWER_USAGE", 60, now_s)
    assert gpu == {
        'DCGM_FI_DEV_POWER_USAGE{UUID=GPU-1,modelName=NVIDIA "H100"}': as_ms(bench_series[2].samples)
    }


def test_hours_old_counter_keeps_its_exporter_name(
    backfilled: PrometheusServer, bench_series: list[SeriesSamples], now_s: float
) -> None:
    at_s = now_s - 5 * 3600 + 60
    got = raw_samples(backfilled.url, "scaph_host_energy_microjoules", 120, at_s)
    assert got == {"scaph_host_energy_microjoules{instance=gpu-1:8080}": as_ms(bench_series[1].samples)}


def test_the_at_modifier_selects_only_the_window(
    backfilled: PrometheusServer, bench_series: list[SeriesSamples], now_s: float
) -> None:
    # Prometheus 2.x closes the range at both ends: samples at exactly t - w and t are included
    # (Prometheus 3 excludes t - w). The GPU series has a sample on each whole second before now_s.
    at_s = now_s - 15
    expected = [s for s in as_ms(bench_series[2].samples) if (at_s - 10) * 1000 <= s[0] <= at_s * 1000]
    got = raw_samples(backfilled.url, "DCGM_FI_DEV_POWER_USAGE", 10, at_s)
    assert list(got.values()) == [expected] and len(expected) == 11
    assert expected[0][0] == round((at_s - 10) * 1000) and expected[-1][0] == round(at_s * 1000)


def test_restart_keeps_the_data_and_the_port(
    prometheus_factory: Callable[..., PrometheusServer], now_s: float
) -> None:
    samples = [(now_s - 100 + i * 0.5, float(i)) for i in range(50)]
    server = prometheus_factory(openmetrics_text([SeriesSamples("restart_probe", "gauge", {}, samples)]))
    before = raw_samples(server.url, "restart_probe", 120, now_s)
    port, pid = server.port, server.pid
    server.restart()
    assert server.port == port and server.pid != pid
    assert (
        raw_samples(server.url, "restart_probe", 120, now_s) == before == {"restart_probe{}": as_ms(samples)}
    )
    server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/-/ready", timeout=2)
    server.start()
    assert raw_samples(server.url, "restart_probe", 120, now_s) == before


def test_backfill_into_a_running_server(
    prometheus_factory: Callable[..., PrometheusServer], now_s: float
) -> None:
    server = prometheus_factory()
    assert raw_samples(server.url, "late_probe", 60, now_s) == {}
    server.backfill([SeriesSamples("late_probe", "gauge", {"k": "v"}, [(now_s - 10, 1.0), (now_s - 5, 2.0)])])
    assert server.running
    assert raw_samples(server.url, "late_probe", 60, now_s) == {
        "late_probe{k=v}": [(round((now_s - 10) * 1000), 1.0), (round((now_s - 5) * 1000), 2.0)]
    }


class _Exporter(http.server.BaseHTTPRequestHandler):
    body = b'# TYPE sim_power_watts gauge\nsim_power_watts{gpu="0"} 123.5\n'

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture()
def exporter() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Exporter)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_scrapes_a_live_target(prometheus_factory: Callable[..., PrometheusServer], exporter: str) -> None:
    server = prometheus_factory(scrape_config=static_scrape_config("sim", [exporter], scrape_interval_s=1))

    def scraped() -> bool:
        response = httpx.get(f"{server.url}/api/v1/query", params={"query": "sim_power_watts"}, timeout=2)
        return bool(response.json()["data"]["result"])

    wait_until_ready(scraped, 20, name="first scrape")
    result = httpx.get(f"{server.url}/api/v1/query", params={"query": "sim_power_watts"}).json()["data"][
        "result"
    ]
    assert [(r["metric"], r["value"][1]) for r in result] == [
        ({"__name__": "sim_power_watts", "gpu": "0", "instance": exporter, "job": "sim"}, "123.5")
    ]
    # scraped samples live in the head block and its write-ahead log: a restart keeps them
    at_s = time.time()
    before = raw_samples(server.url, "sim_power_watts", 60, at_s)
    server.restart()
    assert raw_samples(server.url, "sim_power_watts", 60, at_s) == before
    assert {v for samples in before.values() for _, v in samples} == {123.5}


def test_a_bad_config_fails_with_the_servers_own_words(tmp_path: Path) -> None:
    server = PrometheusServer(scrape_config="- job_name: x\n  scrape_interval: soon\n", workdir=tmp_path)
    with pytest.raises(ServiceError) as info:
        server.start()
    assert "prometheus exited with status" in str(info.value)
    assert "soon" in str(info.value)  # Prometheus's own message about the bad duration
    assert not server.running


def test_promtool_refusals_are_reported(tmp_path: Path) -> None:
    server = PrometheusServer(workdir=tmp_path)
    with pytest.raises(ServiceError, match="must end with a '# EOF'"):
        server.backfill("# TYPE a gauge\na 1 100\n")
    with pytest.raises(ServiceError, match="promtool refused the backfill data:\n.*"):
        server.backfill("# TYPE a gauge\na one 100\n# EOF\n")


def test_missing_binaries_come_with_an_install_hint(tmp_path: Path) -> None:
    with pytest.raises(ServiceError, match="prometheus and promtool not found.*apt-get install prometheus"):
        find_prometheus_binaries(search_path=str(tmp_path))


def test_scrape_config_must_be_a_list(tmp_path: Path) -> None:
    with pytest.raises(ServiceError, match="YAML list"):
        PrometheusServer(scrape_config="job_name: x", workdir=tmp_path)


def test_a_port_taken_meanwhile_is_replaced(tmp_path: Path) -> None:
    server = PrometheusServer(workdir=tmp_path)
    taken = server.port
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", taken))
        blocker.listen()
        try:
            server.start()
            assert server.port != taken
            assert httpx.get(f"{server.url}/-/ready", timeout=5).status_code == 200
        finally:
            server.stop()


def test_a_fixed_port_in_use_is_an_error(tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        server = PrometheusServer(workdir=tmp_path, port=blocker.getsockname()[1])
        with pytest.raises(ServiceError, match="address already in use"):
            server.start()


def test_a_relative_workdir_works_from_any_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the demo passes workdirs relative to where it was started; the server runs inside its workdir
    monkeypatch.chdir(tmp_path)
    with PrometheusServer(workdir=Path("demo") / "prometheus") as server:
        assert server.workdir.is_absolute()
        assert httpx.get(f"{server.url}/-/ready", timeout=5).status_code == 200
