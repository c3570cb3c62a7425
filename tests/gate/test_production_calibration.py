"""The production gate's error rates on live-call-shaped data (clustered callers, heavy-tailed
latency, a time-ordered release switch): two releases that are the same are seldom blocked, and a
real loss in one accent is found there."""

from __future__ import annotations

from pathlib import Path

import pytest
from scipy.stats import binom

from callgate.comparison.sides import load_side
from callgate.gate.engine import run_gate
from callgate.gate.policy import load_policy
from callgate.production.ingest.batch import ingest
from callgate.store.db import Store
from support.call_logs import make_calls, write_call_log

RUNS = 24


def _decide(tmp: Path, seed: int, harm: dict[str, float] | None) -> tuple[str, set[str]]:
    root = tmp / f"s{seed}"
    root.mkdir()
    log = write_call_log(root / "calls.jsonl", make_calls(1600, seed=seed, harm=harm, spike=0.0))
    out = ingest(Store.open(root / "st"), [log])
    assert out.run_id is not None
    base = load_side(f"{out.run_id}:2026.11.1", root / "st")
    cand = load_side(f"{out.run_id}:2026.11.2", root / "st")
    _, decision = run_gate(load_policy("production"), base, cand, seed=seed, resamples=400)
    blocked = {c.slice for c in decision.checks if c.status == "block"}
    return decision.label, blocked


@pytest.mark.slow
def test_equal_releases_are_seldom_blocked_and_a_broken_accent_is_found(tmp_path: Path) -> None:
    null = [_decide(tmp_path, 100 + s, None)[0] for s in range(RUNS)]
    false_blocks = null.count("BLOCK")
    # At most 5% false blocks, with the exact binomial allowance for RUNS runs (one-sided 1%).
    assert false_blocks <= binom.ppf(0.99, RUNS, 0.05), null
    found = [_decide(tmp_path, 200 + s, {"scottish": 0.3}) for s in range(RUNS // 3)]
    print(f"false blocks {false_blocks}/{RUNS}, undecided {null.count('UNDECIDED')}/{RUNS}; "
          f"loss found {sum('accent=scottish' in b for _, b in found)}/{len(found)}")  # fmt: skip
    assert all("accent=scottish" in blocked for _, blocked in found), found
