"""Simulation speed of the demo suite on this machine, and where the compute goes.

Runs the banking suite (plugins/banking) for its baseline and candidate into a fresh temporary store
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

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from callgate.execution.runner import RunRequest, execute, plan
from callgate.scenarios import load_suite
from callgate.store.db import Store
from callgate.variants import load_variants

Samples = dict[str, list[tuple[float, float]]]


def run_once(
    root: Path, req: RunRequest, workers: int
) -> tuple[float, float, Counter[str], int, Samples]:
    p = plan(req)
    store = Store.open(root)
    t0 = time.perf_counter()
    outcome = execute(store, p, executor="local", workers=workers)
    wall = time.perf_counter() - t0
    if outcome.failed:
        sys.exit(f"{len(outcome.failed)} calls failed: {next(iter(outcome.failed.values()))}")
    audio = 0.0
    parts: Counter[str] = Counter()
    # (input size, measured seconds) per stage, from uncached turns only: the latency model's data.
    samples: Samples = {"asr": [], "tts": [], "policy": []}
    for trace in store.calls(p.run_id):
        audio += trace.duration_s
        parts.update(trace.measured)
        for turn in trace.agent_turns:
            m = turn.measured
            if turn.asr is not None and m.get("asr_cached") == 0.0:
                samples["asr"].append((turn.asr.audio_end - turn.asr.audio_start, m["asr_s"]))
            if turn.tts_text and m.get("tts_cached") == 0.0:
                samples["tts"].append((float(len(turn.tts_text)), m["tts_s"]))
            if "policy_s" in m:
                samples["policy"].append((0.0, m["policy_s"]))
    # Remove the run so the second pass simulates again (the speech cache stays).
    store.delete_run(p.run_id)
    return wall, audio, parts, outcome.done, samples


def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares intercept and slope of seconds against input size."""
    if len(points) < 3:
        return (float("nan"), float("nan"))
    x = np.array([p[0] for p in points])
    y = np.array([p[1] for p in points])
    if np.ptp(x) == 0:
        return (float(y.mean()), 0.0)
    slope, intercept = np.polyfit(x, y, 1)
    return (float(intercept), float(slope))


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
    req = RunRequest(
        suite, load_variants(["baseline", "candidate"], suite), args.grid, scenarios=ids
    )
    print(
        f"machine: {os.cpu_count()} cores; workers: {args.workers}; grid: {args.grid}; "
        f"scenarios: {len(ids)}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for label in ("cold cache", "warm cache"):
            wall, audio, parts, calls, samples = run_once(Path(tmp), req, args.workers)
            print(
                f"\n[{label}] {calls} calls, {audio:.0f} s of simulated call audio in "
                f"{wall:.1f} s wall: {audio / wall:.1f} s of call per wall second "
                f"({audio / wall / args.workers:.1f} per worker)"
            )
            total = sum(parts.values()) or 1.0
            print(f"  compute by component (sum over workers, {total:.1f} s):")
            for name, secs in parts.most_common():
                print(f"    {name:<11} {secs:8.2f} s  {100 * secs / total:5.1f}%")
            if label == "cold cache":
                a0, a1 = fit(samples["asr"])
                t0, t1 = fit(samples["tts"])
                p0, _ = fit(samples["policy"])
                print("  measured compute per stage (fit for the variants' latency models):")
                n_asr, n_tts, n_pol = (len(samples[k]) for k in ("asr", "tts", "policy"))
                print(f"    asr    base_s={a0:.3f} per_audio_s={a1:.4f}  ({n_asr} turns)")
                print(f"    tts    base_s={t0:.3f} per_char_s={t1:.5f}  ({n_tts} replies)")
                print(f"    policy mean {p0 * 1000:.2f} ms  ({n_pol} turns)")


if __name__ == "__main__":
    main()
