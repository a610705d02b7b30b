"""Pure parts of the board: who sees which board, chart geometry, number formatting."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from web_support import CLOSES, DURING, FREEZE

from greenhack.config import EventConfig
from greenhack.store.views import ParetoPoint
from greenhack.web.charts import Axis, nice_ticks, pareto_chart
from greenhack.web.templating import fmt_duration, fmt_energy, fmt_impact
from greenhack.web.visibility import choose_board, freeze_state


def test_board_choice_across_the_event(event_config: EventConfig) -> None:
    def state(now: datetime, override: bool | None = None, at: datetime | None = None):  # type: ignore[no-untyped-def]
        return freeze_state(event_config, now=now, override=override, frozen_at=at)

    assert choose_board(state(DURING), admin=False).name == "live"
    frozen = state(FREEZE + timedelta(minutes=1))
    assert frozen.cut == FREEZE and choose_board(frozen, admin=False).name == "frozen"
    assert choose_board(frozen, admin=True).name == "live"
    with pytest.raises(PermissionError):
        choose_board(frozen, admin=False, asked="live")
    with pytest.raises(PermissionError):
        choose_board(state(DURING), admin=False, asked="final")
    assert choose_board(state(CLOSES), admin=False).name == "final"
    assert choose_board(state(FREEZE + timedelta(minutes=1), override=False), admin=False).name == "live"
    manual = state(DURING, override=True, at=DURING - timedelta(hours=1))
    assert manual.frozen and manual.cut == DURING - timedelta(hours=1)


def test_axes_and_ticks() -> None:
    assert nice_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    log = Axis(1e-4, 1e-1, 0.0, 300.0, log=True)
    assert (
        log(1e-4) == pytest.approx(0.0)
        and log(1e-1) == pytest.approx(300.0)
        and log(1e-2) == pytest.approx(200.0)
    )
    assert log.ticks() == [1e-4, 1e-3, 1e-2, 1e-1]


def test_pareto_chart_draws_front_and_escapes_names() -> None:
    points = [
        ParetoPoint(
            submission_id=1,
            team_id=1,
            team_name="<b>a</b>",
            performance=0.9,
            impact_total=0.01,
            impact_min=0.008,
            impact_max=0.012,
            pareto=True,
        ),
        ParetoPoint(
            submission_id=2,
            team_id=2,
            team_name="b",
            performance=0.8,
            impact_total=0.001,
            impact_min=None,
            impact_max=None,
            pareto=True,
        ),
        ParetoPoint(
            submission_id=3,
            team_id=3,
            team_name="c",
            performance=0.7,
            impact_total=0.05,
            impact_min=None,
            impact_max=None,
            pareto=False,
        ),
    ]
    svg = str(pareto_chart(points, metric="accuracy", higher_is_better=True, impact_label="gwp (kgCO2e)"))
    assert "<b>a</b>" not in svg and "&lt;b&gt;a&lt;/b&gt;" in svg
    assert svg.count("<circle") == 2 and 'class="dots"' in svg and 'class="front"' in svg
    assert "(log scale)" in svg and 'href="/submissions/1"' in svg and 'class="range"' in svg
    empty = str(pareto_chart([], metric="accuracy", higher_is_better=True, impact_label="gwp"))
    assert "No scored submission yet" in empty


def test_number_formats() -> None:
    assert fmt_energy(7200.0) == "2 Wh" and fmt_energy(5.0e6) == "1.39 kWh" and fmt_energy(12.0) == "12 J"
    assert fmt_impact(0.0123, "kgCO2e") == "12.3 gCO2e" and fmt_impact(2.5e-5, "kgCO2e") == "25 mgCO2e"
    assert fmt_impact(None, "kgCO2e") == "–"
    assert fmt_duration(42.0) == "42 s" and fmt_duration(3725.0) == "1h 02m 05s"
