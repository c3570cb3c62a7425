"""gate.json: the gate's decision, reasons and every check, as a versioned pydantic model."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel

from callgate.comparison.compare import MetricSpec
from callgate.comparison.sides import Side
from callgate.gate.decide import Decision, Reason
from callgate.gate.engine import GatePlan

REPORT_SCHEMA_VERSION: Literal[1] = 1


def _f(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


class SideOut(BaseModel):
    label: str
    origin: str  # run or file
    variant: str
    calls: int
    run_ids: list[str]


class CheckOut(BaseModel):
    metric: str
    statistic: str
    direction: Literal["higher", "lower"]
    kind: str
    unit: str
    slice: str
    paired: bool
    n: int
    n_baseline: int
    n_candidate: int
    baseline: float | None
    candidate: float | None
    delta: float | None
    ci_low: float | None
    ci_high: float | None
    method: str
    discordant_worse: int | None
    discordant_better: int | None
    margin: float | None
    required_improvement: float | None
    min_calls: int
    required: bool
    p_worse: float | None
    p_adjusted: float | None
    p_better: float | None
    mde: float | None
    verdict: str
    status: Literal["pass", "block", "warn"]
    note: str

    def spec(self) -> MetricSpec:
        return MetricSpec(self.metric, self.direction, self.kind, self.statistic, self.unit)


class ReasonOut(BaseModel):
    kind: Literal["harm", "required_cohort", "improvement"]
    metric: str | None
    slice: str
    message: str
    delta: float | None
    ci_low: float | None
    ci_high: float | None
    margin: float | None


class GateReport(BaseModel):
    schema_version: Literal[1] = REPORT_SCHEMA_VERSION
    decision: Literal["PROMOTE", "BLOCK"]
    policy: str
    policy_sha256: str
    alpha: float
    multiplicity: Literal["holm", "bh"]
    confidence: float
    seed: int
    resamples: int
    baseline: SideOut
    candidate: SideOut
    paired: bool
    pairing: str
    family_size: int
    reasons: list[ReasonOut]
    warnings: list[str]
    notes: list[str]
    checks: list[CheckOut]


def _side(side: Side) -> SideOut:
    return SideOut(
        label=side.label,
        origin=side.origin,
        variant=side.variant,
        calls=side.n,
        run_ids=side.run_ids,
    )


def _reason(r: Reason) -> ReasonOut:
    c = r.comparison
    return ReasonOut(
        kind=r.kind,
        metric=r.metric,
        slice=r.slice,
        message=r.message,
        delta=_f(c.delta) if c else None,
        ci_low=_f(c.ci_low) if c else None,
        ci_high=_f(c.ci_high) if c else None,
        margin=r.margin,
    )


def build_report(
    plan: GatePlan, decision: Decision, base: Side, cand: Side, *, seed: int, resamples: int
) -> GateReport:
    policy = plan.policy
    checks = []
    for ch in decision.checks:
        c = ch.comparison
        m = c.metric
        mcnemar = c.method == "mcnemar"
        checks.append(
            CheckOut(
                metric=m.name,
                statistic=m.statistic,
                direction=m.direction,
                kind=m.kind,
                unit=m.unit,
                slice=c.slice,
                paired=c.paired,
                n=c.n,
                n_baseline=c.n_base,
                n_candidate=c.n_cand,
                baseline=_f(c.baseline),
                candidate=_f(c.candidate),
                delta=_f(c.delta),
                ci_low=_f(c.ci_low),
                ci_high=_f(c.ci_high),
                method=c.method,
                discordant_worse=c.worse if mcnemar else None,
                discordant_better=c.better if mcnemar else None,
                margin=ch.margin,
                required_improvement=ch.required_improvement,
                min_calls=ch.min_calls,
                required=ch.required,
                p_worse=_f(ch.p_worse),
                p_adjusted=_f(ch.p_adjusted),
                p_better=_f(ch.p_better),
                mde=_f(ch.mde),
                verdict=ch.verdict,
                status=ch.status,
                note=ch.note,
            )
        )
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
        reasons=[_reason(r) for r in decision.reasons],
        warnings=decision.warnings,
        notes=plan.notes,
        checks=checks,
    )
