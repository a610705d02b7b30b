"""Memory and time of refusing hostile input (issue 15): alias bombs, deep nesting, endless predictions lines.

Run: ``.venv/bin/python bench/hostile_input.py [--compare OTHER_SRC] [--cases NAME,...] [--limit-s S]``.
Each case runs in a fresh process (so one case's memory does not hide another's) under a 6 GiB address-space
cap and a time limit, with this checkout's ``src/`` first on the path; ``--compare`` runs every case with another
checkout's ``src/`` too (e.g. the main branch, before the fix), side by side in one run. Prints per case and
source: the wall time, the peak of Python allocations (tracemalloc; the input itself is built before tracing
starts, so it is not counted), the process's maximum RSS, and the first line of what the loader answered.
A normal 1,000,000-row predictions file is included to show what the line-width check costs a valid file.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = ["CASES", "main"]

SRC = Path(__file__).resolve().parents[1] / "src"
ADDRESS_SPACE_BYTES = 6 * 1024**3


def laughs(levels: int) -> str:
    """The classic alias bomb: each level lists the previous one ten times (10**levels values expanded)."""
    lines = ['lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        lines.append(f"lol{level}: &lol{level} [" + ", ".join([f"*lol{level - 1}"] * 10) + "]")
    return "\n".join(lines) + f"\nevent:\n  name: *lol{levels - 1}\n"


def _yaml(text: str) -> Callable[[], object]:
    from greenhack.config import parse_event  # noqa: PLC0415  (imported in the child, from the source tested)

    return lambda: parse_event(text, filename="bench.yaml")


def _expression(text: str) -> Callable[[], object]:
    from greenhack.scoring import check_expression  # noqa: PLC0415

    return lambda: check_expression(text)


def _predictions(content: bytes) -> Callable[[], object]:
    from greenhack.config import TaskSection  # noqa: PLC0415
    from greenhack.scoring import parse_truth, read_predictions  # noqa: PLC0415

    ids = range(1, 1_000_001)
    truth_csv = ("id,label\n" + "".join(f"{i},{'cat' if i % 2 else 'dog'}\n" for i in ids)).encode()
    truth = parse_truth(truth_csv, source="truth.csv", id_column="id", target_column="label", metric="accuracy")
    task = TaskSection.model_validate(
        {"predictions": "predictions.csv", "truth": "truth.csv", "public_fraction": 0.5, "max_predictions_mb": 250}
    )
    return lambda: read_predictions(content, truth=truth, task=task, metric="accuracy")


def _valid_predictions() -> bytes:
    return ("id,label\n" + "".join(f"{i},{'cat' if i % 2 else 'dog'}\n" for i in range(1, 1_000_001))).encode()


CASES: dict[str, Callable[[], Callable[[], object]]] = {
    "yaml-bomb-1e6-values": lambda: _yaml(laughs(6)),
    "yaml-bomb-1e9-values": lambda: _yaml(laughs(9)),
    "yaml-nested-5000-deep": lambda: _yaml("event: " + "[" * 5000 + "]" * 5000 + "\n"),
    "formula-nested-450-deep": lambda: _expression("(" * 450 + "accuracy" + ")" * 450),
    "csv-190MB-line-of-commas": lambda: _predictions(b"id,label\n1,cat\n" + b"," * 190_000_000 + b"\n"),
    "csv-valid-1M-rows": lambda: _predictions(_valid_predictions()),
}


def _child(name: str) -> None:
    import resource  # noqa: PLC0415
    import time  # noqa: PLC0415
    import tracemalloc  # noqa: PLC0415

    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_BYTES, ADDRESS_SPACE_BYTES))
    run = CASES[name]()
    tracemalloc.start()
    start = time.perf_counter()
    try:
        run()
        answer = "accepted"
    except MemoryError:
        answer = "MemoryError"
    except Exception as exc:  # noqa: BLE001  (the answer is what is measured)
        answer = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    wall_s = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"wall_s": wall_s, "peak_mb": peak / 1e6, "rss_mb": rss_kb / 1e3, "answer": answer[:110]}))


def _measure(name: str, src: Path, limit_s: float) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", name], env=env, capture_output=True, text=True, timeout=limit_s
        )
    except subprocess.TimeoutExpired:
        return {"answer": f"still running after {limit_s:g} s (killed)"}
    if done.returncode != 0 or not done.stdout.strip():
        return {"answer": f"crashed (exit {done.returncode}): {done.stderr.strip().splitlines()[-1:]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _ratio(other: object, this: object) -> float:
    return float(other) / max(float(this), 1e-9)  # type: ignore[arg-type]


def _cell(result: dict[str, object]) -> str:
    if "wall_s" not in result:
        return str(result["answer"])
    return f"{result['wall_s']:8.2f} s {result['peak_mb']:9.1f} MB {result['rss_mb']:8.0f} MB  {result['answer']}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", type=Path, help="another checkout's src/ to run side by side (before)")
    parser.add_argument("--cases", help="comma-separated case names (default: all)")
    parser.add_argument("--limit-s", type=float, default=120.0, help="time limit of one case")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child)
        return
    names = args.cases.split(",") if args.cases else list(CASES)
    sources = [("this", SRC)] + ([("other", args.compare.resolve())] if args.compare else [])
    print(f"{'case':26} {'source':6} {'wall':>10} {'py peak':>12} {'max RSS':>11}  answer")
    for name in names:
        results = {label: _measure(name, src, args.limit_s) for label, src in sources}
        for label, result in results.items():
            print(f"{name:26} {label:6} {_cell(result)}")
        if len(results) == 2 and all("wall_s" in r for r in results.values()):
            this, other = results["this"], results["other"]
            time_ratio = _ratio(other["wall_s"], this["wall_s"])
            peak_ratio = _ratio(other["peak_mb"], this["peak_mb"])
            print(f"{'':26} {'ratio':6} {time_ratio:8.1f}x time {peak_ratio:8.1f}x py peak (other / this)")


if __name__ == "__main__":
    main()
