"""Measure a policy's error rates on synthetic runs shaped like real ones (docs/gate.md).

Per size n (scored calls per cohort) and per run, the data of :mod:`callgate.gate.calibration_data`
is gated three times, with the same baseline:

* A/A: no true change anywhere. A BLOCK is a false block; PROMOTE and UNDECIDED are counted too.
* a loss at the margin: one cohort's candidate loses exactly the cohort's margin in expectation.
  A PROMOTE is a false promote (the candidate is as bad as the policy tolerates, not better).
* a given drop (``drop``) in that cohort: power is the share of runs blocked with a reason naming
  the cohort.

The regressed cohort is drawn at random per run, or (``per_cohort``) each cohort takes its turn,
so that a run's hardest cohort gets figures of its own. The other metrics of the policy ride along
as A/A noise, so the whole multiplicity family is exercised.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from callgate.comparison.compare import Comparison, MetricSpec
from callgate.comparison.sides import Side
from callgate.comparison.slices import Slice
from callgate.errors import UsageError
from callgate.gate.calibration_data import (
    CohortData,
    CohortShape,
    cohort_pairs,
    default_shapes,
    holdout_of,
    other_metric,
    sides_from,
    with_harm,
)
from callgate.gate.decide import Decision, decide
from callgate.gate.engine import plan_gate, run_checks
from callgate.gate.policy import Policy

TARGET = 0.05  # the acceptance: false block and false promote at most this share of runs


@dataclass
class CalibrationSpec:
    calls: list[int] = field(default_factory=lambda: [30, 60, 120, 250, 500])
    runs: int = 400
    shapes: list[CohortShape] = field(default_factory=lambda: default_shapes(8, (0.25, 0.35)))
    drop: float = 0.20
    tag: str = "call_type"
    metric: str = "task_completion"
    seed: int = 0
    resamples: int = 2000
    per_cohort: bool = False
    source: str = "synthetic"  # or the run the shapes were measured on


@dataclass
class SizeResult:
    calls: int
    cohort: str | None  # the regressed cohort (None: a random one per run)
    margin: float
    runs: int
    aa_blocks: int = 0
    aa_undecided: int = 0
    aa_promotes: int = 0
    margin_promotes: int = 0
    margin_blocks: int = 0
    drop_caught: int = 0
    drop_undecided: int = 0
    discordance: list[float] = field(default_factory=list)
    aa_reasons: list[str] = field(default_factory=list)

    def rate(self, count: int) -> float:
        return count / self.runs if self.runs else 0.0


def check_spec(policy: Policy, spec: CalibrationSpec) -> MetricSpec:
    if spec.metric not in policy.specs:
        raise UsageError(f"the policy does not check {spec.metric!r}", field="--metric")
    outcome = policy.specs[spec.metric]
    if outcome.kind != "binary":
        raise UsageError(f"{spec.metric} is not a pass/fail metric", field="--metric")
    if spec.tag not in policy.cohorts.by:
        raise UsageError(f"the policy does not slice by {spec.tag!r}", field="--tag")
    if spec.runs < 1 or not spec.shapes or min(spec.calls, default=0) < 4:
        raise UsageError("runs and cohorts must be positive and calls per cohort at least 4")
    if not 0 < spec.drop < 1:
        raise UsageError("must be between 0 and 1", field="--drop")
    for s in spec.shapes:
        if policy.margin(spec.metric, f"{spec.tag}={s.name}") is None:
            raise UsageError(f"{spec.metric} has no non-inferiority margin", field="--metric")
    return outcome


def names_cohort(decision: Decision, slices: list[Slice], tag: str, cohort: str) -> bool:
    """A harm reason names a slice of that cohort (alone or combined with other tags)."""
    labels = {s.label for s in slices if (tag, cohort) in s.conds}
    return any(r.kind == "harm" and r.slice in labels for r in decision.reasons)


class SyntheticRun:
    """One synthetic run: the A/A data, the regressed cohort, and the checks of the other
    metrics (they do not change with the regression: computed once)."""

    def __init__(
        self, policy: Policy, spec: CalibrationSpec, n: int, run: int, target: int | None
    ) -> None:
        self.policy, self.spec = policy, spec
        self.outcome = policy.specs[spec.metric]
        self.rng = np.random.default_rng([spec.seed, n, run, 0 if target is None else target + 1])
        self.data: list[CohortData] = [cohort_pairs(self.rng, s, n) for s in spec.shapes]
        self.target = int(self.rng.integers(len(spec.shapes))) if target is None else target
        self.cohort = spec.shapes[self.target].name
        self.margin = policy.margin(spec.metric, f"{spec.tag}={self.cohort}") or 0.0
        size = sum(d.base.size for d in self.data)
        holdout = holdout_of(self.rng, self.data)
        self.others = {
            name: other_metric(self.rng, m, size)
            for name, m in policy.specs.items()
            if name != spec.metric
        }
        self.holdout = holdout
        base, cand = self.sides([d.cand for d in self.data])
        self.base = base
        self.plan = plan_gate(policy, base, cand)
        self.seed = spec.seed + run
        self.fixed: list[Comparison] = run_checks(
            self.plan,
            base,
            cand,
            metrics=list(self.others),
            seed=self.seed,
            resamples=spec.resamples,
        )

    def sides(self, cands: list[np.ndarray]) -> tuple[Side, Side]:
        return sides_from(
            self.spec.shapes,
            self.data,
            cands,
            self.outcome,
            self.spec.tag,
            self.others,
            self.holdout,
        )

    def gate(self, harm: float) -> Decision:
        """The gate with the target cohort's candidate losing ``harm`` in expectation."""
        cands = [d.cand for d in self.data]
        if harm > 0:
            cands[self.target] = with_harm(self.rng, self.data[self.target], harm)
        _base, cand = self.sides(cands)
        comps = run_checks(self.plan, self.base, cand, metrics=[self.spec.metric], seed=self.seed)
        return decide(self.policy, self.plan.slices, self.fixed + comps)

    def observed_discordance(self) -> float:
        d = self.data[self.target]
        return float((d.base != d.cand).mean())


