"""A full rescore in batches stores what the impacts of each stored measurement are under the new YAML, reports
the submissions it cannot rescore, and says how far it got after every batch."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from greenhack.config import EventConfig
from greenhack.impacts import impacts_from_factors
from greenhack.store import crud
from greenhack.store.boards import rescore_event
from greenhack.store.db import SessionFactory, transaction
from greenhack.store.models import Event, Impact, Measurement, Submission
from greenhack.store.synthetic import synthetic_factors, synthetic_job, write_synthetic_submission

START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def test_a_rescore_in_batches_stores_each_measurement_s_impacts_under_the_new_yaml(
    sessions: SessionFactory, event_config: EventConfig
) -> None:
    rng = random.Random(7)
    with transaction(sessions) as s:
        event_id = crud.ensure_event(session=s, name=event_config.event.name).id
        fra, usa = (synthetic_factors(place, fetched_at=START) for place in ("FRA", "USA"))
        ids = []
        for n in range(23):
            team = crud.ensure_team(session=s, event_id=event_id, name=f"team-{n % 5}").id
            job = synthetic_job(rng, server="gpu-1", start=START + timedelta(minutes=10 * n))
            ids.append(
                write_synthetic_submission(
                    session=s,
                    config=event_config,
                    event_id=event_id,
                    team_id=team,
                    project_id=1,
                    job_id=n + 1,
                    job=job,
                    factors=fra,
                )
            )
        # factors of another location on one; no stored factors on two (SQL NULL, JSON null)
        usa_json = usa.model_dump(mode="json")
        s.execute(sa.update(Measurement).where(Measurement.submission_id == ids[5]).values(factors=usa_json))
        s.execute(sa.update(Measurement).where(Measurement.submission_id == ids[3]).values(factors=sa.null()))
        s.execute(sa.update(Measurement).where(Measurement.submission_id == ids[9]).values(factors=None))
    with transaction(sessions) as s:
        kept = {
            sid: s.execute(sa.select(Submission.impact_total).where(Submission.id == sid)).scalar_one()
            for sid in (ids[3], ids[5], ids[9])
        }

    changed = event_config.model_copy(
        update={"impact": event_config.impact.model_copy(update={"pue": 1.5, "include": ["use"]})}
    )
    seen: list[tuple[int, int]] = []
    with transaction(sessions) as s:
        report = rescore_event(
            session=s,
            event_id=event_id,
            config=changed,
            now=START + timedelta(days=1),
            progress=lambda done, total: seen.append((done, total)),
            batch_size=7,
        )
    assert seen == [(0, 23), (7, 23), (14, 23), (21, 23), (23, 23)]
    assert (report.recomputed, report.unchanged) == (20, 3)
    assert report.problems[0] == f"submission {ids[3]}: no stored impact factors"
    assert report.problems[1].startswith(f"submission {ids[5]}: factors are for location 'USA'")
    assert report.problems[2] == f"submission {ids[9]}: no stored impact factors"
    assert report.boards["live"] == 23

    with transaction(sessions) as s:
        for sid in ids:
            sub = s.get(Submission, sid)
            m = s.get(Measurement, sid)
            assert sub is not None and m is not None
            if sid in kept:
                assert sub.impact_total == kept[sid]
                continue
            want = impacts_from_factors(fra, changed.impact, m.total_energy_j, m.duration_s)
            rows = s.execute(
                sa.select(
                    Impact.criterion,
                    Impact.use,
                    Impact.embodied,
                    Impact.total,
                    Impact.min,
                    Impact.max,
                    Impact.unit,
                )
                .where(Impact.submission_id == sid)
                .order_by(Impact.criterion)
            ).all()
            assert [tuple(r) for r in rows] == sorted(
                (f.criterion, f.use, f.embodied, f.total, f.min, f.max, f.unit) for f in want.all()
            )
            assert (sub.impact_total, sub.impact_min, sub.impact_max, sub.impact_unit, sub.gwp_kgco2e) == (
                want.headline.total,
                want.headline.min,
                want.headline.max,
                want.headline.unit,
                want.gwp.total,
            )
            assert m.factors == fra.model_dump(mode="json")
        # and the boards ranked again, at the rescore
        assert s.execute(sa.select(Event.boards_refreshed_at)).scalar_one() == START + timedelta(days=1)
