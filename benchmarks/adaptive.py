"""Adaptive runs against the fixed design of equal power, on synthetic runs shaped like real ones.

The cases (`callgate.gate.sequential_sim.standard_cases`): no change; better, unevenly (gains of
15, 10, 5 and 0 points across the cohorts); one cohort losing 25 points; one cohort losing exactly
its margin. Per case the adaptive design (batches of new scenarios, only for cohorts an open check
still needs, gated after every batch at alpha / looks) is run ``--runs`` times; its rate of the
right decision is its power on that case. The fixed design of equal power is the smallest number
of pairs per cohort at which one fixed run reaches at least that rate in every case where a
decision is expected (found by bisection, each point with the same number of runs). Printed: the
decisions of both designs, the error rates (false block with no change; false promote with a loss
at the margin) and the average scored pairs to a decision. Goal: at least 40% fewer pairs.

Usage: python benchmarks/adaptive.py [--runs 200] [--looks 4] [--batch 120] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

from callgate.gate.calibration_data import default_shapes
from callgate.gate.policy import load_policy
from callgate.gate.sequential import Design
from callgate.gate.sequential_sim import (
    Outcomes,
    equal_power_n,
    run_adaptive,
    run_fixed,
    standard_cases,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--looks", type=int, default=4)
    ap.add_argument("--batch", type=int, default=120, help="pairs per cohort per look")
    ap.add_argument("--cohorts", type=int, default=8)
    ap.add_argument("--policy", default="default")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    policy = load_policy(args.policy)
    shapes = default_shapes(args.cohorts, (0.25, 0.35))
    margin = policy.metrics["task_completion"].non_inferiority_margin or 0.1
    cases = standard_cases(args.cohorts, margin)
    design = Design(args.looks)
    t0 = time.perf_counter()
    adaptive = {
        c.name: run_adaptive(policy, shapes, c, design, args.batch, args.runs, seed=args.seed)
        for c in cases
    }
    t_adaptive = time.perf_counter() - t0
    decided = [c for c in cases if c.expect != "UNDECIDED"]
    targets = [(c, adaptive[c.name].rate(c.expect)) for c in decided]
    t0 = time.perf_counter()
    n, fixed = equal_power_n(
        policy, shapes, targets, args.runs, most=4 * args.looks * args.batch, seed=args.seed
    )
    t_fixed = time.perf_counter() - t0
    print(
        f"{args.cohorts} cohorts, 25-35% discordant pairs, scenarios of 3 calls; policy "
        f"{args.policy}; {args.runs} runs per case; adaptive: {args.looks} looks of "
        f"{args.batch} pairs per open cohort, each test at alpha/{args.looks}"
    )
    print(f"{'case':40} {'adaptive decisions':38} {'pairs':>7} | fixed (n={n}) {'':22} pairs")
    total_a = total_f = 0.0
    for c in cases:
        a = adaptive[c.name]
        f = fixed.get(c.name) or (
            run_fixed(policy, shapes, c, n, args.runs, args.seed) if n else None
        )
        fd = "" if f is None else _share(f)
        fp = 0.0 if f is None else f.mean_pairs
        print(f"{c.name:40} {_share(a):38} {a.mean_pairs:7.0f} | {fd:36} {fp:5.0f}")
        if c.expect != "UNDECIDED":
            total_a += a.mean_pairs
            total_f += fp
    no_change = adaptive[cases[0].name]
    at_margin = adaptive[cases[-1].name]
    print(
        f"adaptive error rates: false block (no change) {no_change.rate('BLOCK'):.1%}, "
        f"false promote (loss at the margin) {at_margin.rate('PROMOTE'):.1%}"
    )
    if n is None:
        print("no fixed design up to the bound reaches the adaptive design's power")
    else:
        saved = 1 - total_a / total_f
        print(
            f"average pairs to a decision over the cases that expect one: adaptive "
            f"{total_a / len(decided):.0f}, fixed of equal power {total_f / len(decided):.0f} "
            f"({saved:.0%} fewer)"
        )
    print(f"took {t_adaptive:.0f} s (adaptive) + {t_fixed:.0f} s (finding the fixed design)")


def _share(o: Outcomes) -> str:
    return ", ".join(f"{k} {v / o.runs:.0%}" for k, v in sorted(o.decisions.items()))


if __name__ == "__main__":
    main()
