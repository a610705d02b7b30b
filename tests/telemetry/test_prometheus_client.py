"""PrometheusClient's edges (MockTransport): queries it sends, answers it parses, errors it translates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from greenhack.errors import PrometheusUnavailable, TelemetryError
from greenhack.services.ports import free_port
from greenhack.telemetry import PrometheusClient

START = datetime(2026, 12, 1, 10, 0, 0, 250_000, tzinfo=UTC)
T0 = START.timestamp()


def client_for(handler: httpx.MockTransport) -> PrometheusClient:
    return PrometheusClient("http://prom.test:9090/", client=httpx.Client(transport=handler))


def test_raw_samples_sends_a_range_selector_at_the_end_and_keeps_timestamps() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"status": "success", "data": {"resultType": "matrix", "result": [
            {"metric": {"__name__": "scaph_host_power_microwatts", "instance": "gpu-1:8080"},
             "values": [[T0 - 0.35, "1000"], [T0 + 4.653, "2000"], [T0 + 30.5, "3000"], [T0 + 100.0, "9"]]},
        ]}})

    client = client_for(httpx.MockTransport(handle))
    series = client.raw_samples('scaph_host_power_microwatts{instance="gpu-1:8080"}', start=START,
                                end=START + timedelta(seconds=30.5))
    (request,) = seen
    assert request.url.path == "/api/v1/query"
    assert request.url.params["query"] == (
        'scaph_host_power_microwatts{instance="gpu-1:8080"}[30500ms] @ ' + f"{T0 + 30.5:.3f}"
    )
    assert request.url.params["time"] == f"{T0 + 30.5:.3f}"  # VictoriaMetrics reads only time=
    (only,) = series
    assert only.metric == "scaph_host_power_microwatts" and only.labels == {"instance": "gpu-1:8080"}
    # a sample outside [start, end] that a store might add is dropped; the others keep their own timestamps
    assert [(s.t_s, s.value) for s in only.samples] == [(T0 + 4.653, 2000.0), (T0 + 30.5, 3000.0)]


def test_latest_sample_time_is_the_newest_timestamp() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        assert request.url.params["query"] == 'timestamp(scaph_host_power_microwatts{instance="a"})'
        return httpx.Response(200, json={"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"instance": "a"}, "value": [1764583300.0, "1764583297.125"]},
            {"metric": {"instance": "a", "x": "y"}, "value": [1764583300.0, "1764583290"]},
        ]}})

    client = client_for(httpx.MockTransport(handle))
    latest = client.latest_sample_time('scaph_host_power_microwatts{instance="a"}')
    assert latest == datetime.fromtimestamp(1764583297.125, tz=UTC)


def test_no_recent_sample_gives_none() -> None:
    client = client_for(httpx.MockTransport(lambda r: httpx.Response(
        200, json={"status": "success", "data": {"resultType": "vector", "result": []}})))
    assert client.latest_sample_time("up") is None


@pytest.mark.parametrize(
    "response",
    [httpx.Response(500, text="boom"), httpx.Response(503, text="Service Unavailable")],
)
def test_server_errors_are_unavailable(response: httpx.Response) -> None:
    client = client_for(httpx.MockTransport(lambda r: response))
    with pytest.raises(PrometheusUnavailable) as info:
        client.query("up")
    assert info.value.url == "http://prom.test:9090"


def test_a_timeout_is_unavailable() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(PrometheusUnavailable, match="timed out"):
        client_for(httpx.MockTransport(handle)).query("up")


def test_a_refused_query_is_a_telemetry_error_with_prometheus_message() -> None:
    client = client_for(httpx.MockTransport(lambda r: httpx.Response(
        400, json={"status": "error", "errorType": "bad_data", "error": "1:5: parse error: unexpected"})))
    with pytest.raises(TelemetryError, match="parse error") as info:
        client.query("up{{")
    assert not isinstance(info.value, PrometheusUnavailable)


def test_not_json_is_a_telemetry_error() -> None:
    client = client_for(httpx.MockTransport(lambda r: httpx.Response(200, text="<html>proxy</html>")))
    with pytest.raises(TelemetryError, match="not JSON"):
        client.query("up")


def test_a_closed_port_is_unavailable() -> None:
    with (
        PrometheusClient(f"http://127.0.0.1:{free_port()}", timeout_s=2.0) as client,
        pytest.raises(PrometheusUnavailable, match="unreachable"),
    ):
        client.query("up")


def test_naive_times_are_refused() -> None:
    client = client_for(httpx.MockTransport(lambda r: httpx.Response(500)))
    with pytest.raises(TelemetryError, match="no UTC offset"):
        client.raw_samples("up", start=datetime(2026, 1, 1), end=datetime(2026, 1, 2))
