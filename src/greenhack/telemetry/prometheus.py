"""A small client of the Prometheus HTTP API (``/api/v1/query``, ``/api/v1/query_range``) on httpx.

Raw samples are fetched with their own timestamps through a range selector at a fixed evaluation time,
``metric{...}[Wms] @ T``, never through ``increase()`` or ``rate()``, which extrapolate at the window edges.
httpx errors are translated here: no answer, a timeout or a 5xx is :class:`PrometheusUnavailable`; a refused
query is :class:`TelemetryError`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

import httpx

from greenhack.errors import PrometheusUnavailable, TelemetryError
from greenhack.telemetry.models import Sample, SampleSeries

__all__ = ["PrometheusClient", "to_unix_s"]


def to_unix_s(moment: datetime) -> float:
    """Unix seconds of an aware datetime (a naive one is refused: its offset would be a guess)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise TelemetryError(f"time {moment.isoformat()} has no UTC offset")
    return moment.timestamp()


def _format_ts(t_s: float) -> str:
    return f"{t_s:.3f}"


class PrometheusClient:
    """Reads raw samples from one Prometheus (or an API-compatible store such as VictoriaMetrics).

    Args:
        base_url: the server's address, e.g. ``http://127.0.0.1:9090`` (a path prefix is kept).
        client: an httpx.Client to use (tests pass one with a MockTransport); by default one is created and
            owned by this object.
        timeout_s: timeout of each request in seconds, when the client is created here.
    """

    def __init__(self, base_url: str, *, client: httpx.Client | None = None, timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=timeout_s)

    def close(self) -> None:
        """Close the underlying httpx client when this object created it."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- HTTP --------------------------------------------------------------------------------------------------

    def _get(self, path: str, params: dict[str, str]) -> Any:
        url = f"{self.base_url}{path}"
        try:
            response = self._client.get(url, params=params)
        except httpx.TimeoutException as exc:
            raise PrometheusUnavailable(f"Prometheus at {self.base_url} timed out", url=self.base_url) from exc
        except httpx.HTTPError as exc:
            raise PrometheusUnavailable(
                f"Prometheus at {self.base_url} is unreachable: {exc}", url=self.base_url
            ) from exc
        if response.status_code >= 500:
            raise PrometheusUnavailable(
                f"Prometheus at {self.base_url} answered HTTP {response.status_code}", url=self.base_url
            )
        try:
            body = response.json()
        except ValueError as exc:
            if response.status_code >= 400:
                raise TelemetryError(
                    f"Prometheus refused the query (HTTP {response.status_code}): {response.text[:200]}"
                ) from exc
            raise TelemetryError(f"Prometheus at {self.base_url} answered something that is not JSON") from exc
        if not isinstance(body, dict) or body.get("status") != "success":
            message = body.get("error", "unknown error") if isinstance(body, dict) else "unknown error"
            raise TelemetryError(f"Prometheus refused {params.get('query', '')!r}: {message}")
        return body.get("data")

    # -- queries -----------------------------------------------------------------------------------------------

    def query(self, promql: str, *, at: datetime | None = None) -> list[SampleSeries]:
        """Evaluate an instant query; each series carries its samples (one for a vector, many for a matrix).

        Values are returned as Prometheus stores them (the exporter's units).
        """
        params = {"query": promql}
        if at is not None:
            params["time"] = _format_ts(to_unix_s(at))
        return list(self._parse(self._get("/api/v1/query", params), promql))

    def query_range(
        self, promql: str, *, start: datetime, end: datetime, step: timedelta
    ) -> list[SampleSeries]:
        """Evaluate a range query (the resampled grid Grafana uses), in the exporter's units."""
        params = {
            "query": promql,
            "start": _format_ts(to_unix_s(start)),
            "end": _format_ts(to_unix_s(end)),
            "step": f"{step.total_seconds():g}",
        }
        return list(self._parse(self._get("/api/v1/query_range", params), promql))

    def raw_samples(self, selector: str, *, start: datetime, end: datetime) -> list[SampleSeries]:
        """Every stored sample of the series matching ``selector`` with a timestamp in [start, end].

        Uses ``selector[W] @ end`` so each sample keeps its own scrape timestamp, and also evaluates the query at
        ``end`` (``time=``): VictoriaMetrics ignores ``@`` on a bare range selector and reads only ``time``.
        """
        start_s, end_s = to_unix_s(start), to_unix_s(end)
        if end_s <= start_s:
            raise TelemetryError("raw_samples needs start < end")
        width_ms = max(1, math.ceil((end_s - start_s) * 1000))
        promql = f"{selector}[{width_ms}ms] @ {_format_ts(end_s)}"
        return [
            SampleSeries(s.metric, s.labels, tuple(x for x in s.samples if start_s - 1e-3 <= x.t_s <= end_s + 1e-3))
            for s in self.query(promql, at=end)
        ]

    def latest_sample_time(self, selector_metric: str) -> datetime | None:
        """The newest scrape timestamp among the series matching ``selector_metric`` (within Prometheus's 5 min
        look-back), or None when no such series has a recent sample."""
        series = self.query(f"timestamp({selector_metric})")
        times = [x.value for s in series for x in s.samples]
        if not times:
            return None
        return datetime.fromtimestamp(max(times), tz=UTC)

    # -- parsing -----------------------------------------------------------------------------------------------

    @staticmethod
    def _parse(data: Any, promql: str) -> Iterator[SampleSeries]:
        if not isinstance(data, dict):
            raise TelemetryError(f"unexpected Prometheus answer to {promql!r}")
        kind, result = data.get("resultType"), data.get("result")
        if kind == "scalar" and isinstance(result, list):
            yield SampleSeries("", {}, (Sample(float(result[0]), float(result[1])),))
            return
        if kind not in ("vector", "matrix") or not isinstance(result, list):
            raise TelemetryError(f"unexpected Prometheus result type {kind!r} for {promql!r}")
        for item in result:
            labels = dict(item.get("metric", {}))
            name = labels.pop("__name__", "")
            raw = item.get("values") if kind == "matrix" else [item.get("value")]
            samples = tuple(sorted(Sample(float(t), float(v)) for t, v in (raw or [])))
            yield SampleSeries(name, labels, samples)
