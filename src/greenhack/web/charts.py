"""Server-rendered SVG charts: performance vs impact (with the Pareto front) and power timelines.

Why SVG from the server rather than a JavaScript chart library: the board must work offline at event venues
and on phones; an inline SVG needs no script, no CDN and no vendored bundle, scales with the page (a ``viewBox``
and ``width: 100%``), prints, and carries native tooltips (``<title>``) and an accessible name. Live updates
re-fetch the rendered chart.

Geometry is computed here (scales, ticks, margins, points), markup is escaped with markupsafe. Numbers on the
axes are written with :mod:`greenhack.units`: one unit per linear axis, named in its label; on a log axis each
tick names its own (``10 µg``, ``1 mg``). Margins are sized for the longest tick label at the largest font the
stylesheet uses (phones), so no label is cut off.

Every point of the Pareto chart is a link to its submission page with a tooltip naming the team, the
submission and its numbers; the front's points also carry a visible label (as long as labels do not collide). A
point may carry intervals (``impact_low``/``impact_high``, ``performance_low``/``performance_high``): they are
drawn as error bars. BoaviztAPI's min-max range of a front point's impact is drawn as a faint line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape

from greenhack.store.views import ParetoPoint
from greenhack.units import Scale, family_of, format_number, pick_scale, tick_label

__all__ = [
    "Axis",
    "BOTTOM",
    "ChartPoint",
    "HEIGHT",
    "LearningPoint",
    "PALETTE",
    "RIGHT",
    "TimelineSeries",
    "WIDTH",
    "chart_point",
    "learning_curve_chart",
    "nice_ticks",
    "pareto_chart",
    "timeline_chart",
]

WIDTH, HEIGHT = 640, 400
RIGHT, BOTTOM = 20, 60
# the stylesheet writes chart text at 12 units, and at 18 on narrow screens (so it stays readable once the
# chart is scaled down to a phone's width): margins are sized for the larger
_LAYOUT_FONT = 18.0
_CHAR_WIDTH = 0.6  # of the font size, for the digits and letters of tick labels
_MAX_LABELS = 8
# colour-blind-safe palette (Okabe-Ito), dark enough on white for 3:1 graphics contrast
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#6B5B00", "#56B4E9", "#000000")


def _text_width(text: str, font: float = _LAYOUT_FONT) -> float:
    return len(text) * _CHAR_WIDTH * font


@dataclass(frozen=True)
class Axis:
    """A linear or log10 axis mapping [lo, hi] onto pixels [start, end]."""

    lo: float
    hi: float
    start: float
    end: float
    log: bool = False

    def _t(self, value: float) -> float:
        return math.log10(value) if self.log else value

    def __call__(self, value: float) -> float:
        lo, hi = self._t(self.lo), self._t(self.hi)
        frac = 0.5 if hi == lo else (self._t(value) - lo) / (hi - lo)
        return self.start + frac * (self.end - self.start)

    def ticks(self, count: int = 5) -> list[float]:
        if self.log:
            first, last = math.floor(math.log10(self.lo)), math.ceil(math.log10(self.hi))
            decades = [10.0**e for e in range(first, last + 1) if self.lo <= 10.0**e <= self.hi]
            if len(decades) <= 2:
                # few decades: 1, 2 and 5 times each power of ten
                steps = [m * 10.0**e for e in range(first, last + 1) for m in (1, 2, 5)]
                return [t for t in steps if self.lo <= t <= self.hi] or [self.lo, self.hi]
            stride = math.ceil(len(decades) / max(2, count + 1))
            return decades[::stride] or [self.lo, self.hi]
        return nice_ticks(self.lo, self.hi, count)


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(lo / step) * step
    ticks, value = [], first
    while value <= hi + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


@dataclass(frozen=True)
class ChartPoint:
    """One submission on the Pareto chart.

    Attributes:
        submission_id / team_name: what the point links to and is named after.
        performance: the event metric; ``performance_low``/``performance_high`` its interval, when known.
        impact: the impact (in the chart's impact unit); ``impact_low``/``impact_high`` its interval (the
            measurement's uncertainty), when known.
        range_min / range_max: BoaviztAPI's min-max range of the impact (shared by every job on a server).
        pareto: on the Pareto front.
        baseline: an organisers' baseline: drawn as a labelled square, never on the teams' front.
    """

    submission_id: int
    team_name: str
    performance: float
    impact: float
    pareto: bool
    impact_low: float | None = None
    impact_high: float | None = None
    performance_low: float | None = None
    performance_high: float | None = None
    range_min: float | None = None
    range_max: float | None = None
    baseline: bool = False


def chart_point(
    point: ParetoPoint | ChartPoint,
    *,
    impact_interval: tuple[float, float] | None = None,
    performance_interval: tuple[float, float] | None = None,
) -> ChartPoint:
    """A stored :class:`~greenhack.store.views.ParetoPoint` as a chart point, with intervals when given (else those
    stored with the board, when it has them)."""
    if isinstance(point, ChartPoint):
        return point
    if impact_interval is None and point.impact_low is not None and point.impact_high is not None:
        impact_interval = (point.impact_low, point.impact_high)
    if performance_interval is None and point.performance_low is not None and point.performance_high is not None:
        performance_interval = (point.performance_low, point.performance_high)
    return ChartPoint(
        submission_id=point.submission_id,
        team_name=point.team_name,
        performance=point.performance,
        impact=point.impact_total,
        pareto=point.pareto,
        impact_low=impact_interval[0] if impact_interval else None,
        impact_high=impact_interval[1] if impact_interval else None,
        performance_low=performance_interval[0] if performance_interval else None,
        performance_high=performance_interval[1] if performance_interval else None,
        range_min=point.impact_min,
        range_max=point.impact_max,
        baseline=point.baseline,
    )


def _padded(lo: float, hi: float, log: bool) -> tuple[float, float]:
    if log:
        return lo / 1.3, hi * 1.3
    span = hi - lo or abs(hi) or 1.0
    return lo - 0.05 * span, hi + 0.05 * span


@dataclass(frozen=True)
class _Ticks:
    """An axis's tick values (in the axis's own units) and their labels."""

    values: list[float]
    labels: list[str]


def _x_tick_text(px: float, label: str, y: float) -> str:
    half = _text_width(label) / 2
    anchor, at = "middle", px
    if px + half > WIDTH - 2:
        anchor, at = "end", WIDTH - 2.0
    elif px - half < 2:
        anchor, at = "start", 2.0
    return f'<text x="{at:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(label)}</text>'


def _frame(x: Axis, y: Axis, xt: _Ticks, yt: _Ticks, x_label: str, y_label: str) -> list[str]:
    left, top = x.start, y.end
    out = [
        (
            f'<rect x="{left:.1f}" y="{top:.1f}" width="{x.end - left:.1f}" height="{y.start - top:.1f}" '
            'class="chart-bg"/>'
        )
    ]
    for tick, label in zip(xt.values, xt.labels, strict=True):
        px = x(tick)
        out.append(f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{top:.1f}" y2="{y.start:.1f}" class="grid"/>')
        out.append(_x_tick_text(px, label, y.start + 20))
    for tick, label in zip(yt.values, yt.labels, strict=True):
        py = y(tick)
        out.append(f'<line x1="{left:.1f}" x2="{x.end:.1f}" y1="{py:.1f}" y2="{py:.1f}" class="grid"/>')
        out.append(f'<text x="{left - 6:.1f}" y="{py + 4:.1f}" text-anchor="end">{escape(label)}</text>')
    out.append(
        f'<text x="{(left + x.end) / 2:.0f}" y="{HEIGHT - 10}" text-anchor="middle" class="axis-label">'
        f"{escape(x_label)}</text>"
    )
    out.append(
        f'<text transform="translate(16 {(top + y.start) / 2:.0f}) rotate(-90)" text-anchor="middle" '
        f'class="axis-label">{escape(y_label)}</text>'
    )
    return out


def _svg(body: list[str], label: str, css_class: str) -> Markup:
    return Markup(
        f'<svg class="chart {css_class}" viewBox="0 0 {WIDTH} {HEIGHT}" preserveAspectRatio="xMidYMid meet" '
        f'role="img" aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(label)}</title>" + "".join(body) + "</svg>"
    )


def _empty(message: str, label: str, css_class: str) -> Markup:
    return _svg(
        [f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">{escape(message)}</text>'],
        label,
        f"{css_class} empty",
    )


def _left_margin(labels: Sequence[str]) -> float:
    # the rotated axis label (about 24 units), a gap, the longest tick label
    return 34.0 + max((_text_width(t) for t in labels), default=0.0)


_LABEL_UNIT = re.compile(r"^(?P<name>.*?)\s*\((?P<unit>[^()]+)\)\s*$")


def _name_and_unit(impact_label: str, impact_unit: str | None) -> tuple[str, str | None]:
    """The impact's name and the unit its values are in: ``impact_unit``, or (for callers that write the label
    as ``gwp (kgCO2e)``) the known unit between the label's trailing parentheses."""
    match = _LABEL_UNIT.match(impact_label)
    if match and family_of(match.group("unit")) is not None:
        return match.group("name"), impact_unit or match.group("unit")
    return impact_label, impact_unit


