"""The scheduling core on PSPLIB: how close to published optima and to the plain CP-SAT model.

For each set (j30, j60, j120) solves every instance with the planner's scheduling core
(``clearfield.plan.psplib.solve_instance``: SGS warm start, tuned CP-SAT) and compares
with ``reference.json``: for j30 the published optima; for j60/j120 what a plain
CP-SAT model (one interval per job, precedences, one cumulative per resource; 2
workers, 10 s) reached and proved. Prints one JSON summary line, then a short table.
Usage:
    python bench/psplib.py [--limit 10] [--workers 2] [--sets j30,j60,j120] [--data DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from statistics import mean

import orjson

from clearfield.plan.psplib import solve_instance

ROOT = Path(__file__).resolve().parents[1]


def run_set(folder: Path, reference: dict, limit: float, workers: int) -> dict:
    """Solve every instance in ``folder``; figures against the reference."""
    rows = []
    t0 = time.perf_counter()
    for path in sorted(folder.glob("*.sm")):
        ref = reference[path.stem]
        t = time.perf_counter()
        r = solve_instance(path, limit, workers=workers)
        rows.append((path.stem, r, ref, time.perf_counter() - t))
        print(
            f"  {path.stem:10} {r['makespan']:4} lb {r['lower_bound']:4} "
            f"{'opt' if r['optimal'] else '   '} ref {ref['makespan']:4} lb {ref['lower_bound']:4} "
            f"{time.perf_counter() - t:5.1f} s",
            file=sys.stderr,
            flush=True,
        )
    ms = [r["makespan"] for _, r, _, _ in rows]
    return {
        "instances": len(rows),
        "seconds": round(time.perf_counter() - t0, 1),
        "max_seconds": round(max(t for *_, t in rows), 2),
        "reached_reference": sum(r["makespan"] <= ref["makespan"] for _, r, ref, _ in rows),
        "better_than_reference": sum(r["makespan"] < ref["makespan"] for _, r, ref, _ in rows),
        "worse_than_reference": sum(r["makespan"] > ref["makespan"] for _, r, ref, _ in rows),
        "proven_optimal": sum(r["optimal"] for _, r, _, _ in rows),
        "reference_proven_optimal": sum(ref["optimal"] for _, _, ref, _ in rows),
        "missed_reference_optimum": sum(
            ref["optimal"] and r["makespan"] > ref["makespan"] for _, r, ref, _ in rows
        ),
        "mean_gap_to_reference_pct": round(
            100
            * mean(
                (m - ref["makespan"]) / ref["makespan"]
                for m, (_, _, ref, _) in zip(ms, rows, strict=True)
            ),
            2,
        ),
        "mean_gap_to_reference_lb_pct": round(
            100
            * mean(
                (m - ref["lower_bound"]) / ref["lower_bound"]
                for m, (_, _, ref, _) in zip(ms, rows, strict=True)
            ),
            2,
        ),
        "mean_gap_to_own_lb_pct": round(
            100
            * mean((r["makespan"] - r["lower_bound"]) / r["lower_bound"] for _, r, _, _ in rows),
            2,
        ),
        "lower_bound_above_reference": sum(
            r["lower_bound"] > ref["lower_bound"] for _, r, ref, _ in rows
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, default=10.0, help="seconds per instance")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sets", default="j30,j60,j120")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "psplib")
    args = parser.parse_args()
    reference = json.loads((args.data / "reference.json").read_text())
    summary: dict[str, object] = {"limit_seconds": args.limit, "workers": args.workers}
    for name in args.sets.split(","):
        print(f"{name}:", file=sys.stderr, flush=True)
        summary[name] = run_set(args.data / name, reference, args.limit, args.workers)
    sys.stdout.write(orjson.dumps(summary).decode() + "\n")
    print(
        f"{'set':5} {'n':>3} {'=ref':>5} {'<ref':>5} {'>ref':>5} {'opt':>4} {'ref opt':>7} "
        f"{'gap ref%':>8} {'gap refLB%':>10} {'gap ownLB%':>10} {'time s':>7}"
    )
    for name in args.sets.split(","):
        s = summary[name]
        assert isinstance(s, dict)
        print(
            f"{name:5} {s['instances']:3} {s['reached_reference']:5} "
            f"{s['better_than_reference']:5} {s['worse_than_reference']:5} {s['proven_optimal']:4} "
            f"{s['reference_proven_optimal']:7} {s['mean_gap_to_reference_pct']:8} "
            f"{s['mean_gap_to_reference_lb_pct']:10} {s['mean_gap_to_own_lb_pct']:10} {s['seconds']:7}"
        )


if __name__ == "__main__":
    main()
