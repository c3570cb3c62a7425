"""Adaptive and fixed designs on synthetic runs shaped like real ones (the data of
:mod:`callgate.gate.calibration_data`): error rates with repeated looks and calls to a decision.

A case gives each cohort its true loss (negative: a gain). The adaptive design adds ``batch``
scored pairs, in new scenarios, to every cohort that an open check still needs, gates after every
batch at alpha / looks (:mod:`callgate.gate.sequential`) and stops at a decision or after ``looks``
batches. The fixed design runs n pairs in every cohort and gates once at alpha.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from callgate.comparison.compare import MetricSpec
from callgate.comparison.sides import Side
from callgate.gate.calibration_data import (
    CohortData,
    CohortShape,
    cohort_pairs,
    holdout_of,
    other_metric,
    sides_from,
    with_harm,
)
from callgate.gate.decide import Decision, decide
from callgate.gate.engine import plan_gate, run_checks
from callgate.gate.model import GateCheck, Outcome
from callgate.gate.policy import Policy
from callgate.gate.sequential import Design, open_slices, settle, wants_calls


@dataclass(frozen=True)
class Case:
    name: str
    harms: tuple[float, ...]  # true loss per cohort (share of pairs); negative: a gain
    expect: Outcome  # the right decision


@dataclass
class Outcomes:
    """Decisions and calls over the runs of one case and design."""

    runs: int = 0
    decisions: dict[str, int] = field(default_factory=dict)
    pairs: list[int] = field(default_factory=list)
    looks: list[int] = field(default_factory=list)

    def add(self, label: str, pairs: int, looks: int = 1) -> None:
        self.runs += 1
        self.decisions[label] = self.decisions.get(label, 0) + 1
        self.pairs.append(pairs)
        self.looks.append(looks)

    def rate(self, label: str) -> float:
        return self.decisions.get(label, 0) / self.runs if self.runs else 0.0

    @property
    def mean_pairs(self) -> float:
        return float(np.mean(self.pairs)) if self.pairs else 0.0


class _Cohort:
    """One cohort's pairs so far, grown batch by batch in new scenarios."""

    def __init__(self, shape: CohortShape) -> None:
        self.shape = shape
        self.data: CohortData | None = None
        self.cand: np.ndarray = np.zeros(0)
        self.holdout: np.ndarray = np.zeros(0, dtype=bool)

    def grow(self, rng: np.random.Generator, pairs: int, harm: float) -> None:
        d = cohort_pairs(rng, self.shape, pairs)
        cand = with_harm(rng, d, harm) if harm > 0 else _with_gain(rng, d, -harm)
        holdout = holdout_of(rng, [d])
        if self.data is not None:
            old = self.data
            offset = int(old.scenario.max()) + 1
            d = CohortData(
                np.concatenate([old.base, d.base]),
                np.concatenate([old.cand, d.cand]),
                np.concatenate([old.scenario, d.scenario + offset]),
                np.concatenate([old.hit, d.hit]),
                np.concatenate([old.q, d.q]),
            )
            cand = np.concatenate([self.cand, cand])
            holdout = np.concatenate([self.holdout, holdout])
        self.data, self.cand, self.holdout = d, cand, holdout

    @property
    def pairs(self) -> int:
        return 0 if self.data is None else int(self.data.base.size)


def _with_gain(rng: np.random.Generator, data: CohortData, gain: float) -> np.ndarray:
    """A gain of ``gain`` in expectation: the mirror of :func:`with_harm` on failures."""
    if gain <= 0:
        return data.cand.copy()
    mirrored = CohortData(1 - data.base, 1 - data.cand, data.scenario, data.hit, 1 - data.q)
    return 1 - with_harm(rng, mirrored, gain)


class _Simulated:
    def __init__(
        self,
        policy: Policy,
        shapes: list[CohortShape],
        case: Case,
        tag: str,
        metric: str,
        seed: list[int],
        resamples: int,
    ) -> None:
        self.policy, self.case, self.tag, self.resamples = policy, case, tag, resamples
        self.outcome: MetricSpec = policy.specs[metric]
        self.rng = np.random.default_rng(seed)
        self.shapes = shapes
        self.cohorts = [_Cohort(s) for s in shapes]

    def grow(self, which: list[int], pairs: int) -> None:
        for i in which:
            self.cohorts[i].grow(self.rng, pairs, self.case.harms[i])

    def gate(self, alpha: float) -> Decision:
        data = [c.data for c in self.cohorts if c.data is not None]
        live = [c for c in self.cohorts if c.data is not None]
        size = sum(d.base.size for d in data)
        # Other metrics are drawn afresh for the calls so far: they ride along as A/A noise.
        others = {
            name: other_metric(self.rng, m, size)
            for name, m in self.policy.specs.items()
            if name != self.outcome.name
        }
        base, cand = sides_from(
            [c.shape for c in live],
            data,
            [c.cand for c in live],
            self.outcome,
            self.tag,
            others,
            np.concatenate([c.holdout for c in live]),
        )
        return self._decide(base, cand, alpha)

    def _decide(self, base: Side, cand: Side, alpha: float) -> Decision:
        plan = plan_gate(self.policy, base, cand)
        comps = run_checks(plan, base, cand, resamples=self.resamples)
        return decide(self.policy, plan.slices, comps, alpha=alpha)

    @property
    def pairs(self) -> int:
        return sum(c.pairs for c in self.cohorts)


