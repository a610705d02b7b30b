"""How long ranking 10,000 submissions of 200 teams takes, for each ranking method and per-team rule.

Run: ``.venv/bin/python bench/rank_throughput.py [--submissions N] [--teams T] [--repeat R]``.
Prints one row per (method, per_team): the median and the best wall time of R runs, and how many rows were
ranked. The board is random but seeded, so runs are comparable: accuracies around 0.75, footprints log-uniform
over four orders of magnitude (1e-6 to 1e-2 kgCO2e), 5% excluded, 10% below the minimum, a tenth selected.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from greenhack.config import ImpactSection, PerformanceSection, RankingSection
from greenhack.scoring import RankInput, rank_submissions

__all__ = ["board", "main"]

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=10_000)
    parser.add_argument("--teams", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    inputs = board(args.submissions, args.teams)
    performance = PerformanceSection(metric="accuracy", minimum=0.62)
    impact = ImpactSection(criterion="gwp")
    print(f"ranking {args.submissions} submissions of {args.teams} teams; {args.repeat} runs each")
    print(f"{'method':<11} {'per_team':<9} {'median ms':>10} {'best ms':>9} {'ranked':>7} {'listed':>7}")
    for method, extra in METHODS.items():
        for per_team in ("best", "latest", "selected"):
            ranking = RankingSection.model_validate({"method": method, "per_team": per_team, **extra})
            times = []
            rows = []
            for _ in range(args.repeat):
                began = time.perf_counter()
                rows = rank_submissions(inputs, ranking, performance, impact=impact)
                times.append(time.perf_counter() - began)
            ranked = sum(1 for row in rows if row.rank is not None)
            print(
                f"{method:<11} {per_team:<9} {statistics.median(times) * 1000:>10.1f} "
                f"{min(times) * 1000:>9.1f} "
                f"{ranked:>7} {len(rows):>7}"
            )


if __name__ == "__main__":
    main()
