"""Server-rendered SVG charts: performance vs impact (with the Pareto front) and power timelines.

Why SVG from the server rather than a JavaScript chart library: the board must work offline at event venues
and on phones; an inline SVG needs no script, no CDN and no vendored bundle, scales with the page, prints, and
carries native tooltips (``<title>``) and an accessible name. Live updates re-fetch the rendered chart.

Geometry is computed here (scales, ticks, points), markup is escaped with markupsafe.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape

from greenhack.store.views import ParetoPoint

__all__ = [
    "Axis",
    "BOTTOM",
    "HEIGHT",
    "LEFT",
    "PALETTE",
    "RIGHT",
    "TOP",
    "TimelineSeries",
    "WIDTH",
    "nice_ticks",
    "pareto_chart",
    "timeline_chart",
]

WIDTH, HEIGHT = 640, 360
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 48
# colour-blind-safe palette (Okabe-Ito), dark enough on white for 3:1 graphics contrast
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#6B5B00", "#56B4E9", "#000000")


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

    def ticks(self) -> list[float]:
        if self.log:
            first, last = math.floor(math.log10(self.lo)), math.ceil(math.log10(self.hi))
            return [10.0**e for e in range(first, last + 1) if self.lo <= 10.0**e <= self.hi] or [
                self.lo,
                self.hi,
            ]
        return nice_ticks(self.lo, self.hi)


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


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1e4 or abs(value) < 1e-3:
        return f"{value:.1e}"
    return f"{value:.4g}"


def _padded(lo: float, hi: float, log: bool) -> tuple[float, float]:
    if log:
        return lo / 1.3, hi * 1.3
    span = hi - lo or abs(hi) or 1.0
    return lo - 0.05 * span, hi + 0.05 * span


def _frame(x: Axis, y: Axis, x_label: str, y_label: str) -> list[str]:
    out = [
        (
            f'<rect x="{LEFT}" y="{TOP}" width="{WIDTH - LEFT - RIGHT}" height="{HEIGHT - TOP - BOTTOM}" '
            'class="chart-bg"/>'
        )
    ]
    for tick in x.ticks():
        px = x(tick)
        out.append(f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" class="grid"/>')
        out.append(f'<text x="{px:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{_fmt(tick)}</text>')
    for tick in y.ticks():
        py = y(tick)
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{py:.1f}" y2="{py:.1f}" class="grid"/>')
        out.append(f'<text x="{LEFT - 6}" y="{py + 4:.1f}" text-anchor="end">{_fmt(tick)}</text>')
    out.append(
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2:.0f}" y="{HEIGHT - 8}" text-anchor="middle" class="axis-label">'
        f"{escape(x_label)}</text>"
    )
    out.append(
        f'<text transform="translate(14 {(TOP + HEIGHT - BOTTOM) / 2:.0f}) rotate(-90)" text-anchor="middle" '
        f'class="axis-label">{escape(y_label)}</text>'
    )
    return out


def _svg(body: list[str], label: str, css_class: str) -> Markup:
    return Markup(
        f'<svg class="chart {css_class}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}</title>' + "".join(body) + "</svg>"
    )


def pareto_chart(
    points: Sequence[ParetoPoint],
    *,
    metric: str,
    higher_is_better: bool,
    impact_label: str,
    link: str = "/submissions/{id}",
) -> Markup:
    """Performance (y) against impact (x, log scale when it spans more than a decade) of every point, the
    Pareto front drawn as a step line through the points flagged ``pareto``, each front point linked to its
    page; the other points are drawn as one compact path so that a board of 10,000 submissions stays light."""
    label = f"{metric} against {impact_label} of every scored submission, Pareto front highlighted"
    if not points:
        return _svg(
            [f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">No scored submission yet</text>'],
            label,
            "pareto-chart empty",
        )
    xs = [p.impact_total for p in points] + [v for p in points for v in (p.impact_min, p.impact_max) if v]
    positive = [v for v in xs if v > 0]
    log = bool(positive) and len(positive) == len(xs) and max(positive) / min(positive) > 10
    x_lo, x_hi = _padded(min(xs), max(xs), log)
    if not log:
        x_lo = max(0.0, x_lo) if min(xs) >= 0 else x_lo
    ys = [p.performance for p in points]
    y_lo, y_hi = _padded(min(ys), max(ys), False)
    x = Axis(x_lo, x_hi, LEFT, WIDTH - RIGHT, log=log)
    y = Axis(y_lo, y_hi, HEIGHT - BOTTOM, TOP)
    direction = "higher" if higher_is_better else "lower"
    body = _frame(
        x,
        y,
        f"{impact_label}{' (log scale)' if log else ''}: lower is better",
        f"{metric}: {direction} is better",
    )
    front = sorted((p for p in points if p.pareto), key=lambda p: p.impact_total)
    if len(front) > 1:
        steps: list[str] = []
        for i, p in enumerate(front):
            if i:
                steps.append(f"{x(p.impact_total):.1f},{y(front[i - 1].performance):.1f}")
            steps.append(f"{x(p.impact_total):.1f},{y(p.performance):.1f}")
        body.append(f'<polyline class="front" points="{" ".join(steps)}"/>')
    # dominated points: one compact path of round dots (a board may hold 10,000 submissions); front points:
    # each a linked circle with a tooltip and its impact range
    dominated = [p for p in points if not p.pareto]
    if dominated:
        dots = "".join(f"M{x(p.impact_total):.1f} {y(p.performance):.1f}h0" for p in dominated)
        body.append(
            f'<path class="dots" d="{dots}"><title>{len(dominated)} submissions behind the front</title></path>'
        )
    for p in front:
        if p.impact_min is not None and p.impact_max is not None and p.impact_max > p.impact_min:
            body.append(
                f'<line class="range" x1="{x(max(p.impact_min, x_lo)):.1f}" x2="{x(p.impact_max):.1f}" '
                f'y1="{y(p.performance):.1f}" y2="{y(p.performance):.1f}"/>'
            )
    for p in front:
        tip = f"{p.team_name} #{p.submission_id}: {metric} {p.performance:.4g}, {_fmt(p.impact_total)}"
        body.append(
            f'<a href="{escape(link.format(id=p.submission_id))}"><circle class="point on-front" '
            f'cx="{x(p.impact_total):.1f}" cy="{y(p.performance):.1f}" r="5" '
            f'data-submission="{p.submission_id}"><title>{escape(tip)}</title></circle></a>'
        )
    return _svg(body, label, "pareto-chart")


@dataclass(frozen=True)
class TimelineSeries:
    """One component's power over time: ``points`` are (time, power in W)."""

    name: str
    points: Sequence[tuple[datetime, float]]


