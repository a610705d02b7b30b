"""Write typed samples as OpenMetrics text for ``promtool tsdb create-blocks-from openmetrics``.

What promtool 2.42 does with the text (checked against the real binary):

- Timestamps are seconds with up to three decimals; they are stored in milliseconds exactly as written. This module
  writes every timestamp as ``<seconds>.<milliseconds>`` from an integer, so no float rounding creeps in.
- Within one series, a sample whose timestamp is not after the previous one is dropped *silently*. This module
  therefore sorts each series by time and refuses two samples on the same millisecond.
- The text must end with ``# EOF``.
- The Prometheus series name is the sample name exactly as written; promtool keeps no ``# TYPE`` metadata in the
  blocks. OpenMetrics, however, says a ``counter`` family ``X`` exposes its samples as ``X_total``. Real exporters
  break that rule in the Prometheus text format: Scaphandre's ``scaph_host_energy_microjoules`` and dcgm-exporter's
  ``DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION`` are counters without ``_total``. To keep the series name exactly as the
  exporter writes it *and* write valid OpenMetrics, a counter whose name ends in ``_total`` is declared as family
  ``X`` of type ``counter`` with samples ``X_total``, and a counter without the suffix is declared ``unknown``
  (a type whose samples carry the family name unchanged). PromQL never sees the difference.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from greenhack.errors import ServiceError

__all__ = ["MetricKind", "SeriesSamples", "openmetrics_text"]

MetricKind = Literal["gauge", "counter"]

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


@dataclass(frozen=True)
class SeriesSamples:
    """One time series to backfill.

    Attributes:
        name: the series name exactly as the exporter exposes it (e.g. ``scaph_host_power_microwatts``).
        kind: ``gauge`` or ``counter`` (see the module notes on how counters are declared).
        labels: label names to values, without ``__name__``.
        samples: ``(timestamp_s, value)`` pairs; timestamps in Unix seconds (millisecond precision is kept),
            in any order.
    """

    name: str
    kind: MetricKind
    labels: Mapping[str, str] = field(default_factory=dict)
    samples: Sequence[tuple[float, float]] = ()


def _escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def _format_timestamp(timestamp_ms: int) -> str:
    seconds, millis = divmod(timestamp_ms, 1000)
    return f"{seconds}.{millis:03d}"


def _family(series: SeriesSamples) -> tuple[str, str]:
    """The OpenMetrics family name and type that keep ``series.name`` as the sample name."""
    if series.kind == "gauge":
        return series.name, "gauge"
    if series.kind == "counter":
        if series.name.endswith("_total") and len(series.name) > len("_total"):
            return series.name[: -len("_total")], "counter"
        return series.name, "unknown"
    raise ServiceError(f"series {series.name!r}: kind must be 'gauge' or 'counter', not {series.kind!r}")


def _label_block(series: SeriesSamples) -> str:
    for label in series.labels:
        if not _LABEL_NAME.fullmatch(label) or label.startswith("__"):
            raise ServiceError(
                f"series {series.name!r}: label name {label!r} is not a valid Prometheus label"
            )
    if not series.labels:
        return ""
    pairs = ",".join(f'{k}="{_escape_label_value(v)}"' for k, v in sorted(series.labels.items()))
    return "{" + pairs + "}"


def _sample_lines(series: SeriesSamples, label_block: str) -> list[str]:
    if not series.samples:
        raise ServiceError(f"series {series.name}{label_block} has no samples")
    by_ms: dict[int, float] = {}
    for timestamp_s, value in series.samples:
        if not math.isfinite(timestamp_s):
            raise ServiceError(f"series {series.name}{label_block}: timestamp {timestamp_s!r} is not finite")
        timestamp_ms = round(timestamp_s * 1000)
        if timestamp_ms in by_ms:
            raise ServiceError(
                f"series {series.name}{label_block}: two samples at {_format_timestamp(timestamp_ms)} s "
                "(promtool would silently keep only the first)"
            )
        by_ms[timestamp_ms] = value
    return [
        f"{series.name}{label_block} {_format_value(by_ms[ms])} {_format_timestamp(ms)}"
        for ms in sorted(by_ms)
    ]


def openmetrics_text(series: Sequence[SeriesSamples]) -> str:
    """Render series as OpenMetrics text ending in ``# EOF``, ready for promtool's backfill.

    Series of one family are written together under one ``# TYPE`` line; each series's samples in time order.

    Raises:
        ServiceError: a name or label is not valid for Prometheus, a series has no samples or two samples on the
            same millisecond, the same series (name and labels) is given twice, or two series map to one
            OpenMetrics family with different types (e.g. a gauge ``x`` and a counter ``x_total``).
    """
    families: dict[str, tuple[str, list[str]]] = {}
    seen: set[tuple[str, str]] = set()
    for one in series:
        if not _METRIC_NAME.fullmatch(one.name):
            raise ServiceError(f"{one.name!r} is not a valid Prometheus metric name")
        family, type_ = _family(one)
        labels = _label_block(one)
        if (one.name, labels) in seen:
            raise ServiceError(f"series {one.name}{labels} is given twice; give all its samples in one")
        seen.add((one.name, labels))
        declared, lines = families.setdefault(family, (type_, []))
        if declared != type_:
            raise ServiceError(
                f"series {one.name!r} would be declared {type_!r} in OpenMetrics family {family!r}, "
                f"which another series already declares {declared!r}"
            )
        lines.extend(_sample_lines(one, labels))
    out: list[str] = []
    for family, (type_, lines) in families.items():
        out.append(f"# TYPE {family} {type_}")
        out.extend(lines)
    out.append("# EOF")
    return "\n".join(out) + "\n"