@dataclass(frozen=True)
class _LegendItem:
    css: str
    text: str
    shape: str  # dot | square | line | bar


def _legend(items: Sequence[_LegendItem], *, left: float) -> list[str]:
    """One row of legend entries above the plot (a second row when they do not fit)."""
    out, x, y = [], left, 18.0
    for item in items:
        width = 22 + _text_width(item.text)
        if x + width > WIDTH - 4 and x > left:
            x, y = left, y + 22
        if item.shape == "square":
            out.append(f'<rect class="legend-swatch {item.css}" x="{x:.1f}" y="{y - 10:.1f}" width="10" '
                       'height="10"/>')  # fmt: skip
        elif item.shape == "dot":
            out.append(f'<rect class="legend-swatch {item.css}" x="{x:.1f}" y="{y - 10:.1f}" width="10" '
                       'height="10" rx="5"/>')  # fmt: skip
        elif item.shape == "line":
            out.append(f'<line class="{item.css} legend-mark" x1="{x:.1f}" x2="{x + 14:.1f}" y1="{y - 5:.1f}" y2="{y - 5:.1f}"/>')
        else:
            out.append(
                f'<path class="{item.css} legend-mark" d="M{x:.1f} {y - 5:.1f}H{x + 14:.1f}M{x:.1f} {y - 9:.1f}V{y - 1:.1f}'
                f'M{x + 14:.1f} {y - 9:.1f}V{y - 1:.1f}"/>'
            )
        out.append(f'<text class="legend" x="{x + 20:.1f}" y="{y:.1f}">{escape(item.text)}</text>')
        x += width + 12
    return out


