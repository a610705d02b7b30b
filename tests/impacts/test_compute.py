"""impacts_from_factors: the formula, on stored factors, without BoaviztAPI."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from impacts_helpers import make_impact

from greenhack.errors import ImpactsError
from greenhack.impacts import (
    Bound,
    CriterionFactors,
    HardwareQuery,
    JobImpacts,
    ServerFactors,
    equivalences,
    impacts_from_factors,
)
from greenhack.impacts.equivalences import CAR_KGCO2E_PER_KM, LAPTOP_POWER_W, SMARTPHONE_CHARGE_KWH

HOUR_S = 3600.0


def factors(location: str = "FRA", lifetime_years: float = 1.0) -> ServerFactors:
    """Round numbers: 0.1 kgCO2e/kWh, 1000 kgCO2e of manufacturing over the lifetime, and so on."""
    query = HardwareQuery(
        cpu_name="Intel Xeon Gold 6248", cpu_units=2, ram_gb=192, lifetime_hours=lifetime_years * 8766
    )
    lifetime_s = query.lifetime_s

    def criterion(unit: str, per_kwh: float, whole_life: Bound) -> CriterionFactors:
        return CriterionFactors(
            unit=unit,
            use_per_j=Bound(value=per_kwh / 3.6e6, min=0.5 * per_kwh / 3.6e6, max=2 * per_kwh / 3.6e6),
            embodied_per_s=whole_life.scaled(1 / lifetime_s),
            use_source="test",
        )

    return ServerFactors(
        key=f"test:{location}",
        boavizta_version="2.5.0",
        boavizta_url="http://boavizta.invalid",
        fetched_at=datetime(2026, 1, 1, tzinfo=UTC),
        location=location,
        hardware=query,
        cpu_matched_name="Intel Xeon Gold 6248",
        gpu_matched_name=None,
        gwp=criterion("kgCO2e", 0.1, Bound(value=1000, min=700, max=1600)),
        adpe=criterion("kgSbeq", 1e-7, Bound(value=0.1, min=0.05, max=0.2)),
        pe=criterion("MJ", 10.0, Bound(value=15000, min=10000, max=30000)),
        request={},
    )


def test_use_plus_embodied() -> None:
    f = factors()
    job = impacts_from_factors(
        f, make_impact(pue=1.5), 3.6e6, HOUR_S
    )  # 1 kWh at the server, 1.5 from the grid
    assert job.gwp.use == pytest.approx(0.15)
    assert job.gwp.embodied == pytest.approx(1000 * HOUR_S / f.lifetime_s)
    assert job.gwp.total == pytest.approx(job.gwp.use + job.gwp.embodied)  # type: ignore[operator]
    assert job.gwp.min == pytest.approx(0.075 + 700 * HOUR_S / f.lifetime_s)
    assert job.gwp.max == pytest.approx(0.30 + 1600 * HOUR_S / f.lifetime_s)
    assert job.pe.use == pytest.approx(15.0) and job.pe.unit == "MJ"
    assert job.adpe.use == pytest.approx(1.5e-7) and job.adpe.unit == "kgSbeq"
    assert job.energy.total == pytest.approx(1.5) and job.energy.unit == "kWh"
    assert job.energy.embodied is None and job.energy.min is None
    assert job.headline is job.gwp and job.boavizta_version == "2.5.0"


@pytest.mark.parametrize(
    ("include", "use_counts", "embodied_counts"),
    [
        (["use"], True, False),
        (["embodied"], False, True),
        (["embodied", "use"], True, True),
    ],
)
def test_include_decides_what_counts(include: list[str], use_counts: bool, embodied_counts: bool) -> None:
    job = impacts_from_factors(factors(), make_impact(include=include), 3.6e6, HOUR_S)
    for item in (job.gwp, job.adpe, job.pe):
        assert item.embodied is not None and item.use_factor is not None and item.embodied_factor is not None
        expected = (item.use if use_counts else 0.0) + (item.embodied if embodied_counts else 0.0)
        assert item.total == pytest.approx(expected)
        expected_min = (item.use_factor.min * 3.6e6 * 1.3 if use_counts else 0.0) + (
            item.embodied_factor.min * HOUR_S if embodied_counts else 0.0
        )
        assert item.min == pytest.approx(expected_min)
        assert item.min <= item.total <= item.max  # type: ignore[operator]


def test_carbon_intensity_overrides_gwp_only() -> None:
    plain = impacts_from_factors(factors(), make_impact(pue=1.0), 3.6e6, HOUR_S)
    custom = impacts_from_factors(
        factors(), make_impact(pue=1.0, carbon_intensity_g_per_kwh=400), 3.6e6, HOUR_S
    )
    assert custom.gwp.use == pytest.approx(0.4)
    assert custom.gwp.use_factor == Bound.exact(0.4 / 3.6e6)
    assert custom.adpe == plain.adpe and custom.pe == plain.pe
    assert custom.carbon_intensity_g_per_kwh == 400


def test_embodied_is_linear_in_duration_and_capped_at_the_lifetime() -> None:
    f = factors(lifetime_years=1.0)
    one = impacts_from_factors(f, make_impact(), 0.0, HOUR_S)
    ten = impacts_from_factors(f, make_impact(), 0.0, 10 * HOUR_S)
    assert ten.gwp.embodied == pytest.approx(10 * one.gwp.embodied)  # type: ignore[operator]
    assert one.gwp.use == 0.0 and one.energy.total == 0.0
    beyond = impacts_from_factors(f, make_impact(), 0.0, 3 * f.lifetime_s)
    assert beyond.gwp.embodied == pytest.approx(1000.0)  # never more than the whole server


def test_wrong_location_and_bad_inputs_are_refused() -> None:
    with pytest.raises(ImpactsError, match="factors are for location 'FRA'"):
        impacts_from_factors(factors("FRA"), make_impact(location="DEU"), 1.0, 1.0)
    with pytest.raises(ImpactsError, match="energy_j"):
        impacts_from_factors(factors(), make_impact(), -5.0, 1.0)
    with pytest.raises(ImpactsError, match="duration_s"):
        impacts_from_factors(factors(), make_impact(), 5.0, 0.0)


def test_job_impacts_round_trip_through_json() -> None:
    job = impacts_from_factors(factors(), make_impact(criterion="pe"), 1.2e6, 321.0)
    assert job.headline is job.pe
    assert JobImpacts.model_validate_json(job.model_dump_json()) == job


def test_equivalences_and_their_sources() -> None:
    pictures = {p.key: p for p in equivalences(gwp_kgco2e=CAR_KGCO2E_PER_KM * 12, energy_kwh=1.2)}
    assert set(pictures) == {"car_km", "smartphone_charges", "laptop_hours"}
    assert pictures["car_km"].quantity == pytest.approx(12.0) and pictures["car_km"].basis == "gwp"
    assert CAR_KGCO2E_PER_KM == pytest.approx(0.2485, rel=1e-3)  # 400 g/mile
    assert pictures["smartphone_charges"].quantity == pytest.approx(1.2 / SMARTPHONE_CHARGE_KWH)
    assert pictures["laptop_hours"].quantity == pytest.approx(1.2 / (LAPTOP_POWER_W / 1000))
    for picture in pictures.values():
        assert picture.source and picture.factor > 0 and picture.unit
    assert "EPA" in pictures["car_km"].source and "BoaviztAPI" in pictures["laptop_hours"].source
    with pytest.raises(ImpactsError):
        equivalences(gwp_kgco2e=-1.0, energy_kwh=1.0)


def test_the_energy_interval_carries_through_apart_from_boaviztas_factor_range() -> None:
    f = factors()
    plain = impacts_from_factors(f, make_impact(pue=1.5), 3.6e6, HOUR_S)
    job = impacts_from_factors(f, make_impact(pue=1.5), 3.6e6, HOUR_S, energy_low_j=3.4e6, energy_high_j=3.9e6)
    embodied = 1000 * HOUR_S / f.lifetime_s
    # the measurement interval: energy at its ends, factors at their value (0.1 kgCO2e/kWh, PUE 1.5)
    assert job.gwp.measurement_low == pytest.approx(0.1 * 1.5 * 3.4 / 3.6 + embodied)
    assert job.gwp.measurement_high == pytest.approx(0.1 * 1.5 * 3.9 / 3.6 + embodied)
    # BoaviztAPI's factor range is untouched: factor bounds, energy as measured
    assert (job.gwp.min, job.gwp.max, job.gwp.total) == (plain.gwp.min, plain.gwp.max, plain.gwp.total)
    assert job.energy.measurement_low == pytest.approx(1.5 * 3.4 / 3.6)
    assert job.energy.measurement_high == pytest.approx(1.5 * 3.9 / 3.6)
    assert (job.energy_low_j, job.energy_high_j) == (3.4e6, 3.9e6)
    # without an interval there is none to show (figures made before intervals were)
    assert plain.gwp.measurement_low is None and plain.energy.measurement_high is None


def test_only_the_use_phase_moves_with_the_measurement() -> None:
    f = factors()
    only_embodied = impacts_from_factors(
        f, make_impact(include=["embodied"]), 3.6e6, HOUR_S, energy_low_j=3.0e6, energy_high_j=4.0e6
    )
    assert only_embodied.gwp.measurement_low == only_embodied.gwp.measurement_high == only_embodied.gwp.total
    assert only_embodied.use_share("gwp") == 0.0 and only_embodied.use_share("energy") == 1.0
    both = impacts_from_factors(f, make_impact(), 3.6e6, HOUR_S, energy_low_j=3.0e6, energy_high_j=4.0e6)
    assert both.use_share("gwp") == pytest.approx(both.gwp.use / both.gwp.total)


def test_the_factor_range_cannot_reorder_two_jobs_of_one_server() -> None:
    f = factors()
    small, large = (
        impacts_from_factors(f, make_impact(include=["use"]), e, HOUR_S, energy_low_j=0.9 * e, energy_high_j=1.1 * e)
        for e in (1.0e6, 1.15e6)
    )
    assert small.gwp.min < large.gwp.min and small.gwp.max < large.gwp.max  # same factors, same order
    # the measurement intervals overlap: this difference is what significance has to judge
    assert small.gwp.measurement_high is not None and large.gwp.measurement_low is not None
    assert small.gwp.measurement_high > large.gwp.measurement_low


@pytest.mark.parametrize(
    ("low", "high", "message"),
    [(3.0e6, None, "come together"), (3.7e6, 3.9e6, "must hold"), (-1.0, 3.9e6, "must hold"),
     (3.0e6, float("inf"), "finite")],
)
def test_a_bad_energy_interval_is_refused(low: float | None, high: float | None, message: str) -> None:
    with pytest.raises(ImpactsError, match=message):
        impacts_from_factors(factors(), make_impact(), 3.6e6, HOUR_S, energy_low_j=low, energy_high_j=high)
