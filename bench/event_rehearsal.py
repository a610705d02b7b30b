"""The whole event, rehearsed: 50 teams x 40 submissions over a simulated two days on 4 simulated GPU servers,
2 workers, 100 board clients, with dropped/duplicated/forged webhooks, a Prometheus restart, a BoaviztAPI
outage, a worker SIGKILL, an exporter down, PostgreSQL connection drops and bad predictions.

Run: .venv/bin/python bench/event_rehearsal.py [--teams N] [--submissions N] [--replay SECONDS] [--clients N]
Prints the table of figures (and what is real, simulated or scaled); exit status 1 when a must-be-zero figure
is not zero or a probe failed. Takes about 10 minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

from greenhack.rehearsal import bench_scenario, run_rehearsal


def main() -> int:
    base = bench_scenario()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=base.teams)
    parser.add_argument("--submissions", type=int, default=base.submissions_per_team)
    parser.add_argument("--replay", type=float, default=base.replay_s, help="real seconds for the two days")
    parser.add_argument("--clients", type=int, default=base.board_clients)
    parser.add_argument(
        "--workdir", type=Path, default=None, help="keep logs here (default: a temporary folder)"
    )
    args = parser.parse_args()
    scenario = dataclasses.replace(
        base,
        teams=args.teams,
        submissions_per_team=args.submissions,
        replay_s=args.replay,
        board_clients=args.clients,
    )
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="greenhack-rehearsal-") as tmp:
        workdir = args.workdir or Path(tmp)
        result = run_rehearsal(scenario, workdir, say=lambda line: print(line, file=sys.stderr, flush=True))
    print(result.table())
    print(f"(whole run {time.monotonic() - began:.0f} s)")
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
