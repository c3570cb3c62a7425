"""Production signals: hand-computed values on four calls, the generated p99 spike, coverage of the
intervals on clustered data, and the refusals (simulated run, unknown tag)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from callgate.errors import UsageError
from callgate.production.ingest.batch import ingest
from callgate.production.signals.compute import CallFacts, compute_signals, signals_of
from callgate.production.signals.model import SignalsReport, SignalsSettings
from callgate.production.signals.stats import wilson, z_for
from callgate.store.db import Store
from factories import call
from support.call_logs import make_calls, write_call_log

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)  # a Monday


def facts(release: str, hours: float, accent: str, **kw: object) -> CallFacts:
    base: dict[str, object] = {
        "release": release,
        "started": T0 + timedelta(hours=hours),
        "cohort": {"accent": accent, "channel": "phone"},
        "run_id": "run1",
        "failed": False,
        "ttfa": [],
        "transferred": False,
        "corrected": False,
        "confidences": [],
        "cost": None,
        "completed": None,
    }
    base.update(kw)
    return CallFacts(**base)  # type: ignore[arg-type]


# Release r1, four calls (the last two in accent b), and one r0 call started a day earlier.
KNOWN = [
    facts("r1", 1, "a", failed=True, ttfa=[0.5, 1.0], corrected=True, confidences=[0.9, 0.5],
          cost=0.1, completed=True),
    facts("r1", 2, "a", ttfa=[0.7], transferred=True, confidences=[0.55], cost=0.2,
          completed=False),
    facts("r1", 3, "b", failed=None, ttfa=[2.0, 0.6, 0.9], cost=0.3, completed=True),
    facts("r1", 30, "b", corrected=True, confidences=[0.95, 0.7, 0.3]),
    facts("r0", -20, "a", failed=None),
]  # fmt: skip


def test_values_match_the_hand_computed_ones() -> None:
    report = signals_of(KNOWN, SignalsSettings(by=["accent"], min_calls=3, resamples=200))
    assert [r.release for r in report.releases] == ["r0", "r1"]  # by first call, not by name
    assert report.cohorts == ["all", "accent=a", "accent=b"]
    g = report.group("r1")
    assert g is not None and g.calls == 4
    s = g.signals
    # Failure rule: 1 failed of 3 scored calls (the third is not scored); Wilson 95% of 1/3.
    assert (s["eval_fail_rate"].value, s["eval_fail_rate"].n) == (pytest.approx(1 / 3), 3)
    assert s["eval_fail_rate"].low == pytest.approx(0.06149, abs=1e-4)
    assert s["eval_fail_rate"].high == pytest.approx(0.79234, abs=1e-4)
    # Six answered turns 0.5 0.6 0.7 0.9 1.0 2.0 from three calls: nearest rank 3rd, 6th, 6th.
    assert [s[f"ttfa_p{q}_s"].value for q in (50, 95, 99)] == [0.7, 2.0, 2.0]
    assert (s["ttfa_p50_s"].n, s["ttfa_p50_s"].turns) == (3, 6)
    low, high = s["ttfa_p50_s"].low, s["ttfa_p50_s"].high
    assert low is not None and high is not None and low <= 0.7 <= high
    assert s["transfer_rate"].value == 0.25 and s["transfer_rate"].n == 4
    assert s["correction_rate"].value == 0.5
    # Recognised turns with a confidence: 0.9 0.5 | 0.55 | 0.95 0.7 0.3 -> 3 of 6 below 0.6.
    lc = s["low_confidence_rate"]
    assert (lc.value, lc.n, lc.turns) == (0.5, 3, 6)
    # Cost over the three calls with a cost and a completion score (0.6) / two completed.
    assert s["cost_per_completed"].value == pytest.approx(0.3) and s["cost_per_completed"].n == 3
    assert all(v.status == "ok" for k, v in s.items() if not k.startswith("ttfa"))
    # Six turns bound no percentile: each is flagged (p50 needs 10 turns, p95 100, p99 500).
    assert all(s[f"ttfa_p{q}_s"].status == "few" for q in (50, 95, 99))
    assert s["ttfa_p99_s"].note == "fewer than 500 turns (a percentile needs 5 turns above it)"

    b = report.group("r1", "accent=b")
    assert b is not None and b.calls == 2 and b.signals["eval_fail_rate"].status == "few"
    assert b.signals["eval_fail_rate"].note == "fewer than 3 calls"
    r0 = report.group("r0")
    assert r0 is not None and r0.signals["eval_fail_rate"].status == "not scored"
    assert r0.signals["ttfa_p99_s"].value is None  # not scored, never 0
    assert r0.signals["cost_per_completed"].status == "not scored"


def test_window_buckets_combinations_and_the_json_round_trip() -> None:
    settings = SignalsSettings(
        by=["accent+channel"],
        since=datetime(2026, 11, 2),  # no zone: UTC
        until=T0 + timedelta(hours=24),
        bucket="week",
        resamples=200,
    )
    report = signals_of(KNOWN, settings)
    assert report.calls == 3  # r0 started before the window, the last r1 call after it
    assert report.cohorts == ["all", "accent=a&channel=phone", "accent=b&channel=phone"]
    assert {g.bucket for g in report.buckets} == {"2026-11-02"}  # the Monday of that week
    assert report.settings.by == ["accent+channel"]
    again = SignalsReport.model_validate_json(report.model_dump_json())
    assert again == report and again.schema_version == 1


def test_the_generated_spike_shows_for_scottish_phone_callers(tmp_path: Path) -> None:
    log = write_call_log(tmp_path / "calls.jsonl", make_calls(3000, seed=3))
    store = Store.open(tmp_path / "store")
    ingest(store, [log])
    report = compute_signals(store, SignalsSettings(by=["accent+channel"], resamples=400))
    first, second = (r.release for r in report.releases)
    assert (first, second) == ("2026.11.1", "2026.11.2")
    cohort = "accent=scottish&channel=phone"
    before, after = report.group(first, cohort), report.group(second, cohort)
    assert before is not None and after is not None
    p95_before, p95_after = before.signals["ttfa_p95_s"], after.signals["ttfa_p95_s"]
    assert p95_before.value is not None and p95_after.value is not None
    assert p95_after.value > p95_before.value + 1.0
    assert p95_after.low is not None and p95_before.high is not None
    assert p95_after.low > p95_before.high  # the intervals do not even touch
    # About 300 turns per release: a p99 is flagged, and its interval is open above.
    p99 = after.signals["ttfa_p99_s"]
    assert p99.status == "few" and p99.turns is not None and p99.turns < 500
    # Elsewhere the second release is as fast as the first.
    for other in ("accent=us&channel=app", "accent=us&channel=phone"):
        a, b = report.group(first, other), report.group(second, other)
        assert a is not None and b is not None
        assert abs((b.signals["ttfa_p95_s"].value or 0) - (a.signals["ttfa_p95_s"].value or 0)) < 1


def _clustered(rng: np.random.Generator, n: int) -> list[CallFacts]:
    """Calls whose turns share the caller's effect: TTFA log-normal with a per-call shift, ASR
    confidence low with a per-call probability drawn from Beta(2, 8) (mean 0.2)."""
    out = []
    for i in range(n):
        m = 1 + int(rng.poisson(3))
        shift = rng.normal(0, 0.4)
        ttfa = np.exp(np.log(0.8) + shift + rng.normal(0, 0.2, m))
        p_low = rng.beta(2, 8)
        conf = np.where(rng.random(m) < p_low, 0.3, 0.9)
        out.append(facts("r", i / 10, "a", ttfa=list(ttfa), confidences=list(conf)))
    return out


def test_intervals_cover_the_true_value_on_clustered_data() -> None:
    # Turn counts do not depend on the caller's effect, so the turn-weighted truths are those of
    # one turn: median 0.8 s, p95 0.8 * exp(1.645 * sqrt(0.4^2 + 0.2^2)), low share 0.2. 150
    # calls give about 600 turns, more than the 500 a p99 needs.
    truth = {
        "ttfa_p50_s": 0.8,
        "ttfa_p95_s": 0.8 * np.exp(1.6449 * np.sqrt(0.2)),
        "ttfa_p99_s": 0.8 * np.exp(2.3263 * np.sqrt(0.2)),
        "low_confidence_rate": 0.2,
    }
    covered = dict.fromkeys(truth, 0)
    seeds = 40
    for seed in range(seeds):
        calls = _clustered(np.random.default_rng(seed), 150)
        g = signals_of(calls, SignalsSettings(by=[], resamples=200, seed=seed)).groups[0]
        for name, true in truth.items():
            v = g.signals[name]
            low = -np.inf if v.low is None else v.low  # an open side bounds nothing
            high = np.inf if v.high is None else v.high
            assert np.isfinite(low) or np.isfinite(high)
            covered[name] += low <= true <= high
    print(f"coverage of 95% intervals over {seeds} seeds: {covered}")
    assert all(c >= 0.85 * seeds for c in covered.values()), covered

    # Clustered: wider than Wilson on turns taken as independent (1 + 3 turns x ICC 0.09).
    calls = _clustered(np.random.default_rng(0), 120)
    v = signals_of(calls, SignalsSettings(by=[])).groups[0].signals["low_confidence_rate"]
    assert v.value is not None and v.turns is not None and v.low is not None and v.high is not None
    naive_low, naive_high = wilson(v.value, v.turns, z_for(0.95))
    assert naive_low is not None and naive_high is not None
    assert v.high - v.low > 1.1 * (naive_high - naive_low)  # design effect ~1.27 here


def test_costs_in_two_currencies_are_not_added_up() -> None:
    calls = [
        facts("r1", 1, "a", cost=0.1, completed=True, currency="USD"),
        facts("r1", 2, "b", cost=0.2, completed=True, currency="EUR"),
    ]
    report = signals_of(calls, SignalsSettings(by=["accent"], resamples=100))
    everything, only_a = report.group("r1"), report.group("r1", "accent=a")
    assert everything is not None and only_a is not None
    cost = everything.signals["cost_per_completed"]
    assert cost.status == "not scored" and cost.note == "costs in several currencies (EUR, USD)"
    assert only_a.signals["cost_per_completed"].value == pytest.approx(0.1)


def test_a_simulated_run_or_an_unknown_tag_is_refused(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "store")
    with pytest.raises(UsageError, match="the store holds no imported calls"):
        compute_signals(store, SignalsSettings())
    store.ensure_run("sim00001", {"suite": "s", "variants": ["v"]}, 1)
    store.put_call(call(run_id="sim00001"))
    with pytest.raises(UsageError, match="run sim00001 holds simulated calls"):
        compute_signals(store, SignalsSettings(runs=["sim0"]))
    with pytest.raises(UsageError, match=r"--by: unknown cohort tag 'noise' \(tags in these"):
        signals_of(KNOWN, SignalsSettings(by=["accent+noise"]))
