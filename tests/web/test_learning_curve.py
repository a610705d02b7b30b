"""A team's learning curve (issue 19): its submissions over time, performance and the cumulative footprint of its
trial and error, every point named and linked to its submission, one unit per axis."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from greenhack.web.charts import WIDTH, LearningPoint, learning_curve_chart

SVG = "{http://www.w3.org/2000/svg}"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

# eight jobs 37 minutes apart: the third failed (no accuracy, yet it cost), the fifth is not measured yet
POINTS = [
    LearningPoint(
        submission_id=100 + i,
        submitted_at=T0 + timedelta(minutes=37 * i),
        performance=None if i == 2 else 0.6 + 0.03 * i - (0.05 if i == 6 else 0.0),
        footprint=None if i == 4 else 0.002 * (i + 1),
    )
    for i in range(8)
]


def _chart(points: list[LearningPoint] = POINTS, **kw: object) -> ET.Element:
    options: dict[str, object] = {
        "team_name": "Les <Éclairs>",
        "metric": "accuracy",
        "higher_is_better": True,
        "footprint_label": "gwp",
        "footprint_unit": "kgCO2e",
        **kw,
    }
    return ET.fromstring(str(learning_curve_chart(points, **options)))  # type: ignore[arg-type]


def _circles(root: ET.Element, css: str) -> list[ET.Element]:
    return [c for c in root.iter(f"{SVG}circle") if c.attrib.get("class") == css]


def _title(element: ET.Element) -> str:
    title = element.find(f"{SVG}title")
    assert title is not None and title.text
    return title.text


def test_every_submission_is_named_and_linked_on_both_panels() -> None:
    root = _chart()
    assert "Learning curve of Les <Éclairs>" in root.attrib["aria-label"]  # escaped in the markup, read back here
    links = list(root.iter(f"{SVG}a"))
    # each submission on the footprint panel (it cost), the scored ones also on the performance panel
    assert len(links) == 8 + 7
    for link in links:
        circle = link.find(f"{SVG}circle")
        assert circle is not None
        assert link.attrib["href"] == f"/submissions/{circle.attrib['data-submission']}"
        assert f"submission {circle.attrib['data-submission']} at 2026-12-01T" in _title(circle)
    scored = {c.attrib["data-submission"] for c in _circles(root, "point")}
    assert "102" not in scored and len(scored) == 7
    assert "no accuracy" in _title(next(c for c in _circles(root, "step") if c.attrib["data-submission"] == "102"))


def test_the_footprint_is_cumulative_in_one_unit() -> None:
    root = _chart()
    steps = _circles(root, "step")
    # 2 + 4 + 6 + 8 + (not measured) + 12 + 14 + 16 gCO2e
    assert _title(steps[-1]).endswith("this job 16 gCO2e; total so far 62 gCO2e")
    unmeasured = next(c for c in steps if c.attrib["data-submission"] == "104")
    assert "gwp not measured yet; total so far 20 gCO2e" in _title(unmeasured)
    assert unmeasured.attrib["fill"] == "#ffffff"  # drawn hollow
    axis = [t.text for t in root.iter(f"{SVG}text") if t.attrib.get("class") == "axis-label"]
    assert axis == ["accuracy", "gwp (gCO2e)", "hours since the first submission"]
    # the cumulative line rises at each measured job and never falls
    line = next(p for p in root.iter(f"{SVG}polyline") if p.attrib.get("class") == "total")
    ys = [float(xy.split(",")[1]) for xy in line.attrib["points"].split()]
    assert all(b <= a for a, b in zip(ys, ys[1:], strict=False))
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    assert not [t for t in texts if re.search(r"\de[-+]?\d", t)]


def test_the_best_so_far_follows_the_metrics_direction() -> None:
    def best_ys(root: ET.Element) -> list[float]:
        line = next(p for p in root.iter(f"{SVG}polyline") if p.attrib.get("class") == "best")
        return [float(xy.split(",")[1]) for xy in line.attrib["points"].split()]

    # higher is better: the line only climbs (smaller y), the dip of submission 106 does not pull it down
    up = best_ys(_chart())
    assert all(b <= a for a, b in zip(up, up[1:], strict=False))
    errors = [
        LearningPoint(1, T0, 0.5, 1e-3),
        LearningPoint(2, T0 + timedelta(minutes=5), 0.7, 1e-3),
        LearningPoint(3, T0 + timedelta(minutes=9), 0.3, 1e-3),
    ]
    down = best_ys(_chart(errors, metric="rmse", higher_is_better=False))
    assert all(b >= a for a, b in zip(down, down[1:], strict=False))  # lower rmse is lower on the chart
    assert len(down) == 2 + 2  # the start, one step to 0.3, and the end


def test_the_baseline_is_a_named_reference_line_and_time_zero_can_be_the_opening() -> None:
    root = _chart(
        baseline_performance=0.7,
        baseline_label="Logistic regression",
        since=T0 - timedelta(minutes=30),
        since_label="the phase opened",
        link="/e/x/submissions/{id}",
    )
    line = next(e for e in root.iter(f"{SVG}line") if e.attrib.get("class") == "baseline")
    assert _title(line) == "Logistic regression: accuracy 0.7"
    legend = [t.text for t in root.iter(f"{SVG}text") if t.attrib.get("class") == "legend"]
    assert legend == ["submission", "best so far (higher is better)", "cumulative gwp", "Logistic regression"]
    axis = [t.text for t in root.iter(f"{SVG}text") if t.attrib.get("class") == "axis-label"]
    assert axis[-1] == "hours since the phase opened"
    assert all(a.attrib["href"].startswith("/e/x/submissions/1") for a in root.iter(f"{SVG}a"))
    first = _circles(root, "step")[0]
    assert "at 2026-12-01T09:00+00:00 (0.5 h after the phase opened)" in _title(first)


def test_labels_stay_inside_and_no_submission_draws_a_message() -> None:
    root = _chart()
    assert root.attrib["viewBox"] == f"0 0 {WIDTH} 400"
    for text in root.iter(f"{SVG}text"):
        if "transform" in text.attrib:
            continue
        x, width = float(text.attrib["x"]), len(text.text or "") * 0.6 * 18
        anchor = text.attrib.get("text-anchor", "start")
        lo = x - width / 2 if anchor == "middle" else x - width if anchor == "end" else x
        if text.attrib.get("class") in (None, "legend"):
            assert lo >= 0 and lo + width <= WIDTH + 1, (text.text, lo)
    empty = _chart([])
    assert "empty" in empty.attrib["class"]
    assert [t.text for t in empty.iter(f"{SVG}text")] == ["No submission yet"]
    # one submission: no division by a zero span
    one = _chart([LearningPoint(7, T0, 0.8, 2e-3)])
    assert len(list(one.iter(f"{SVG}a"))) == 2