def calibrate_size(
    policy: Policy,
    spec: CalibrationSpec,
    n: int,
    target: int | None = None,
    progress: Callable[[], None] | None = None,
) -> SizeResult:
    check_spec(policy, spec)
    cohort = None if target is None else spec.shapes[target].name
    # A random cohort per run: the metric's own margin (a cohort override may differ per run).
    if cohort is None:
        margin = policy.metrics[spec.metric].non_inferiority_margin
    else:
        margin = policy.margin(spec.metric, f"{spec.tag}={cohort}")
    result = SizeResult(n, cohort, margin or 0.0, spec.runs)
    for i in range(spec.runs):
        run = SyntheticRun(policy, spec, n, i, target)
        result.discordance.append(run.observed_discordance())
        aa = run.gate(0.0)
        result.aa_blocks += aa.label == "BLOCK"
        result.aa_undecided += aa.label == "UNDECIDED"
        result.aa_promotes += aa.label == "PROMOTE"
        result.aa_reasons += [r.slice for r in aa.reasons]
        at_margin = run.gate(run.margin)
        result.margin_promotes += at_margin.label == "PROMOTE"
        result.margin_blocks += at_margin.label == "BLOCK"
        dropped = run.gate(spec.drop)
        result.drop_caught += names_cohort(dropped, run.plan.slices, spec.tag, run.cohort)
        result.drop_undecided += dropped.label == "UNDECIDED"
        if progress:
            progress()
    return result


def targets(spec: CalibrationSpec) -> list[int | None]:
    """The regressed cohort of each table row: each in turn, or one at random per run."""
    return list(range(len(spec.shapes))) if spec.per_cohort else [None]


def calibrate(
    policy: Policy, spec: CalibrationSpec, progress: Callable[[], None] | None = None
) -> list[SizeResult]:
    check_spec(policy, spec)
    return [calibrate_size(policy, spec, n, t, progress) for n in spec.calls for t in targets(spec)]
