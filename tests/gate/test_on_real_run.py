"""The gate on a real (small) simulated run: its per-cohort numbers match the per-call table, and
one interval recomputed independently agrees (slow: real speech)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from callgate.evaluators.suite import DEFAULT_EVALUATORS
from callgate.execution.runner import RunRequest, execute, plan
from callgate.execution.scoring import score_run
from callgate.results.table import call_rows
from callgate.scenarios import load_suite
from callgate.store.db import Store
from callgate.variants import load_variants

pytestmark = pytest.mark.slow

IDS = [
    "balance-checking-simple",
    "freeze-debit-simple",
    "freeze-pause-i-want-to",
    "transfer-fifty-checking-to-savings",
    "dispute-uber",
    "pin-reset-credit",
    "multi-compound-freeze-and-balance",
    "human-immediate",
]


def p95(x: np.ndarray) -> float:
    return float(np.percentile(x, 95, method="inverted_cdf"))


def test_gate_reasons_match_the_call_table(shared_store: Path, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    req = RunRequest(
        suite := load_suite("banking"),
        load_variants(["baseline", "candidate"], suite),
        scenarios=IDS,
        cohort=["noise=clean"],
    )
    p = plan(req)
    store = Store.open(shared_store)
    assert not execute(store, p, executor="local", workers=2).failed
    assert not score_run(store, p.run_id, DEFAULT_EVALUATORS, executor="local", workers=2).failed

    out = tmp_path / "gate"
    code, stdout, _err = cli(
        "gate",
        f"{p.run_id}:baseline",
        f"{p.run_id}:candidate",
        "--store",
        str(shared_store),
        "--out",
        str(out),
    )
    report = json.loads((out / "gate.json").read_text())
    assert code == {"PROMOTE": 0, "BLOCK": 1, "UNDECIDED": 3}[report["decision"]]
    assert report["decision"] in stdout and report["paired"] is True
    # Too few calls for the required holdout cohort: the gate refuses to promote and says so.
    assert report["decision"] == "UNDECIDED"
    assert any("holdout" in r["message"] for r in report["undecided"])

    rows = call_rows(store, p.run_id)[0]
    by_key = {(r["scenario_id"], r["cohort_id"], r["repeat"], r["variant"]): r for r in rows}

    # 1. Per-cohort point estimates equal what the per-call table says.
    check = next(
        c
        for c in report["checks"]
        if c["metric"] == "task_completion" and c["slice"] == "accent=scottish"
    )
    pairs = [
        (by_key[(s, c, k, "baseline")]["task_completion"], r["task_completion"])
        for (s, c, k, v), r in by_key.items()
        if v == "candidate" and r["tag_accent"] == "scottish"
    ]
    base, cand = np.array(pairs).T
    assert check["n"] == len(pairs) == len(IDS)
    assert check["baseline"] == pytest.approx(base.mean())
    assert check["candidate"] == pytest.approx(cand.mean())
    assert check["delta"] == pytest.approx(cand.mean() - base.mean())

    # 2. The global p95 first-audio interval, recomputed with a plain paired cluster bootstrap
    #    over scenarios (the gate takes percentiles as numpy's inverted-CDF quantile, documented
    #    in docs/gate.md).
    ttfa = next(c for c in report["checks"] if c["metric"] == "ttfa_p50_s" and c["slice"] == "all")
    pairs = [
        (s, by_key[(s, c, k, "baseline")]["ttfa_p50_s"], r["ttfa_p50_s"])
        for (s, c, k, v), r in by_key.items()
        if v == "candidate"
    ]
    kept = [p for p in pairs if not np.isnan(p[1:]).any()]
    arr = np.array([p[1:] for p in kept])
    scenarios = sorted({p[0] for p in kept})
    rows_of = {sc: [i for i, p in enumerate(kept) if p[0] == sc] for sc in scenarios}
    rng = np.random.default_rng(12345)
    deltas = []
    for _ in range(4000):
        drawn = rng.integers(0, len(scenarios), len(scenarios))
        idx = [i for d in drawn for i in rows_of[scenarios[d]]]
        deltas.append(p95(arr[idx, 1]) - p95(arr[idx, 0]))
    low, high = np.percentile(deltas, [2.5, 97.5])
    assert ttfa["delta"] == pytest.approx(p95(arr[:, 1]) - p95(arr[:, 0]), abs=1e-9)
    width = high - low
    assert abs(ttfa["ci_low"] - low) < 0.15 * width + 0.01
    assert abs(ttfa["ci_high"] - high) < 0.15 * width + 0.01

    # 3. The demo's closing step (gate + report) works on the same run.
    from callgate.cli.steps import demo_decision

    demo_decision(shared_store)
    assert (shared_store / "demo" / "gate" / "junit.xml").exists()
    html = (shared_store / "demo" / "report.html").read_text()
    assert report["decision"] in html and "<svg" in html
