"""Comparison speed: two exported results files of 100,000 calls each, 20 cohorts, 2000 resamples.

Generates a baseline and a candidate results file with the columns of docs/results.md (identity
columns, ``tag_call_type`` with 20 cohorts, ``tag_split``, and every callgate metric: pass/fail as
0/1, rates in [0, 1], others lognormal, 3% of cells not scored), paired by scenario, cohort and
repeat like a simulated run. Then times ``callgate compare BASE CAND`` end to end in a fresh
process (every metric, global + 20 cohorts + 2 splits, ``--resamples 2000``), and prints where the
time goes in-process (loading both files, pairing and bootstrap). The goal is under 30 s.

Usage: python benchmarks/compare.py [--calls 100000] [--cohorts 20] [--resamples 2000]
       [--format parquet|csv|jsonl] [--unpaired] [--keep DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from callgate.comparison.session import DEFAULT_BY, run_compare, select_metrics
from callgate.comparison.sides import load_side
from callgate.evaluators.base import metric_index
from callgate.evaluators.suite import load_evaluators
from callgate.results.table import CALL_ID_COLUMNS


def generate(calls: int, cohorts: int, seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Column dicts of both sides; the candidate is slightly better in most metrics."""
    load_evaluators()
    rng = np.random.default_rng(seed)
    idx = np.arange(calls)
    cohort = np.array([f"c{i % cohorts + 1:02d}" for i in idx], dtype=object)
    split = np.where(rng.random(calls) < 0.25, "holdout", "dev").astype(object)
    ident = {
        "run_id": np.full(calls, "bench", dtype=object),
        "source": np.full(calls, "simulated", dtype=object),
        "suite": np.full(calls, "bench", dtype=object),
        "scenario_id": np.array([f"s{i}" for i in idx], dtype=object),
        "repeat": np.zeros(calls, dtype=np.int64),
        "seed": idx.astype(np.int64),
        "split": split,
        "cohort_id": np.array([f"call_type={c}" for c in cohort], dtype=object),
        "ended_by": np.full(calls, "agent_hangup", dtype=object),
        "tag_call_type": cohort,
        "tag_split": split,
    }
    sides = []
    for variant in ("baseline", "candidate"):
        cols: dict[str, Any] = dict(ident)
        cols["call_id"] = np.array([f"{variant[0]}{i}" for i in idx], dtype=object)
        cols["variant"] = np.full(calls, variant, dtype=object)
        sides.append(cols)
    for name, m in metric_index().items():
        if m.kind == "binary":
            level = rng.random(calls)
            values = [(level < 0.8 + s).astype(float) for s in (0.0, 0.01)]
        elif m.kind == "rate":
            level = rng.beta(8, 2, calls)
            values = [np.clip(level + rng.normal(s, 0.05, calls), 0, 1) for s in (0.0, 0.01)]
        else:
            level = rng.lognormal(0, 0.5, calls)
            values = [level * rng.lognormal(-s, 0.1, calls) for s in (0.0, 0.01)]
        for side, v in zip(sides, values, strict=True):
            v[rng.random(calls) < 0.03] = np.nan
            side[name] = v
    return sides[0], sides[1]


def write(cols: dict[str, Any], path: Path, fmt: str) -> None:
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        order = [c for c, _ in CALL_ID_COLUMNS] + [
            c for c in cols if c not in dict(CALL_ID_COLUMNS)
        ]
        pq.write_table(pa.table({c: cols[c] for c in order}), path)
        return
    from callgate.results.export import write_table

    dtypes = dict(CALL_ID_COLUMNS)
    columns = [(c, dtypes.get(c, "string" if c.startswith("tag_") else "float64")) for c in cols]
    n = len(cols["call_id"])
    rows = [
        {c: (None if isinstance(v[i], float) and np.isnan(v[i]) else v[i]) for c, v in cols.items()}
        for i in range(n)
    ]
    write_table(rows, columns, path, fmt)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=100_000)
    ap.add_argument("--cohorts", type=int, default=20)
    ap.add_argument("--resamples", type=int, default=2000)
    ap.add_argument("--format", default="parquet", choices=["parquet", "csv", "jsonl"])
    ap.add_argument("--unpaired", action="store_true", help="compare as production A/B")
    ap.add_argument("--keep", type=Path, help="write the files here and keep them")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="callgate-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    base_cols, cand_cols = generate(args.calls, args.cohorts, args.seed)
    paths = [folder / f"{v}.{args.format}" for v in ("baseline", "candidate")]
    for cols, path in zip((base_cols, cand_cols), paths, strict=True):
        write(cols, path, args.format)
    took = time.perf_counter() - t
    print(f"generated 2 x {args.calls} calls, {args.cohorts} cohorts in {took:.1f} s")

    t0 = time.perf_counter()
    base, cand = load_side(str(paths[0]), None), load_side(str(paths[1]), None)
    t1 = time.perf_counter()
    specs, _ = select_metrics(base, cand, [])
    result = run_compare(
        base,
        cand,
        specs,
        by=[t for t in DEFAULT_BY if t in base.tags],
        combinations=[],
        resamples=args.resamples,
        force_unpaired=args.unpaired,
    )
    t2 = time.perf_counter()
    print(
        f"in-process: load {t1 - t0:.1f} s, pair + bootstrap {t2 - t1:.1f} s: "
        f"{len(specs)} metrics x {len(result.slices)} slices = {len(result.comparisons)} "
        f"comparisons ({result.pairing.note.split(':')[0]})"
    )

    cmd = [sys.executable, "-m", "callgate.cli.main", "compare", str(paths[0]), str(paths[1])]
    cmd += ["--resamples", str(args.resamples), "--json", str(folder / "compare.json")]
    cmd += ["--unpaired"] if args.unpaired else []
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t
    if done.returncode != 0:
        sys.exit(f"callgate compare failed ({done.returncode}): {done.stderr.strip()}")
    verdict = "under" if wall < 30 else "OVER"
    print(f"callgate compare end to end: {wall:.1f} s ({verdict} the 30 s goal)")
    if args.keep is None:
        for p in folder.iterdir():
            p.unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
