"""OpenMetrics text for promtool: exact names, exact millisecond timestamps, refusals with reasons."""

from __future__ import annotations

import math

import pytest

from greenhack.errors import ServiceError
from greenhack.services.openmetrics import SeriesSamples, openmetrics_text


def test_counters_keep_the_exporters_names() -> None:
    text = openmetrics_text(
        [
            SeriesSamples("scaph_host_energy_microjoules", "counter", {}, [(100, 5.0)]),
            SeriesSamples("nvidia_smi_energy_joules_total", "counter", {"uuid": "abc"}, [(100, 1.5)]),
            SeriesSamples("DCGM_FI_DEV_POWER_USAGE", "gauge", {"gpu": "0"}, [(100, 250.0)]),
        ]
    )
    assert text == (
        "# TYPE scaph_host_energy_microjoules unknown\n"
        "scaph_host_energy_microjoules 5.0 100.000\n"
        "# TYPE nvidia_smi_energy_joules counter\n"
        'nvidia_smi_energy_joules_total{uuid="abc"} 1.5 100.000\n'
        "# TYPE DCGM_FI_DEV_POWER_USAGE gauge\n"
        'DCGM_FI_DEV_POWER_USAGE{gpu="0"} 250.0 100.000\n'
        "# EOF\n"
    )


def test_samples_are_sorted_and_timestamps_written_to_the_millisecond() -> None:
    text = openmetrics_text(
        [
            SeriesSamples(
                "g", "gauge", {}, [(1_700_000_002.1234, 2.0), (1_700_000_001.001, 0.1), (5.5, math.nan)]
            )
        ]
    )
    assert text.splitlines()[1:4] == ["g NaN 5.500", "g 0.1 1700000001.001", "g 2.0 1700000002.123"]


def test_series_of_one_family_are_grouped_and_labels_escaped() -> None:
    text = openmetrics_text(
        [
            SeriesSamples("p", "gauge", {"a": "1"}, [(1, 1.0)]),
            SeriesSamples("q", "gauge", {}, [(1, math.inf)]),
            SeriesSamples("p", "gauge", {"a": 'x"y\\z\nw'}, [(1, -math.inf)]),
        ]
    )
    assert text.splitlines() == [
        "# TYPE p gauge",
        'p{a="1"} 1.0 1.000',
        'p{a="x\\"y\\\\z\\nw"} -Inf 1.000',
        "# TYPE q gauge",
        "q +Inf 1.000",
        "# EOF",
    ]


@pytest.mark.parametrize(
    ("series", "message"),
    [
        ([SeriesSamples("bad-name", "gauge", {}, [(1, 1)])], "not a valid Prometheus metric name"),
        ([SeriesSamples("g", "gauge", {"__x": "1"}, [(1, 1)])], "not a valid Prometheus label"),
        ([SeriesSamples("g", "gauge", {"1a": "1"}, [(1, 1)])], "not a valid Prometheus label"),
        ([SeriesSamples("g", "gauge", {}, [])], "has no samples"),
        ([SeriesSamples("g", "gauge", {}, [(1.0001, 1), (1.0002, 2)])], "two samples at 1.000 s"),
        ([SeriesSamples("g", "gauge", {}, [(math.nan, 1)])], "not finite"),
        (
            [
                SeriesSamples("g", "gauge", {"a": "1"}, [(1, 1)]),
                SeriesSamples("g", "gauge", {"a": "1"}, [(2, 1)]),
            ],
            "given twice",
        ),
        (
            [SeriesSamples("x", "gauge", {}, [(1, 1)]), SeriesSamples("x_total", "counter", {}, [(1, 1)])],
            "already declares 'gauge'",
        ),
        ([SeriesSamples("x", "histogram", {}, [(1, 1)])], "kind must be"),  # type: ignore[arg-type]
    ],
)
def test_bad_series_are_refused_with_the_reason(series: list[SeriesSamples], message: str) -> None:
    with pytest.raises(ServiceError, match=message):
        openmetrics_text(series)
