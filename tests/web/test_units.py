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
    # every point is a circle linked to its submission (issue 18: dominated points were one unnamed path)
    assert svg.count("<circle") == 3 and svg.count('<a href="/submissions/') == 3 and 'class="front"' in svg
    assert "(log scale)" in svg and 'href="/submissions/1"' in svg and 'class="range"' in svg
    empty = str(pareto_chart([], metric="accuracy", higher_is_better=True, impact_label="gwp"))
    assert "No scored submission yet" in empty


def test_number_formats() -> None:
    assert fmt_energy(7200.0) == "2 Wh" and fmt_energy(5.0e6) == "1.39 kWh" and fmt_energy(12.0) == "12 J"
    assert fmt_impact(0.0123, "kgCO2e") == "12.3 gCO2e" and fmt_impact(2.5e-5, "kgCO2e") == "25 mgCO2e"
    assert fmt_impact(None, "kgCO2e") == "–"
    assert fmt_duration(42.0) == "42 s" and fmt_duration(3725.0) == "1h 02m 05s"


def test_one_unit_per_column_from_the_range_of_its_values() -> None:
    from greenhack.units import format_number, pick_scale

    # issue 18: a column of 0.9 to 2.6 gCO2e was written "969 mgCO2e" next to "2.59 gCO2e" under "kgCO2e"
    values_kg = [0.969e-3, 2.594e-3, 0.9e-3]
    scale = pick_scale(values_kg, "kgCO2e")
    assert scale.unit == "mgCO2e" and [scale.number(v) for v in values_kg] == ["969", "2594", "900"]
    assert pick_scale([12.0, 250.0, None], "gCO2e").unit == "gCO2e"
    assert pick_scale([3.0e5, 7.2e6], "J").unit == "Wh" and pick_scale([3.6e9, 7.2e9], "J").unit == "kWh"
    assert pick_scale([], "kgCO2e").unit == "kgCO2e" and pick_scale([1.0], "points").unit == "points"
    # never an exponent, whatever the size
    assert [format_number(v) for v in (1.2e-5, 0.000123456, 123456.7, -0.5, 0.0)] == [
        "0.000012", "0.000123", "123457", "-0.5", "0"
    ]


def test_equivalences_read_in_everyday_sizes() -> None:
    from greenhack.impacts.equivalences import CAR_KGCO2E_PER_KM, LAPTOP_POWER_W, picture_text
    from greenhack.impacts.equivalences import equivalences as pictures_of

    pictures = {p.key: p for p in pictures_of(gwp_kgco2e=CAR_KGCO2E_PER_KM * 1.67e-4, energy_kwh=LAPTOP_POWER_W / 1000 / 2)}
    assert picture_text(pictures["car_km"]) == ("16.7 cm", "by petrol car")
    assert picture_text(pictures["laptop_hours"]) == ("30 min", "of laptop use")
    assert picture_text(pictures["smartphone_charges"]) == ("3.12 charges", "of a smartphone")
    small = {p.key: p for p in pictures_of(gwp_kgco2e=1e-6, energy_kwh=1.2e-4)}
    assert picture_text(small["smartphone_charges"]) == ("1 %", "of one smartphone charge")
    assert not any("e-" in picture_text(p)[0] for p in small.values())