def _legend_height(items: Sequence[_LegendItem], *, left: float) -> float:
    rows, x = 1, left
    for item in items:
        width = 22 + _text_width(item.text)
        if x + width > WIDTH - 4 and x > left:
            rows, x = rows + 1, left
        x += width + 12
    return 12.0 + 22.0 * rows


def pareto_chart(
    points: Sequence[ParetoPoint | ChartPoint],
    *,
    metric: str,
    higher_is_better: bool,
    impact_label: str,
    impact_unit: str | None = None,
    link: str = "/submissions/{id}",
) -> Markup:
    """Performance (y) against impact (x, log scale when it spans more than a decade) of every point, the
    Pareto front drawn as a step line through the points flagged ``pareto``; every point a link to its page
    with a tooltip, the front's points labelled with their team, a legend, error bars where intervals are given.

    Args:
        points: the board's scored submissions (stored points, or chart points carrying intervals).
        metric / higher_is_better: the event metric and its direction.
        impact_label: the impact's name (``gwp``); ``gwp (kgCO2e)`` also names the unit of the values.
        impact_unit: the unit the impacts are given in (``kgCO2e``); the axis picks the unit it writes.
        link: the page of a point, ``{id}`` being its submission id.
    """
    name, unit = _name_and_unit(impact_label, impact_unit)
    label = f"{metric} against {name} of every scored submission, Pareto front highlighted"
    if not points:
        return _empty("No scored submission yet", label, "pareto-chart")
    pts = [chart_point(p) for p in points]
    xs = [p.impact for p in pts] + [
        v for p in pts for v in (p.range_min, p.range_max, p.impact_low, p.impact_high) if v is not None
    ]
    positive = [v for v in xs if v > 0]
    log = bool(positive) and len(positive) == len(xs) and max(positive) / min(positive) > 10
    x_lo, x_hi = _padded(min(xs), max(xs), log)
    if not log and min(xs) >= 0:
        x_lo = max(0.0, x_lo)
    ys = [p.performance for p in pts] + [
        v for p in pts for v in (p.performance_low, p.performance_high) if v is not None
    ]
    y_lo, y_hi = _padded(min(ys), max(ys), False)

    # axes in the units they are written in: a linear x axis in one unit picked from the values
    scale: Scale = pick_scale([p.impact for p in pts], unit) if unit else Scale("", "", 1.0)
    y_values = nice_ticks(y_lo, y_hi)
    y_labels = [format_number(v, sig=3) for v in y_values]
    left = _left_margin(y_labels)
    direction = "higher" if higher_is_better else "lower"
    has_bars = any(
        p.impact_low is not None or p.performance_low is not None for p in pts
    )
    has_range = any(p.pareto and p.range_min is not None and p.range_max is not None for p in pts)
    items = [
        _LegendItem("on-front", "Pareto front", "dot"),
        _LegendItem("behind", "behind the front", "dot"),
    ]
    if len([p for p in pts if p.pareto]) > 1:
        items.append(_LegendItem("front", "front line", "line"))
    if has_range:
        items.append(_LegendItem("range", "BoaviztAPI range", "line"))
    if has_bars:
        items.append(_LegendItem("error-bar", "measurement interval", "bar"))
    if any(p.baseline for p in pts):
        items.append(_LegendItem("baseline-point", "Baseline (never ranked)", "square"))
    top = _legend_height(items, left=left)
    if log:
        x = Axis(x_lo, x_hi, left, WIDTH - RIGHT, log=True)
        x_ticks = x.ticks()
        x_text = [tick_label(v, unit) if unit else format_number(v) for v in x_ticks]
        family = family_of(unit) if unit else None
        suffix = f" in {family.suffix}" if family is not None and family.suffix else ""
        x_label = f"{name}{suffix} (log scale): lower is better"

        def px(value: float) -> float:
            return x(max(value, x_lo))
    else:
        x = Axis(scale(x_lo), scale(x_hi), left, WIDTH - RIGHT)
        x_ticks = nice_ticks(x.lo, x.hi)
        x_text = [format_number(v, sig=3) for v in x_ticks]
        x_label = f"{name} ({scale.unit}): lower is better" if scale.unit else f"{name}: lower is better"

        def px(value: float) -> float:
            return x(scale(value))

    y = Axis(y_lo, y_hi, HEIGHT - BOTTOM, top)
    body = _legend(items, left=left)
    body += _frame(x, y, _Ticks(x_ticks, x_text), _Ticks(y_values, y_labels), x_label, f"{metric}: {direction} is better")

    front = sorted((p for p in pts if p.pareto), key=lambda p: p.impact)
    if len(front) > 1:
        steps: list[str] = []
        for i, p in enumerate(front):
            if i:
                steps.append(f"{px(p.impact):.1f},{y(front[i - 1].performance):.1f}")
            steps.append(f"{px(p.impact):.1f},{y(p.performance):.1f}")
        body.append(f'<polyline class="front" points="{" ".join(steps)}"/>')
    for p in front:
        if p.range_min is not None and p.range_max is not None and p.range_max > p.range_min:
            body.append(
                f'<line class="range" x1="{px(p.range_min):.1f}" x2="{px(p.range_max):.1f}" '
                f'y1="{y(p.performance):.1f}" y2="{y(p.performance):.1f}"/>'
            )
    for p in pts:
        body.extend(_error_bars(p, px, y))

    def impact_text(value: float) -> str:
        return scale.format(value) if unit else format_number(value)

    # points behind the front first, so the front is drawn over them
    labelled: list[tuple[float, float]] = []
    for p in sorted(pts, key=lambda p: p.pareto):
        cx, cy = px(p.impact), y(p.performance)
        if p.baseline:  # the organisers' reference: a labelled square, apart from the teams' points
            tip = (
                f"Baseline {p.team_name} (never ranked), submission {p.submission_id}: {metric} "
                f"{format_number(p.performance, sig=4)}, {name} {impact_text(p.impact)}"
            )
            body.append(
                f'<a href="{escape(link.format(id=p.submission_id))}"><rect class="point baseline-point" '
                f'x="{cx - 5:.1f}" y="{cy - 5:.1f}" width="10" height="10" data-submission="{p.submission_id}" '
                f'data-baseline="true"><title>{escape(tip)}</title></rect></a>'
            )
            text = "Baseline: " + (p.team_name if len(p.team_name) <= 16 else p.team_name[:15] + "…")
            anchor, dx = ("end", -8) if cx + 8 + _text_width(text, 12.0) > WIDTH - 2 else ("start", 8)
            body.append(
                f'<text class="point-label baseline-label" x="{cx + dx:.1f}" y="{cy + 16:.1f}" '
                f'text-anchor="{anchor}" aria-hidden="true">{escape(text)}</text>'
            )
            continue
        where = "on the Pareto front" if p.pareto else "behind the front"
        tip = (
            f"{p.team_name}, submission {p.submission_id}: {metric} {format_number(p.performance, sig=4)}, "
            f"{name} {impact_text(p.impact)} ({where})"
        )
        css = "point on-front" if p.pareto else "point behind"
        body.append(
            f'<a href="{escape(link.format(id=p.submission_id))}"><circle class="{css}" cx="{cx:.1f}" '
            f'cy="{cy:.1f}" r="{5 if p.pareto else 3.5}" data-submission="{p.submission_id}">'
            f"<title>{escape(tip)}</title></circle></a>"
        )
        if p.pareto and len(labelled) < _MAX_LABELS:
            text = p.team_name if len(p.team_name) <= 16 else p.team_name[:15] + "…"
            if all(abs(cy - ly) > 14 or abs(cx - lx) > 90 for lx, ly in labelled):
                labelled.append((cx, cy))
                anchor, dx = ("end", -8) if cx + 8 + _text_width(text, 12.0) > WIDTH - 2 else ("start", 8)
                body.append(
                    f'<text class="point-label" x="{cx + dx:.1f}" y="{cy - 6:.1f}" text-anchor="{anchor}" '
                    f'aria-hidden="true">{escape(text)}</text>'
                )
    return _svg(body, label, "pareto-chart")


