"""Measure a policy's false-block rate and power on synthetic paired calls (docs/gate.md).

Calibration data, per run and per size n (calls per cohort):

* ``cohorts`` cohorts (default 8) of n paired calls, told apart by one tag (default ``call_type``,
  values c01, c02, ...); each call is tagged ``split=holdout`` with probability
  ``holdout_share`` (default 0.25), else ``split=dev``.
* The outcome (default ``task_completion``): each pair is independently (success, failure) with
  probability ``flip`` (default 0.05), (failure, success) with probability ``flip``, both
  successes with probability ``base_rate - flip`` (default 0.8 - 0.05) and both failures
  otherwise. Both variants thus succeed with probability ``base_rate``: an A/A comparison whose
  candidate differs from the baseline in 5% of calls each way.
* Every other metric of the policy rides along as exchangeable A/A noise, so the gate's whole
  multiplicity family is exercised: pass/fail metrics by the same flip model, rates as a shared
  Beta(8, 2) level plus independent N(0, 0.05) noise per side, other metrics as a shared
  lognormal(0, 0.5) level times independent lognormal(0, 0.1) noise per side.
* Regression: in one cohort chosen at random per run, k of the candidate's successes (a random
  order fixed per run) turn into failures; the drop is k / n.

Per run the gate runs once on the A/A data (a block is a false block) and, by bisection over k
(the gate's verdict only grows stricter as k grows), finds the smallest k at which it blocks with
a reason naming that cohort. Power at a drop is the share of runs caught at that k; the smallest
drop caught 80% of the time is the 80th percentile of the per-run k.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from callgate.comparison.compare import Comparison, MetricSpec
from callgate.comparison.sides import Side
from callgate.comparison.slices import Slice
from callgate.errors import UsageError
from callgate.gate.decide import Decision, decide
from callgate.gate.engine import plan_gate, run_checks
from callgate.gate.policy import Policy
from callgate.results.table import TAG_PREFIX


@dataclass
class CalibrationSpec:
    calls: list[int] = field(default_factory=lambda: [30, 60, 120, 240])
    runs: int = 200
    cohorts: int = 8
    flip: float = 0.05
    base_rate: float = 0.8
    drop: float = 0.10
    holdout_share: float = 0.25
    tag: str = "call_type"
    metric: str = "task_completion"
    power: float = 0.8
    seed: int = 0
    resamples: int = 2000


@dataclass
class SizeResult:
    calls: int
    runs: int
    aa_blocks: int
    drop_calls: int  # k for the spec's drop at this size
    caught_at_drop: int
    mde_calls: int | None  # smallest k caught in >= power of the runs (None: never)
    first_catch: list[int | None]
    aa_reasons: list[str]

    @property
    def aa_rate(self) -> float:
        return self.aa_blocks / self.runs

    @property
    def power_at_drop(self) -> float:
        return self.caught_at_drop / self.runs

    @property
    def mde(self) -> float | None:
        return None if self.mde_calls is None else self.mde_calls / self.calls


def cohort_names(count: int) -> list[str]:
    return [f"c{i + 1:02d}" for i in range(count)]


def check_spec(policy: Policy, spec: CalibrationSpec) -> MetricSpec:
    if spec.metric not in policy.specs:
        raise UsageError(f"the policy does not check {spec.metric!r}", field="--metric")
    outcome = policy.specs[spec.metric]
    if outcome.kind != "binary":
        raise UsageError(f"{spec.metric} is not a pass/fail metric", field="--metric")
    if spec.tag not in policy.cohorts.by:
        raise UsageError(f"the policy does not slice by {spec.tag!r}", field="--tag")
    if not 0 < spec.flip <= min(spec.base_rate, 1 - spec.base_rate):
        raise UsageError(
            "must be above 0 and at most min(base rate, 1 - base rate)", field="--flip"
        )
    if spec.runs < 1 or spec.cohorts < 1 or min(spec.calls, default=0) < 2:
        raise UsageError("runs, cohorts and calls per cohort must be positive (calls >= 2)")
    if not 0 <= spec.holdout_share <= 1 or not 0 < spec.drop < 1:
        raise UsageError("holdout share must be in [0, 1] and the drop in (0, 1)")
    return outcome


def _values(rng: np.random.Generator, m: MetricSpec, spec: CalibrationSpec, size: int) -> tuple:
    if m.kind == "binary":
        return flip_pairs(rng, size, spec.base_rate, spec.flip, m.direction == "higher")
    if m.kind == "rate":
        level = rng.beta(8, 2, size)
        base = np.clip(level + rng.normal(0, 0.05, size), 0, 1)
        return base, np.clip(level + rng.normal(0, 0.05, size), 0, 1)
    level = rng.lognormal(0, 0.5, size)
    return level * rng.lognormal(0, 0.1, size), level * rng.lognormal(0, 0.1, size)


def flip_pairs(
    rng: np.random.Generator, size: int, base_rate: float, flip: float, higher: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Paired pass/fail outcomes: (1, 0) and (0, 1) with probability ``flip`` each."""
    u = rng.random(size)
    both = (u >= 2 * flip) & (u < base_rate + flip)
    base = ((u < flip) | both).astype(np.float64)
    cand = (((u >= flip) & (u < 2 * flip)) | both).astype(np.float64)
    return (base, cand) if higher else (1 - base, 1 - cand)