def timeline_chart(series: Sequence[TimelineSeries], *, start: datetime, end: datetime) -> Markup:
    """Power (W) of each component over the job's window, one line per component, with a legend."""
    label = "Power of each component over the job's window, in watts"
    drawn = [s for s in series if s.points]
    if not drawn:
        return _svg(
            [f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">No power samples stored</text>'],
            label,
            "timeline-chart empty",
        )
    duration_s = max((end - start).total_seconds(), 1e-9)
    t_hi = max(duration_s, *((t - start).total_seconds() for s in drawn for t, _ in s.points))
    t_lo = min(0.0, *((t - start).total_seconds() for s in drawn for t, _ in s.points))
    p_hi = max(w for s in drawn for _, w in s.points)
    x = Axis(t_lo, t_hi, LEFT, WIDTH - RIGHT)
    y = Axis(0.0, p_hi * 1.1 if p_hi > 0 else 1.0, HEIGHT - BOTTOM, TOP)
    body = _frame(x, y, "seconds since the job started", "power (W)")
    for i, s in enumerate(drawn):
        colour = PALETTE[i % len(PALETTE)]
        pts = " ".join(f"{x((t - start).total_seconds()):.1f},{y(w):.1f}" for t, w in s.points)
        body.append(
            f'<polyline class="series" data-series="{escape(s.name)}" stroke="{colour}" points="{pts}">'
            f"<title>{escape(s.name)}</title></polyline>"
        )
        body.append(
            f'<rect x="{LEFT + 8}" y="{TOP + 8 + 16 * i}" width="12" height="4" fill="{colour}"/>'
            f'<text x="{LEFT + 24}" y="{TOP + 14 + 16 * i}">{escape(s.name)}</text>'
        )
    return _svg(body, label, "timeline-chart")