def _error_bars(p: ChartPoint, px: Callable[[float], float], y: Axis) -> list[str]:
    """Error bars of a point's intervals (horizontal: impact; vertical: performance), with caps."""
    out = []
    cx, cy = px(p.impact), y(p.performance)
    if p.impact_low is not None and p.impact_high is not None:
        x1, x2 = px(p.impact_low), px(p.impact_high)
        out.append(
            f'<path class="error-bar" data-submission="{p.submission_id}" '
            f'd="M{x1:.1f} {cy:.1f}H{x2:.1f}M{x1:.1f} {cy - 4:.1f}V{cy + 4:.1f}M{x2:.1f} {cy - 4:.1f}V{cy + 4:.1f}"/>'
        )
    if p.performance_low is not None and p.performance_high is not None:
        y1, y2 = y(p.performance_low), y(p.performance_high)
        out.append(
            f'<path class="error-bar" data-submission="{p.submission_id}" '
            f'd="M{cx:.1f} {y1:.1f}V{y2:.1f}M{cx - 4:.1f} {y1:.1f}H{cx + 4:.1f}M{cx - 4:.1f} {y2:.1f}H{cx + 4:.1f}"/>'
        )
    return out


@dataclass(frozen=True)
class TimelineSeries:
    """One component's power over time: ``points`` are (time, power in W)."""

    name: str
    points: Sequence[tuple[datetime, float]]


