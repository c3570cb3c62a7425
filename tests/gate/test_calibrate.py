"""Calibration: the synthetic data is what docs/gate.md says, and a few runs give sane figures."""

from __future__ import annotations

import numpy as np

from callgate.gate.calibrate import (
    CalibrationSpec,
    _Run,
    calibrate_size,
    flip_pairs,
    synthetic_sides,
)
from callgate.gate.policy import load_policy


def test_flip_model_is_an_aa_pair() -> None:
    base, cand = flip_pairs(np.random.default_rng(0), 200_000, 0.8, 0.05, higher=True)
    assert abs(base.mean() - 0.8) < 0.005 and abs(cand.mean() - 0.8) < 0.005
    assert abs(((base == 1) & (cand == 0)).mean() - 0.05) < 0.002
    assert abs(((base == 0) & (cand == 1)).mean() - 0.05) < 0.002


def test_synthetic_sides_have_every_policy_metric_and_the_tags() -> None:
    policy = load_policy("default")
    spec = CalibrationSpec()
    base, cand = synthetic_sides(policy, spec, 30, np.random.default_rng(1))
    assert base.n == cand.n == 8 * 30
    assert set(base.metrics) == set(policy.specs)
    assert sorted(set(base.text["tag_call_type"])) == [f"c0{i}" for i in range(1, 9)]
    assert set(base.text["tag_split"]) == {"dev", "holdout"}


def test_first_catch_is_where_the_gate_starts_naming_the_cohort() -> None:
    policy = load_policy("default")
    spec = CalibrationSpec(runs=1, resamples=100)
    run = _Run(policy, spec, 120, 0)
    assert run.gate(0).promote
    caught = [run.caught(k) for k in range(0, len(run.flips) + 1, 4)]
    # Monotone: once caught, always caught (what the bisection relies on).
    assert caught == sorted(caught) and caught[-1]


def test_a_few_runs() -> None:
    result = calibrate_size(load_policy("default"), CalibrationSpec(runs=6, resamples=100), 240)
    assert result.runs == 6 and len(result.first_catch) == 6
    assert result.aa_blocks <= 1
    assert result.caught_at_drop >= 3  # 89% of 200 runs in docs/gate.md
    assert result.mde is not None and 0.03 < result.mde < 0.2
