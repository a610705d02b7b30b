"""The Pareto chart people read (issue 18): every point named and linked, a legend, ticks in readable units that
are never cut off, error bars when intervals are given; one unit per axis."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from greenhack.store.views import ParetoPoint
from greenhack.web.charts import WIDTH, ChartPoint, chart_point, pareto_chart, timeline_chart

SVG = "{http://www.w3.org/2000/svg}"


def _point(i: int, impact: float, perf: float, *, front: bool, name: str | None = None) -> ParetoPoint:
    return ParetoPoint(
        submission_id=100 + i,
        team_id=i,
        team_name=name or f"team {i}",
        performance=perf,
        impact_total=impact,
        impact_min=impact * 0.8,
        impact_max=impact * 1.2,
        pareto=front,
    )


def _texts(svg: str) -> list[ET.Element]:
    return list(ET.fromstring(svg).iter(f"{SVG}text"))


def _tick_labels(svg: str) -> list[str]:
    return [t.text or "" for t in _texts(svg) if "class" not in t.attrib]


def test_every_point_is_named_and_linked_to_its_submission() -> None:
    points = [_point(i, 1e-3 * (i + 1), 0.7 + 0.02 * i, front=i % 3 == 0, name=f"Les Éclairs <{i}>") for i in range(9)]
    svg = str(pareto_chart(points, metric="accuracy", higher_is_better=True, impact_label="gwp", impact_unit="kgCO2e"))
    root = ET.fromstring(svg)  # well-formed, names escaped
    links = list(root.iter(f"{SVG}a"))
    assert len(links) == 9
    for link, point in zip(sorted(links, key=lambda a: a.attrib["href"]), points, strict=True):
        assert link.attrib["href"] == f"/submissions/{point.submission_id}"
        circle = link.find(f"{SVG}circle")
        assert circle is not None and circle.attrib["data-submission"] == str(point.submission_id)
        title = circle.find(f"{SVG}title")
        assert title is not None and point.team_name in (title.text or "")
        assert f"submission {point.submission_id}" in (title.text or "")
        assert ("on the Pareto front" in (title.text or "")) == point.pareto
    # the front's points also carry a visible label; the legend says what the marks mean
    labels = [t.text for t in root.iter(f"{SVG}text") if t.attrib.get("class") == "point-label"]
    assert labels and set(labels) <= {p.team_name for p in points if p.pareto}
    legend = [t.text for t in root.iter(f"{SVG}text") if t.attrib.get("class") == "legend"]
    assert legend[:2] == ["Pareto front", "behind the front"] and "front line" in legend


def test_log_ticks_name_their_unit_and_never_use_exponents() -> None:
    # 5 µg to 5 mg of CO2e: several decades, so a log axis
    points = [_point(0, 5e-9, 0.8, front=True), _point(1, 4e-7, 0.9, front=True), _point(2, 5e-6, 0.95, front=True)]
    svg = str(pareto_chart(points, metric="accuracy", higher_is_better=True, impact_label="gwp (kgCO2e)"))
    ticks = _tick_labels(svg)
    assert not [t for t in ticks if re.search(r"\de[-+]?\d", t)], ticks
    assert {"10 µg", "100 µg", "1 mg"} <= set(ticks)
    axis = [t.text for t in _texts(svg) if t.attrib.get("class") == "axis-label"]
    assert axis[0] == "gwp in CO2e (log scale): lower is better"


def test_linear_axis_writes_one_unit_picked_from_the_values() -> None:
    # 0.9 to 2.6 gCO2e: the axis is in mgCO2e (no tick reads 0.00x), named once in its label
    points = [_point(i, v, 0.8 + i / 100, front=True) for i, v in enumerate((0.9e-3, 1.7e-3, 2.6e-3))]
    svg = str(pareto_chart(points, metric="accuracy", higher_is_better=True, impact_label="gwp (kgCO2e)"))
    axis = [t.text for t in _texts(svg) if t.attrib.get("class") == "axis-label"]
    assert axis[0] == "gwp (mgCO2e): lower is better"
    x_ticks = [t.text or "" for t in _texts(svg) if "class" not in t.attrib and float(t.attrib["y"]) > 340]
    assert x_ticks and all(re.fullmatch(r"\d+", t) for t in x_ticks), x_ticks
    title = ET.fromstring(svg).find(f".//{SVG}circle/{SVG}title")
    assert title is not None and "900 mgCO2e" in (title.text or "")


def test_tick_labels_stay_inside_the_chart() -> None:
    points = [_point(i, 10.0 ** (-9 + i), 0.5 + i / 20, front=True, name="a very long team name indeed") for i in range(8)]
    svg = str(pareto_chart(points, metric="balanced_accuracy", higher_is_better=True, impact_label="gwp (kgCO2e)"))
    for text in _texts(svg):
        if "transform" in text.attrib:
            continue
        x, width = float(text.attrib["x"]), len(text.text or "") * 0.6 * 18
        anchor = text.attrib.get("text-anchor", "start")
        lo = x - width / 2 if anchor == "middle" else x - width if anchor == "end" else x
        hi = lo + width
        if text.attrib.get("class") in (None, "legend"):
            assert lo >= 0 and hi <= WIDTH + 1, (text.text, lo, hi)


def test_error_bars_drawn_when_intervals_are_given() -> None:
    plain = chart_point(_point(0, 1e-3, 0.8, front=True))
    barred = chart_point(
        _point(1, 2e-3, 0.9, front=True), impact_interval=(1.8e-3, 2.3e-3), performance_interval=(0.88, 0.91)
    )
    assert isinstance(barred, ChartPoint) and barred.impact_low == 1.8e-3
    svg = str(pareto_chart([plain, barred], metric="accuracy", higher_is_better=True, impact_label="gwp", impact_unit="kgCO2e"))
    bars = [p for p in ET.fromstring(svg).iter(f"{SVG}path") if p.attrib.get("class") == "error-bar"]
    assert [b.attrib["data-submission"] for b in bars] == ["101", "101"]
    assert "measurement interval" in svg
    without = str(pareto_chart([plain], metric="accuracy", higher_is_better=True, impact_label="gwp (kgCO2e)"))
    assert "error-bar" not in without


def test_chart_follows_the_width_of_the_page() -> None:
    svg = str(pareto_chart([_point(0, 1e-3, 0.8, front=True)], metric="accuracy", higher_is_better=True, impact_label="gwp (kgCO2e)"))
    root = ET.fromstring(svg)
    assert root.attrib["viewBox"] == f"0 0 {WIDTH} 400" and "width" not in root.attrib


@pytest.mark.parametrize(("duration_s", "words"), [(40.0, "seconds"), (600.0, "minutes")])
def test_timeline_axis_units(duration_s: float, words: str) -> None:
    from datetime import UTC, datetime, timedelta

    start = datetime(2026, 12, 1, tzinfo=UTC)
    points = [(start + timedelta(seconds=duration_s * k / 10), 150.0 + k) for k in range(11)]
    from greenhack.web.charts import TimelineSeries

    svg = str(timeline_chart([TimelineSeries("gpu", points)], start=start, end=start + timedelta(seconds=duration_s)))
    axis = [t.text for t in _texts(svg) if t.attrib.get("class") == "axis-label"]
    assert axis == [f"{words} since the job started", "power (W)"]