def timeline_chart(series: Sequence[TimelineSeries], *, start: datetime, end: datetime) -> Markup:
    """Power of each component over the job's window, one line per component, with a legend; time in seconds
    or minutes since the start and power in W (or kW, mW) as the values call for."""
    label = "Power of each component over the job's window"
    drawn = [s for s in series if s.points]
    if not drawn:
        return _empty("No power samples stored", label, "timeline-chart")
    duration_s = max((end - start).total_seconds(), 1e-9)
    t_hi = max(duration_s, *((t - start).total_seconds() for s in drawn for t, _ in s.points))
    t_lo = min(0.0, *((t - start).total_seconds() for s in drawn for t, _ in s.points))
    p_hi = max(w for s in drawn for _, w in s.points)
    time_scale = pick_scale([t_hi], "s")
    power_scale = pick_scale([p_hi], "W")
    y_top = power_scale(p_hi * 1.1) if p_hi > 0 else 1.0
    y_values = nice_ticks(0.0, y_top)
    y_labels = [format_number(v, sig=3) for v in y_values]
    left = _left_margin(y_labels)
    x = Axis(time_scale(t_lo), time_scale(t_hi), left, WIDTH - RIGHT)
    y = Axis(0.0, y_top, HEIGHT - BOTTOM, 16.0)
    x_values = nice_ticks(x.lo, x.hi)
    words = {"h": "hours", "min": "minutes", "s": "seconds", "ms": "milliseconds"}
    body = _frame(
        x,
        y,
        _Ticks(x_values, [format_number(v, sig=3) for v in x_values]),
        _Ticks(y_values, y_labels),
        f"{words.get(time_scale.unit, time_scale.unit)} since the job started",
        f"power ({power_scale.unit})",
    )
    for i, s in enumerate(drawn):
        colour = PALETTE[i % len(PALETTE)]
        pts = " ".join(
            f"{x(time_scale((t - start).total_seconds())):.1f},{y(power_scale(w)):.1f}" for t, w in s.points
        )
        body.append(
            f'<polyline class="series" data-series="{escape(s.name)}" stroke="{colour}" points="{pts}">'
            f"<title>{escape(s.name)}</title></polyline>"
        )
        body.append(
            f'<rect x="{left + 8:.1f}" y="{16 + 8 + 22 * i}" width="12" height="4" fill="{colour}"/>'
            f'<text x="{left + 24:.1f}" y="{16 + 14 + 22 * i}">{escape(s.name)}</text>'
        )
    return _svg(body, label, "timeline-chart")


