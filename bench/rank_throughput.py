"""How long ranking 10,000 submissions of 200 teams takes, for each ranking method and per-team rule, with
``ranking.ties: none`` and ``ties: significant`` side by side in one run.

Run: ``.venv/bin/python bench/rank_throughput.py [--submissions N] [--teams T] [--repeat R]``.
Prints one row per (method, per_team): the median and the best wall time of R runs with ``ties: none``, the
median with ``ties: significant`` and their ratio, how many rows were ranked and how many share a rank. The board
is random but seeded, so runs are comparable: accuracies around 0.75, footprints log-uniform over four orders of
magnitude (1e-6 to 1e-2 kgCO2e), 5% excluded, 10% below the minimum, a tenth selected; for significance every
submission carries 1,000 bootstrap replicates (float32, as stored) and a ±2 % measurement spread (±5 % sensor,
one of 4 servers), of which the ranking draws the first 200.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np

from greenhack.config import ImpactSection, PerformanceSection, RankingSection
from greenhack.scoring import RankInput, ReplicateVector, rank_submissions
from greenhack.scoring.bootstrap import BOOTSTRAP_REPLICATES
from greenhack.scoring.models import MeasurementSpread

__all__ = ["board", "main", "with_intervals"]

METHODS: dict[str, dict[str, object]] = {
    "weighted": {"weights": {"performance": 0.5, "impact": 0.5}},
    "ratio": {},
    "pareto": {"weights": {"performance": 0.5, "impact": 0.5}},
    "threshold": {},
    "expression": {"expression": "accuracy - 0.05 * log10(gwp_g) - 0.01 * log10(energy_wh)"},
}


def board(n_submissions: int, n_teams: int, *, seed: int = 2026) -> list[RankInput]:
    """A random, seeded board of ``n_submissions`` spread over ``n_teams`` teams."""
    rng = random.Random(seed)
    start = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    inputs = []
    for k in range(n_submissions):
        gwp_kgco2e = 10 ** rng.uniform(-6, -2)
        accuracy = min(1.0, max(0.0, rng.gauss(0.75, 0.1)))
        inputs.append(
            RankInput(
                submission_id=k,
                team=f"team-{rng.randrange(n_teams):03d}",
                submitted_at=start + timedelta(seconds=rng.randrange(32 * 3600)),
                performance=accuracy,
                impact=gwp_kgco2e,
                energy_j=gwp_kgco2e / 60e-9,  # ~60 gCO2e/kWh
                gwp_kgco2e=gwp_kgco2e,
                duration_s=rng.uniform(10, 1200),
                excluded="needs review: telemetry gap" if rng.random() < 0.05 else None,
                selected=rng.random() < 0.1,
            )
        )
    return inputs


def with_intervals(inputs: list[RankInput], *, seed: int = 7) -> list[RankInput]:
    """The same board, each submission with bootstrap replicates (about ±1 point of accuracy) and a spread."""
    rng = np.random.default_rng(seed)
    out = []
    for k, row in enumerate(inputs):
        centre = row.performance if row.performance is not None else 0.0
        vector = ReplicateVector((centre + 0.005 * rng.standard_normal(BOOTSTRAP_REPLICATES)).astype(np.float32))
        spread = MeasurementSpread(energy_rel=0.02, sensor_rel=0.05, group=f"gpu-{k % 4}")
        out.append(replace(row, performance_replicates=vector, measurement=spread))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=10_000)
    parser.add_argument("--teams", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    inputs = board(args.submissions, args.teams)
    uncertain = with_intervals(inputs)
    performance = PerformanceSection(metric="accuracy", minimum=0.62)
    impact = ImpactSection(criterion="gwp")
    print(f"ranking {args.submissions} submissions of {args.teams} teams; {args.repeat} runs each")
    print(f"{'method':<11} {'per_team':<9} {'none ms':>8} {'best ms':>8} | {'significant ms':>14} "
          f"{'ratio':>6} | {'ranked':>6} {'listed':>6} {'tied':>5}")
    for method, extra in METHODS.items():
        for per_team in ("best", "latest", "selected"):
            plain = RankingSection.model_validate({"method": method, "per_team": per_team, **extra})
            significant = plain.model_copy(update={"ties": "significant"})

            def timed(rows_in: list[RankInput], ranking: RankingSection) -> tuple[list[float], int, int, int]:
                times, rows = [], []
                for _ in range(args.repeat):
                    began = time.perf_counter()
                    rows = rank_submissions(rows_in, ranking, performance, impact=impact, seed="bench/public")
                    times.append(time.perf_counter() - began)
                ranked = sum(1 for row in rows if row.rank is not None)
                return times, ranked, len(rows), sum(1 for row in rows if row.tied)

            none_times, ranked, listed, _ = timed(inputs, plain)
            sig_times, _, _, tied = timed(uncertain, significant)
            none_ms, sig_ms = statistics.median(none_times) * 1000, statistics.median(sig_times) * 1000
            print(
                f"{method:<11} {per_team:<9} {none_ms:>8.1f} {min(none_times) * 1000:>8.1f} | {sig_ms:>14.1f} "
                f"{sig_ms / none_ms:>5.1f}x | {ranked:>6} {listed:>6} {tied:>5}"
            )


if __name__ == "__main__":
    main()
