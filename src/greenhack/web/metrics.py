"""``/metrics`` in the Prometheus text format: evaluations by status, queue length and evaluation durations
(read from the database at scrape time, so every worker's work counts), and this server's request durations.

Request labels come from a fixed set, so no visitor can grow the number of series: the method is one of
:data:`HTTP_METHODS` or ``other`` (a client may send any token as a method), the route is the matched route's
template (``/api/v1/submissions/{submission_id}``, never the path itself) or ``unmatched``, and the status is the
code the app chose.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from greenhack.store import queries
from greenhack.store.db import SessionFactory, transaction
from greenhack.store.models import Submission

__all__ = ["DURATION_BUCKETS_S", "HTTP_METHODS", "RequestTimer", "StoreCollector", "build_registry"]

DURATION_BUCKETS_S = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)

# RFC 9110's methods; any other token (methods are case-sensitive) is labelled "other"
HTTP_METHODS: frozenset[str] = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)


class StoreCollector(Collector):
    """Evaluation figures, read from the database at each scrape."""

    def __init__(self, sessions: SessionFactory, event_id: int) -> None:
        self._sessions = sessions
        self._event_id = event_id

    def collect(self) -> Iterator[GaugeMetricFamily | HistogramMetricFamily]:
        with transaction(self._sessions, "collecting metrics") as session:
            counts = queries.status_counts(session=session, event_id=self._event_id)
            le_columns = [
                sa.func.sum(sa.case((Submission.evaluation_duration_s <= le, 1), else_=0))
                for le in DURATION_BUCKETS_S
            ]
            row = session.execute(
                sa.select(
                    sa.func.count(Submission.evaluation_duration_s),
                    sa.func.coalesce(sa.func.sum(Submission.evaluation_duration_s), 0.0),
                    *le_columns,
                ).where(Submission.event_id == self._event_id)
            ).one()
        by_status = GaugeMetricFamily(
            "greenhack_evaluations", "Evaluations (submissions) by status.", labels=["status"]
        )
        for status, n in counts.items():
            by_status.add_metric([status], n)
        yield by_status
        yield GaugeMetricFamily(
            "greenhack_queue_length",
            "Evaluations waiting for or held by a worker (queued + measuring).",
            value=counts["queued"] + counts["measuring"],
        )
        count, total = int(row[0]), float(row[1])
        buckets = [(str(le), int(n or 0)) for le, n in zip(DURATION_BUCKETS_S, row[2:], strict=True)]
        buckets.append(("+Inf", count))
        yield HistogramMetricFamily(
            "greenhack_evaluation_duration_seconds",
            "Time from a worker's claim to the evaluation's final status, in seconds.",
            buckets=buckets,
            sum_value=total,
        )


def build_registry(sessions: SessionFactory, event_id: int) -> tuple[CollectorRegistry, Histogram]:
    """A registry of its own per app (no global default registry), and the request-duration histogram."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(StoreCollector(sessions, event_id))
    requests = Histogram(
        "greenhack_http_request_duration_seconds",
        "Duration of HTTP requests served by the board, in seconds.",
        labelnames=["method", "route", "status"],
        registry=registry,
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
    )
    return registry, requests


class RequestTimer:
    """ASGI middleware observing each HTTP request's duration by method, route template and status."""

    def __init__(self, app: ASGIApp, histogram: Histogram) -> None:
        self._app = app
        self._histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self._app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            path = str(getattr(route, "path", "unmatched")) if route is not None else "unmatched"
            method = scope["method"] if scope["method"] in HTTP_METHODS else "other"
            self._histogram.labels(method, path, str(status)).observe(time.perf_counter() - started)
