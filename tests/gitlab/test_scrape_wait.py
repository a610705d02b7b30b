"""The scrape wait: a worker measures as soon as every live exporter holds the samples past the end that the
estimators use (SAMPLES_PAST_END), and no later."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from greenhack.config import EventConfig, load_event
from greenhack.errors import TelemetryNotReady
from greenhack.evaluation import JobWindow, wait_for_scrape
from greenhack.telemetry import SAMPLES_PAST_END, ready_margin

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "event.yaml"
END = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
INTERVAL_S = 5.0


@dataclass
class Exporters:
    """Two exporters scraped every 5 s at their own phase; ``clock_s`` is the time past END; ``dead`` ones
    stopped 30 s before END."""

    phase_s: dict[str, float]
    dead: set[str] = field(default_factory=set)
    clock_s: float = 0.0

    def latest_sample_time(self, selector_metric: str) -> datetime | None:
        key = "gpu" if ":9835" in selector_metric else "cpu"
        now_s = -30.0 if key in self.dead else self.clock_s
        phase = self.phase_s[key]
        return END + timedelta(seconds=phase + INTERVAL_S * ((now_s - phase) // INTERVAL_S))


@dataclass
class Ctx:
    config: EventConfig
    telemetry: Exporters
    scrape_wait_s: float = 60.0
    scrape_deadline_s: float = 600.0
    slept: list[float] = field(default_factory=list)

    def now(self) -> datetime:
        return END + timedelta(seconds=self.telemetry.clock_s)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.telemetry.clock_s += seconds


@pytest.fixture(scope="module")
def config() -> EventConfig:
    return load_event(EXAMPLE)


def _window(config: EventConfig) -> JobWindow:
    server = config.servers[0]
    assert server.gpu is not None
    return JobWindow(job=None, server=server, start=END - timedelta(minutes=2), end=END)  # type: ignore[arg-type]


def test_the_wait_ends_at_the_samples_the_estimator_uses_from_the_slower_exporter(
    config: EventConfig,
) -> None:
    assert SAMPLES_PAST_END == 2 and ready_margin(timedelta(seconds=5)) == timedelta(seconds=5)
    exporters = Exporters({"cpu": 0.5, "gpu": 3.5})
    ctx = Ctx(config, exporters)
    wait_for_scrape(_window(config), ctx)  # type: ignore[arg-type]
    # the GPU exporter's second sample past the end is at +8.5 s (its first at +3.5 s); the CPU's at +5.5 s
    waited_s = exporters.clock_s
    assert 8.5 <= waited_s < 8.5 + INTERVAL_S
    assert waited_s < 3 * INTERVAL_S + 1  # the former wait (3 intervals + 1 s past the newest)


def test_a_dead_exporter_is_not_waited_for(config: EventConfig) -> None:
    exporters = Exporters({"cpu": 0.5, "gpu": 3.5}, dead={"gpu"})
    ctx = Ctx(config, exporters)
    wait_for_scrape(_window(config), ctx)  # type: ignore[arg-type]
    assert exporters.clock_s < 5.5 + INTERVAL_S


def test_not_ready_within_the_attempt_raises_for_a_retry(config: EventConfig) -> None:
    exporters = Exporters({"cpu": 0.5, "gpu": 3.5}, clock_s=-120.0)
    ctx = Ctx(config, exporters, scrape_wait_s=20.0)
    with pytest.raises(TelemetryNotReady, match="has not scraped"):
        wait_for_scrape(_window(config), ctx)  # type: ignore[arg-type]
