"""The gate's report: the decision and every check (gate/model.py) with what was compared, how."""

from __future__ import annotations

from callgate.comparison.sides import Side
from callgate.gate.decide import Decision
from callgate.gate.engine import GatePlan
from callgate.gate.model import GateReport, GateSide


def _side(side: Side) -> GateSide:
    return GateSide(
        label=side.label,
        origin=side.origin,
        variant=side.variant,
        calls=side.n,
        run_ids=side.run_ids,
    )


def build_report(
    plan: GatePlan, decision: Decision, base: Side, cand: Side, *, seed: int, resamples: int
) -> GateReport:
    policy = plan.policy
    return GateReport(
        decision=decision.label,
        policy=policy.source,
        policy_sha256=policy.sha256,
        alpha=policy.alpha,
        multiplicity=policy.multiplicity,
        confidence=policy.confidence,
        seed=seed,
        resamples=resamples,
        baseline=_side(base),
        candidate=_side(cand),
        paired=plan.pairing.paired,
        pairing=plan.pairing.note,
        family_size=decision.family_size,
        reasons=decision.reasons,
        undecided=decision.undecided,
        warnings=decision.warnings,
        notes=plan.notes,
        checks=decision.checks,
    )