def adaptive(
    policy: Policy,
    shapes: list[CohortShape],
    case: Case,
    design: Design,
    batch: int,
    *,
    tag: str = "call_type",
    metric: str = "task_completion",
    seed: int = 0,
    run: int = 0,
    resamples: int = 200,
) -> tuple[Outcome, int, int]:
    """One adaptive run: (decision, scored pairs used, looks taken)."""
    sim = _Simulated(policy, shapes, case, tag, metric, [seed, 1, run], resamples)
    level = design.level(policy.alpha)
    settled: dict[tuple[str | None, str], GateCheck] = {}
    need = list(range(len(shapes)))
    decision: Decision | None = None
    for look in range(1, design.looks + 1):
        sim.grow(need, batch)
        decision = settle(sim.gate(level), settled)
        if decision.label != "UNDECIDED":
            return decision.label, sim.pairs, look
        slices = open_slices(decision)
        need = [i for i, s in enumerate(shapes) if wants_calls({tag: s.name}, slices)]
        if not need:
            break
    assert decision is not None
    return decision.label, sim.pairs, design.looks


def fixed(
    policy: Policy,
    shapes: list[CohortShape],
    case: Case,
    n: int,
    *,
    tag: str = "call_type",
    metric: str = "task_completion",
    seed: int = 0,
    run: int = 0,
    resamples: int = 200,
) -> tuple[Outcome, int]:
    """One fixed run: n pairs per cohort, one look at alpha."""
    sim = _Simulated(policy, shapes, case, tag, metric, [seed, 2, run, n], resamples)
    sim.grow(list(range(len(shapes))), n)
    return sim.gate(policy.alpha).label, sim.pairs


# Cases a release sees: nothing changed, better but unevenly, one cohort broken, and the
# boundary case (one cohort losing exactly its margin) that must not be promoted.
def standard_cases(cohorts: int, margin: float) -> list[Case]:
    flat = (0.0,) * cohorts
    uneven = tuple(-0.15 + 0.05 * (i % 4) for i in range(cohorts))  # gains of 15, 10, 5, 0 pts
    return [
        Case("no change", flat, "PROMOTE"),
        Case("better, unevenly", uneven, "PROMOTE"),
        Case(f"one cohort loses {2.5 * margin:.0%}", (2.5 * margin, *flat[1:]), "BLOCK"),
        Case("one cohort loses exactly its margin", (margin, *flat[1:]), "UNDECIDED"),
    ]


def run_adaptive(
    policy: Policy,
    shapes: list[CohortShape],
    case: Case,
    design: Design,
    batch: int,
    runs: int,
    seed: int = 0,
) -> Outcomes:
    out = Outcomes()
    for r in range(runs):
        label, pairs, looks = adaptive(policy, shapes, case, design, batch, seed=seed, run=r)
        out.add(label, pairs, looks)
    return out


def run_fixed(
    policy: Policy, shapes: list[CohortShape], case: Case, n: int, runs: int, seed: int = 0
) -> Outcomes:
    out = Outcomes()
    for r in range(runs):
        label, pairs = fixed(policy, shapes, case, n, seed=seed, run=r)
        out.add(label, pairs)
    return out


def equal_power_n(
    policy: Policy,
    shapes: list[CohortShape],
    targets: list[tuple[Case, float]],
    runs: int,
    most: int,
    step: int = 10,
    seed: int = 0,
) -> tuple[int | None, dict[str, Outcomes]]:
    """The smallest n per cohort (a multiple of ``step``, by bisection) at which the fixed design
    reaches, in every case, at least the given rate of the right decision; None when even ``most``
    does not. Also the fixed design's outcomes at that n."""

    def reaches(n: int) -> dict[str, Outcomes] | None:
        found = {}
        for case, rate in targets:
            o = run_fixed(policy, shapes, case, n, runs, seed)
            if o.rate(case.expect) < rate:
                return None
            found[case.name] = o
        return found

    hi = most // step
    best = reaches(hi * step)
    if best is None:
        return None, {}
    lo = 1
    while lo < hi:
        mid = (lo + hi) // 2
        got = reaches(mid * step)
        if got is None:
            lo = mid + 1
        else:
            hi, best = mid, got
    return hi * step, best
