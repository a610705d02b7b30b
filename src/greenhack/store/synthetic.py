"""Synthetic submissions for benchmarks, tests and demos, written through the real write path.

Each submission goes through the queue (enqueue, claim, finish) and the store's writes (measurement with a power
timeline, impacts from BoaviztAPI-shaped factors via ``greenhack.impacts.impacts_from_factors``, performance on
both splits), so what a board shows afterwards is exactly what a real event would store. The numbers are drawn
from a seeded random generator: reproducible, plausible (tens of seconds to minutes, tens to hundreds of watts),
never presented as measurements.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from greenhack.config import EventConfig
from greenhack.impacts import impacts_from_factors
from greenhack.impacts.models import Bound, CriterionFactors, HardwareQuery, ServerFactors
from greenhack.status import Reason, Status
from greenhack.store import crud, queue
from greenhack.telemetry.models import ComponentEnergy, GpuEnergy, JobEnergy, PowerTimeline

__all__ = ["SyntheticJob", "synthetic_factors", "synthetic_job", "write_synthetic_submission"]

# Per-J use factors and per-s embodied factors of the right orders of magnitude for a GPU server in France
# (about 0.1 kgCO2e/kWh; a 2.5 tCO2e server over 5 years), with BoaviztAPI-like min/max ranges.
_FACTORS = {
    "gwp": ("kgCO2e", 0.098 / 3.6e6, 2500.0 / (5 * 365.25 * 86400)),
    "adpe": ("kgSbeq", 4.9e-8 / 3.6e6, 0.25 / (5 * 365.25 * 86400)),
    "pe": ("MJ", 11.3 / 3.6e6, 30000.0 / (5 * 365.25 * 86400)),
}


def synthetic_factors(location: str, *, fetched_at: datetime) -> ServerFactors:
    """Factors shaped like BoaviztAPI's for one made-up GPU server at ``location``."""

    def crit(unit: str, use: float, embodied: float) -> CriterionFactors:
        return CriterionFactors(
            unit=unit,
            use_per_j=Bound(value=use, min=use * 0.8, max=use * 1.2),
            embodied_per_s=Bound(value=embodied, min=embodied * 0.6, max=embodied * 1.6),
            use_source="synthetic",
        )

    return ServerFactors(
        key=f"synthetic-{location}",
        boavizta_version="synthetic",
        boavizta_url="http://127.0.0.1:5000",
        fetched_at=fetched_at,
        location=location,
        hardware=HardwareQuery(
            cpu_name="synthetic cpu",
            cpu_units=2,
            ram_gb=192,
            gpu_name="synthetic gpu",
            gpu_units=1,
            lifetime_hours=5 * 365.25 * 24,
        ),
        cpu_matched_name="synthetic cpu",
        gpu_matched_name="synthetic gpu",
        gwp=crit(*_FACTORS["gwp"]),
        adpe=crit(*_FACTORS["adpe"]),
        pe=crit(*_FACTORS["pe"]),
        request={"synthetic": True},
    )


@dataclass(frozen=True)
class SyntheticJob:
    """A made-up job: its window's energy, and its performance on the public and private rows."""

    energy: JobEnergy
    performance_public: float
    performance_private: float


def synthetic_job(rng: random.Random, *, server: str, start: datetime, points: int = 24) -> SyntheticJob:
    """A job of 20 s to 10 min drawing 80-400 W of GPU and 60-200 W of CPU, with a sampled power timeline."""
    duration_s = rng.uniform(20.0, 600.0)
    cpu_w, gpu_w = rng.uniform(60.0, 200.0), rng.uniform(80.0, 400.0)
    end = start + timedelta(seconds=duration_s)
    step = duration_s / (points - 1)
    cpu_series, gpu_series = [], []
    for i in range(points):
        t = start + timedelta(seconds=i * step)
        cpu_series.append((t, max(0.0, cpu_w * rng.uniform(0.85, 1.15))))
        gpu_series.append((t, max(0.0, gpu_w * rng.uniform(0.7, 1.2))))
    cpu_j, gpu_j = cpu_w * duration_s, gpu_w * duration_s
    uuid = "GPU-00000000-0000-0000-0000-000000000001"
    energy = JobEnergy(
        server=server,
        start=start,
        end=end,
        duration_s=duration_s,
        cpu_energy_j=cpu_j,
        gpu_energy_j=gpu_j,
        gpus={uuid: GpuEnergy(uuid=uuid, energy_j=gpu_j, method="gauge", coverage=1.0, max_gap_s=step)},
        total_energy_j=cpu_j + gpu_j,
        coverage=1.0,
        max_gap_s=step,
        valid=True,
        methods={"cpu": "counter", uuid: "gauge"},
        cpu=ComponentEnergy(energy_j=cpu_j, method="counter", coverage=1.0, max_gap_s=step),
        timeline=PowerTimeline(series={"cpu": cpu_series, f"gpu:{uuid}": gpu_series}),
    )
    quality = rng.uniform(0.55, 0.97)
    return SyntheticJob(
        energy=energy,
        performance_public=min(1.0, quality + rng.uniform(-0.02, 0.02)),
        performance_private=min(1.0, quality + rng.uniform(-0.03, 0.03)),
    )


def write_synthetic_submission(
    *,
    session: Session,
    config: EventConfig,
    event_id: int,
    team_id: int,
    project_id: int,
    job_id: int,
    job: SyntheticJob,
    factors: ServerFactors,
    status: Status = Status.SCORED,
    reason: Reason | None = None,
) -> int:
    """Queue, claim, measure, score and finish one synthetic submission; return its id."""
    created = job.energy.start - timedelta(seconds=5)
    queued = queue.enqueue(
        session=session,
        event_id=event_id,
        team_id=team_id,
        gitlab_project_id=project_id,
        gitlab_job_id=job_id,
        gitlab_pipeline_id=job_id // 2,
        commit_sha=f"{job_id:040x}",
        ref="main",
        job_url=f"https://gitlab.example.org/p/{project_id}/-/jobs/{job_id}",
        submitted_at=created,
        now=created,
    )
    worker = f"synthetic-{job_id}"
    claimed = queue.claim(session=session, worker=worker, lease_s=3600, now=job.energy.end)
    if claimed is None or claimed.submission_id != queued.submission_id:
        raise RuntimeError("the synthetic submission was not the oldest due one; use an empty queue")
    sid = queued.submission_id
    crud.record_measurement(session=session, submission_id=sid, energy=job.energy)
    impacts = impacts_from_factors(factors, config.impact, job.energy.total_energy_j, job.energy.duration_s)
    crud.record_impacts(session=session, submission_id=sid, impacts=impacts)
    if status != Status.INVALID:
        metric = config.performance.metric
        crud.record_performance(
            session=session,
            submission_id=sid,
            split="public",
            metric=metric,
            value=job.performance_public,
            rows=300,
        )
        crud.record_performance(
            session=session,
            submission_id=sid,
            split="private",
            metric=metric,
            value=job.performance_private,
            rows=700,
        )
    queue.finish(
        session=session,
        submission_id=sid,
        worker=worker,
        status=status,
        reason=reason,
        now=job.energy.end + timedelta(seconds=_evaluation_delay_s(job)),
    )
    return sid


def _evaluation_delay_s(job: SyntheticJob) -> float:
    """Evaluation time of a synthetic job: a few seconds, derived from its duration (no extra randomness)."""
    return 2.0 + job.energy.duration_s / 100.0
