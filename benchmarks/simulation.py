"""Simulation speed of the demo suite on this machine, and where the compute goes.

Runs the bundled banking suite for the bundled baseline and candidate into a fresh temporary store
(so every TTS and ASR result is computed, not cached), then prints:

* seconds of simulated call audio per wall-clock second (the headline speed), and
* the per-component compute split (caller TTS, agent TTS, ASR, VAD, channel, policy, storage)
  summed over all calls from each trace's measured compute times.

A second pass over the same store shows the speed when the speech cache is warm (what a re-run or a
resumed run costs).

Usage: python benchmarks/simulation.py [--grid default] [--workers 2] [--limit N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from callgate.execution.runner import RunRequest, execute, plan
from callgate.scenarios import load_suite
from callgate.store.db import Store
from callgate.variants import load_variants


def run_once(root: Path, req: RunRequest, workers: int) -> tuple[float, float, Counter[str], int]:
    p = plan(req)
    store = Store.open(root)
    t0 = time.perf_counter()
    outcome = execute(store, p, executor="local", workers=workers)
    wall = time.perf_counter() - t0
    if outcome.failed:
        sys.exit(f"{len(outcome.failed)} calls failed: {next(iter(outcome.failed.values()))}")
    audio = 0.0
    parts: Counter[str] = Counter()
    for trace in store.calls(p.run_id):
        audio += trace.duration_s
        parts.update(trace.measured)
    # Remove the run so the second pass simulates again (the speech cache stays).
    store.conn.execute("DELETE FROM calls WHERE run_id=?", (p.run_id,))
    store.conn.execute("DELETE FROM runs WHERE run_id=?", (p.run_id,))
    return wall, audio, parts, outcome.done


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--grid", default="default")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--limit", type=int, default=0, help="only the first N scenarios (0: all)")
    args = ap.parse_args()

    suite = load_suite("banking")
    ids = [s.id for s in suite.suite.scenarios]
    if args.limit:
        ids = ids[: args.limit]
    req = RunRequest(suite, load_variants(["baseline", "candidate"]), args.grid, scenarios=ids)
    print(
        f"machine: {os.cpu_count()} cores; workers: {args.workers}; grid: {args.grid}; "
        f"scenarios: {len(ids)}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for label in ("cold cache", "warm cache"):
            wall, audio, parts, calls = run_once(Path(tmp), req, args.workers)
            print(
                f"\n[{label}] {calls} calls, {audio:.0f} s of simulated call audio in "
                f"{wall:.1f} s wall: {audio / wall:.1f} s of call per wall second "
                f"({audio / wall / args.workers:.1f} per worker)"
            )
            total = sum(parts.values()) or 1.0
            print(f"  compute by component (sum over workers, {total:.1f} s):")
            for name, secs in parts.most_common():
                print(f"    {name:<11} {secs:8.2f} s  {100 * secs / total:5.1f}%")


if __name__ == "__main__":
    main()
