"""Run a gate: bind the policy to the results, pair, slice, compare, decide.

Split in steps so that calibration can reuse the plan (pairing and slices) across many synthetic
runs and recompute only what changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from callgate.comparison.compare import Comparison, compare
from callgate.comparison.pairing import Pairing, pair
from callgate.comparison.sides import Side
from callgate.comparison.slices import GLOBAL, Slice, build_slices
from callgate.gate.decide import Decision, decide
from callgate.gate.policy import Policy


@dataclass
class GatePlan:
    policy: Policy
    pairing: Pairing
    slices: list[Slice]
    notes: list[str]


def plan_gate(policy: Policy, base: Side, cand: Side, *, force_unpaired: bool = False) -> GatePlan:
    policy.bind(base, cand)
    pairing = pair(base, cand, force_unpaired=force_unpaired)
    cohorts = policy.cohorts
    slices = build_slices(
        base, cand, pairing, cohorts.by, cohorts.combinations, policy.extra_slices()
    )
    notes: list[str] = []
    absent = [t for t in cohorts.by if t not in base.tags and t not in cand.tags]
    if absent:
        notes.append(f"tags not in the results, so not sliced: {', '.join(absent)}")
    notes += [
        f"{a} holds the same calls as {s.label}: tested once" for s in slices for a in s.aliases
    ]
    return GatePlan(policy, pairing, slices, notes)


def run_checks(
    plan: GatePlan,
    base: Side,
    cand: Side,
    *,
    metrics: list[str] | None = None,
    seed: int = 0,
    resamples: int = 2000,
) -> list[Comparison]:
    """Comparisons for the policy's metrics: every slice, or only ``all`` for ``scope: global``."""
    policy = plan.policy
    names = list(policy.metrics) if metrics is None else metrics
    cohort_metrics = [policy.specs[n] for n in names if policy.metrics[n].scope == "cohorts"]
    global_metrics = [policy.specs[n] for n in names if policy.metrics[n].scope == "global"]
    out: list[Comparison] = []
    everything = [s for s in plan.slices if s.label == GLOBAL]
    for specs, slices in ((cohort_metrics, plan.slices), (global_metrics, everything)):
        if specs and slices:
            out += compare(
                base,
                cand,
                plan.pairing,
                slices,
                specs,
                seed=seed,
                resamples=resamples,
                confidence=policy.confidence,
            )
    return out


def run_gate(
    policy: Policy,
    base: Side,
    cand: Side,
    *,
    seed: int = 0,
    resamples: int = 2000,
    force_unpaired: bool = False,
    warnings: list[str] | None = None,
) -> tuple[GatePlan, Decision]:
    plan = plan_gate(policy, base, cand, force_unpaired=force_unpaired)
    comps = run_checks(plan, base, cand, seed=seed, resamples=resamples)
    return plan, decide(policy, plan.slices, comps, warnings)


def tuning_warnings(store_dir: Path | None, base: Side, cand: Side) -> list[str]:
    """Warn, from the tuning reads the store holds, when the compared calls are a candidate's own
    tuning data: a tuning job read calls of the same scenarios (in any run), or read holdout
    calls of these runs or of their holdout scenarios. Verdicts on them may then be optimistic.
    Warns, never blocks."""
    run_ids = sorted(set(base.run_ids) | set(cand.run_ids))
    if store_dir is None or not run_ids or not (store_dir / "callgate.db").is_file():
        return []
    from callgate.store.reader import StoreReader

    store = StoreReader.open(store_dir)
    try:
        holdout = store.holdout_tuning_reads(run_ids)
        tuned = store.tuned_on(run_ids)
    finally:
        store.close()
    warnings: list[str] = []
    if tuned:
        jobs = ", ".join(f"{job} ({n} calls of {k} scenarios)" for job, n, k in tuned)
        warnings.append(
            f"these calls include scenarios a tuning job read: {jobs}; a candidate tuned on them "
            "is judged on its own tuning data here, so gate it on the holdout split "
            "(`callgate run ... --split holdout`); this warns, it does not block"
        )
    if holdout:
        jobs = ", ".join(f"{job} ({n} calls)" for job, n in holdout)
        warnings.append(
            f"the holdout split was used for tuning: job {jobs} read holdout calls of the "
            "compared runs' scenarios, so holdout verdicts may be optimistic (this warns, it does "
            "not block)"
        )
    return warnings