@dataclass(frozen=True)
class LearningPoint:
    """One submission of a team on its learning curve.

    Attributes:
        submission_id: what the point links to.
        submitted_at: when GitLab created the job (timezone-aware).
        performance: the event metric on the public rows, None when the submission has none (failed, invalid,
            not scored yet): it is drawn on the footprint panel only, since it cost all the same.
        footprint: the job's footprint in the chart's unit (``footprint_unit``), None while unmeasured.
    """

    submission_id: int
    submitted_at: datetime
    performance: float | None
    footprint: float | None


# the learning curve's colours (Okabe-Ito, as PALETTE): submissions, the best so far, the cumulative footprint
_CURVE_POINT, _CURVE_BEST, _CURVE_TOTAL, _CURVE_BASELINE = PALETTE[0], PALETTE[1], PALETTE[2], PALETTE[6]
_PANEL_GAP = 18.0
_GRID = 'class="grid" stroke="#e2e2e2"'


def _panel(x: Axis, y: Axis, x_ticks: Sequence[float], yt: _Ticks, y_label: str) -> list[str]:
    """One panel of a chart whose panels share the x axis: frame, grid and y ticks (the x ticks are drawn
    once, under the lowest panel)."""
    top, bottom = y.end, y.start
    out = [
        f'<rect x="{x.start:.1f}" y="{top:.1f}" width="{x.end - x.start:.1f}" height="{bottom - top:.1f}" '
        'class="chart-bg" fill="#fbfbfb" stroke="#999"/>'
    ]
    for tick in x_ticks:
        px = x(tick)
        out.append(f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{top:.1f}" y2="{bottom:.1f}" {_GRID}/>')
    for tick, label in zip(yt.values, yt.labels, strict=True):
        py = y(tick)
        out.append(f'<line x1="{x.start:.1f}" x2="{x.end:.1f}" y1="{py:.1f}" y2="{py:.1f}" {_GRID}/>')
        out.append(f'<text x="{x.start - 6:.1f}" y="{py + 4:.1f}" text-anchor="end">{escape(label)}</text>')
    out.append(
        f'<text transform="translate(16 {(top + bottom) / 2:.0f}) rotate(-90)" text-anchor="middle" '
        f'class="axis-label">{escape(y_label)}</text>'
    )
    return out


def _line(css: str, colour: str, points: Sequence[str]) -> str:
    joined = " ".join(points)
    return f'<polyline class="{css}" fill="none" stroke="{colour}" stroke-width="2" points="{joined}"/>'


def _best_so_far(points: Sequence[tuple[float, float]], higher_is_better: bool) -> list[tuple[float, float]]:
    """The running best of (time, performance) points in time order, as the steps of a line."""
    out: list[tuple[float, float]] = []
    for t, value in points:
        if not out or (value > out[-1][1] if higher_is_better else value < out[-1][1]):
            out.append((t, value))
    return out


def learning_curve_chart(
    points: Sequence[LearningPoint],
    *,
    team_name: str,
    metric: str,
    higher_is_better: bool,
    footprint_label: str,
    footprint_unit: str,
    since: datetime | None = None,
    since_label: str = "the first submission",
    baseline_performance: float | None = None,
    baseline_label: str = "baseline",
    link: str = "/submissions/{id}",
) -> Markup:
    """A team's submissions over time: the metric of each (with the best so far), and below it the cumulative
    footprint of every job, what the team's trial and error cost (each step is one job).

    Args:
        points: the team's submissions, any order; those without a performance are on the footprint panel
            only.
        team_name: the team (the chart's accessible name).
        metric / higher_is_better: the event metric and its direction.
        footprint_label / footprint_unit: the footprint's name (``gwp``) and the unit the values are in
            (``kgCO2e``); the axis writes every value in one unit picked from the cumulative values.
        since / since_label: time zero of the x axis and how the axis names it (default: the first
            submission).
        baseline_performance / baseline_label: the baseline's metric on the same rows, drawn as a dashed line.
        link: a submission's page, ``{id}`` being its id; every point links there and names itself
            (``<title>``).
    """
    label = (
        f"Learning curve of {team_name}: {metric} of each submission over time, and the cumulative "
        f"{footprint_label}"
    )
    if not points:
        return _empty("No submission yet", label, "learning-curve-chart")
    ordered = sorted(points, key=lambda p: (p.submitted_at, p.submission_id))
    zero = since if since is not None else ordered[0].submitted_at
    seconds = [(p.submitted_at - zero).total_seconds() for p in ordered]
    time_scale = pick_scale([max(abs(s) for s in seconds) or 1.0], "s")
    totals: list[float] = []
    running = 0.0
    for p in ordered:
        running += p.footprint if p.footprint is not None and p.footprint > 0 else 0.0
        totals.append(running)
    scale = pick_scale(totals, footprint_unit)

    scored = [(s, p) for s, p in zip(seconds, ordered, strict=True) if p.performance is not None]
    perf_values = [p.performance for _, p in scored if p.performance is not None]
    if baseline_performance is not None:
        perf_values.append(baseline_performance)
    p_lo, p_hi = _padded(min(perf_values), max(perf_values), False) if perf_values else (0.0, 1.0)
    p_ticks = nice_ticks(p_lo, p_hi, 4)
    p_labels = [format_number(v, sig=3) for v in p_ticks]
    f_top = scale(totals[-1]) * 1.1 if totals[-1] > 0 else 1.0
    f_ticks = nice_ticks(0.0, f_top, 4)
    f_labels = [format_number(v, sig=3) for v in f_ticks]
    left = _left_margin([*p_labels, *f_labels])

    items = [
        _LegendItem("submission", "submission", "dot"),
        _LegendItem("best", f"best so far ({'higher' if higher_is_better else 'lower'} is better)", "line"),
        _LegendItem("total", f"cumulative {footprint_label}", "line"),
    ]
    if baseline_performance is not None:
        items.append(_LegendItem("baseline", baseline_label, "line"))
    top = _legend_height(items, left=left)
    body = _legend(items, left=left)
    t_lo, t_hi = min(0.0, *seconds), max(seconds)
    x = Axis(time_scale(t_lo), time_scale(t_hi if t_hi > t_lo else t_lo + 1.0), left, WIDTH - RIGHT)
    x_ticks = nice_ticks(x.lo, x.hi)
    split = top + (HEIGHT - BOTTOM - top - _PANEL_GAP) * 0.5
    y_perf = Axis(p_lo, p_hi, split, top)
    y_total = Axis(0.0, f_top, HEIGHT - BOTTOM, split + _PANEL_GAP)
    body += _panel(x, y_perf, x_ticks, _Ticks(p_ticks, p_labels), metric)
    body += _panel(x, y_total, x_ticks, _Ticks(f_ticks, f_labels), f"{footprint_label} ({scale.unit})")
    for tick in x_ticks:
        body.append(_x_tick_text(x(tick), format_number(tick, sig=3), y_total.start + 20))
    words = {"h": "hours", "min": "minutes", "s": "seconds", "ms": "milliseconds"}
    body.append(
        f'<text x="{(left + x.end) / 2:.0f}" y="{HEIGHT - 10}" text-anchor="middle" class="axis-label">'
        f"{escape(f'{words.get(time_scale.unit, time_scale.unit)} since {since_label}')}</text>"
    )

    def px(second: float) -> float:
        return x(time_scale(second))

    if baseline_performance is not None:
        by = y_perf(baseline_performance)
        named = f"{baseline_label}: {metric} {format_number(baseline_performance, sig=4)}"
        body.append(
            f'<line class="baseline" x1="{x.start:.1f}" x2="{x.end:.1f}" y1="{by:.1f}" y2="{by:.1f}" '
            f'stroke="{_CURVE_BASELINE}" stroke-dasharray="6 4" stroke-width="1.5">'
            f"<title>{escape(named)}</title></line>"
        )
    best = _best_so_far(
        [(s, p.performance) for s, p in scored if p.performance is not None], higher_is_better
    )
    if best:
        steps = [f"{px(best[0][0]):.1f},{y_perf(best[0][1]):.1f}"]
        for (t, value), (_, before) in zip(best[1:], best, strict=False):
            steps.append(f"{px(t):.1f},{y_perf(before):.1f}")
            steps.append(f"{px(t):.1f},{y_perf(value):.1f}")
        steps.append(f"{x.end:.1f},{y_perf(best[-1][1]):.1f}")
        body.append(_line("best", _CURVE_BEST, steps))
    steps, previous = [f"{x.start:.1f},{y_total(0.0):.1f}"], 0.0
    for s, total in zip(seconds, totals, strict=True):
        steps.append(f"{px(s):.1f},{y_total(scale(previous)):.1f}")
        steps.append(f"{px(s):.1f},{y_total(scale(total)):.1f}")
        previous = total
    steps.append(f"{x.end:.1f},{y_total(scale(previous)):.1f}")
    body.append(_line("total", _CURVE_TOTAL, steps))

    for s, p, total in zip(seconds, ordered, totals, strict=True):
        after = f"{format_number(time_scale(s), sig=3)} {time_scale.unit} after {since_label}"
        when = f"{p.submitted_at.isoformat(timespec='minutes')} ({after})"
        shown = f"no {metric}" if p.performance is None else f"{metric} {format_number(p.performance, sig=4)}"
        cost = f"this job {scale.format(p.footprint)}" if p.footprint is not None else None
        tip = (
            f"{team_name}, submission {p.submission_id} at {when}: {shown}; "
            f"{cost or f'{footprint_label} not measured yet'}; total so far {scale.format(total)}"
        )
        href = escape(link.format(id=p.submission_id))
        marks = []
        if p.performance is not None:
            marks.append((y_perf(p.performance), _CURVE_POINT, "point"))
        marks.append((y_total(scale(total)), _CURVE_TOTAL if p.footprint is not None else "#ffffff", "step"))
        for cy, fill, css in marks:
            body.append(
                f'<a href="{href}"><circle class="{css}" cx="{px(s):.1f}" cy="{cy:.1f}" r="4" fill="{fill}" '
                f'stroke="#1a1a1a" stroke-width="0.75" data-submission="{p.submission_id}">'
                f"<title>{escape(tip)}</title></circle></a>"
            )
    return _svg(body, label, "learning-curve-chart")