def synthetic_sides(
    policy: Policy, spec: CalibrationSpec, n: int, rng: np.random.Generator
) -> tuple[Side, Side]:
    """One run's A/A data: ``cohorts`` x ``n`` paired calls (see the module docstring)."""
    names = cohort_names(spec.cohorts)
    size = n * len(names)
    cohort = np.repeat(np.array(names, dtype=object), n)
    split = np.where(rng.random(size) < spec.holdout_share, "holdout", "dev").astype(object)
    text = {
        "call_id": np.array([f"call{i}" for i in range(size)], dtype=object),
        "scenario_id": np.array([f"s{i}" for i in range(size)], dtype=object),
        "cohort_id": cohort,
        "repeat": np.full(size, "0", dtype=object),
        TAG_PREFIX + spec.tag: cohort,
        TAG_PREFIX + "split": split,
    }
    base: dict[str, np.ndarray] = {}
    cand: dict[str, np.ndarray] = {}
    for name, m in policy.specs.items():
        base[name], cand[name] = _values(rng, m, spec, size)
    sides = []
    for variant, metrics in (("baseline", base), ("candidate", cand)):
        text_v = dict(text, variant=np.full(size, variant, dtype=object))
        sides.append(Side(f"synthetic:{variant}", "synthetic", variant, text_v, metrics))
    return sides[0], sides[1]


def _with_drop(cand: Side, metric: str, flips: np.ndarray, k: int, bad: float) -> Side:
    values = cand.metrics[metric].copy()
    values[flips[:k]] = bad
    return Side(cand.label, cand.origin, cand.variant, cand.text, {**cand.metrics, metric: values})


def names_cohort(decision: Decision, slices: list[Slice], tag: str, cohort: str) -> bool:
    """A harm reason names a slice of that cohort (alone or combined with other tags)."""
    labels = {s.label for s in slices if (tag, cohort) in s.conds}
    return any(r.kind == "harm" and r.slice in labels for r in decision.reasons)


def _first_catch(caught: Callable[[int], bool], most: int) -> int | None:
    """Smallest k in 1..most with caught(k), by bisection (caught is monotone in k)."""
    if most < 1 or not caught(most):
        return None
    lo, hi = 1, most
    while lo < hi:
        mid = (lo + hi) // 2
        if caught(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


class _Run:
    """One synthetic run: the A/A data, the regressed cohort and its flip order, and the checks
    that do not change with the drop (computed once, reused by every k)."""

    def __init__(self, policy: Policy, spec: CalibrationSpec, n: int, run: int) -> None:
        self.policy, self.spec = policy, spec
        outcome = policy.specs[spec.metric]
        good, self.bad = (1.0, 0.0) if outcome.direction == "higher" else (0.0, 1.0)
        rng = np.random.default_rng([spec.seed, n, run])
        self.base, self.cand = synthetic_sides(policy, spec, n, rng)
        names = cohort_names(spec.cohorts)
        self.cohort = names[int(rng.integers(len(names)))]
        tags = self.cand.text[TAG_PREFIX + spec.tag]
        in_cohort = np.flatnonzero(tags == self.cohort)
        successes = in_cohort[self.cand.metrics[spec.metric][in_cohort] == good]
        self.flips = rng.permutation(successes)
        self.plan = plan_gate(policy, self.base, self.cand)
        self.seed = spec.seed + run
        others = [name for name in policy.specs if name != spec.metric]
        self.fixed: list[Comparison] = run_checks(
            self.plan,
            self.base,
            self.cand,
            metrics=others,
            seed=self.seed,
            resamples=spec.resamples,
        )

    def gate(self, k: int) -> Decision:
        values = self.cand.metrics[self.spec.metric].copy()
        values[self.flips[:k]] = self.bad
        c = self.cand
        cand = Side(c.label, c.origin, c.variant, c.text, {**c.metrics, self.spec.metric: values})
        comps = run_checks(self.plan, self.base, cand, metrics=[self.spec.metric], seed=self.seed)
        return decide(self.policy, self.plan.slices, self.fixed + comps)

    def caught(self, k: int) -> bool:
        return names_cohort(self.gate(k), self.plan.slices, self.spec.tag, self.cohort)


def calibrate_size(
    policy: Policy, spec: CalibrationSpec, n: int, progress: Callable[[], None] | None = None
) -> SizeResult:
    check_spec(policy, spec)
    aa_blocks = 0
    aa_reasons: list[str] = []
    first: list[int | None] = []
    for i in range(spec.runs):
        run = _Run(policy, spec, n, i)
        aa = run.gate(0)
        if not aa.promote:
            aa_blocks += 1
            aa_reasons += [r.slice for r in aa.reasons]
        first.append(_first_catch(run.caught, len(run.flips)))
        if progress:
            progress()
    drop_calls = round(spec.drop * n)
    caught = sum(1 for k in first if k is not None and k <= drop_calls)
    ordered = sorted(k for k in first if k is not None)
    need = math.ceil(spec.power * spec.runs)
    mde_calls = ordered[need - 1] if len(ordered) >= need else None
    return SizeResult(n, spec.runs, aa_blocks, drop_calls, caught, mde_calls, first, aa_reasons)


def calibrate(
    policy: Policy, spec: CalibrationSpec, progress: Callable[[], None] | None = None
) -> list[SizeResult]:
    check_spec(policy, spec)
    return [calibrate_size(policy, spec, n, progress) for n in spec.calls]
