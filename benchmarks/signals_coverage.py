"""How often the 95% intervals of `callgate signals`' time-to-first-audio percentiles cover the
truth, for the interval the product uses (a design-effect order-statistic interval) beside a
cluster bootstrap over calls, measured on the same generated traffic in one run.

The traffic is the test suite's synthetic production calls (``tests/support/call_logs.py``:
callers clustered by a per-call difficulty, log-normal time to first audio). The truth is the
nearest-rank percentile of the turns of 40,000 calls of the same generator. For each of
``--calls`` (comma-separated) it draws ``--runs`` samples and prints the share of 95% intervals
holding the truth, per percentile and method (an open side bounds nothing).

Usage: python benchmarks/signals_coverage.py [--calls 60,250] [--runs 150]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from callgate.production.signals.stats import (
    ClusterBootstrap,
    interval_of,
    quantile_interval,
    sorted_turns,
    z_for,
)

# The synthetic traffic is a test fixture, not part of callgate: it lives with the tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.call_logs import make_calls

QS = (0.5, 0.95, 0.99)


def ttfa(calls: list[dict]) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[type-arg]
    """Per answered turn: the agent's start minus the end of the caller speech it answers."""
    values, ids = [], []
    for i, call in enumerate(calls):
        spoke = None
        for turn in call["turns"]:
            if turn["speaker"] == "caller":
                spoke = turn["end"]
            elif spoke is not None:
                values.append(turn["start"] - spoke)
                ids.append(i)
                spoke = None
    return np.array(values), np.array(ids)


def inside(low: float | None, high: float | None, true: float) -> bool:
    return (low is None or low <= true) and (high is None or true <= high)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", default="60,250")
    ap.add_argument("--runs", type=int, default=150)
    args = ap.parse_args()
    pooled, _ = ttfa(make_calls(40_000, seed=999, releases=("a",), spike=0.0))
    pooled.sort()
    truth = {q: pooled[math.ceil(q * pooled.size) - 1] for q in QS}
    z = z_for(0.95)
    for n in (int(c) for c in args.calls.split(",")):
        hits = {(m, q): 0 for m in ("order statistic", "bootstrap") for q in QS}
        turns_seen = 0
        for seed in range(args.runs):
            values, ids = ttfa(make_calls(n, seed=seed, releases=("a",), spike=0.0))
            turns = sorted_turns(values, ids)
            turns_seen += values.size
            reps, _ = ClusterBootstrap(n, 400, np.random.default_rng(seed)).run(turns, QS, [])
            for j, q in enumerate(QS):
                hits[("bootstrap", q)] += inside(*interval_of(reps[:, j], 0.95), truth[q])
                hits[("order statistic", q)] += inside(*quantile_interval(turns, n, q, z), truth[q])
        shown = ", ".join(
            f"{m} p{round(q * 100)} {h / args.runs:.0%}" for (m, q), h in hits.items()
        )
        print(f"{n} calls (~{turns_seen / args.runs:.0f} turns), {args.runs} runs: {shown}")


if __name__ == "__main__":
    main()
