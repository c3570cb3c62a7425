"""Cost per call from the variant's price table (cost per completed call is an aggregate:
total cost of a slice divided by its completed calls, computed where calls are grouped)."""

from __future__ import annotations

from typing import Any, ClassVar

from callgate.evaluators.base import EvalContext, EvalResult, Metric, result
from callgate.traces.model import CallTrace

COST = Metric(
    "cost_per_call", "lower", "currency", "ASR + TTS + policy + telephony cost of the call"
)


class Cost:
    name: ClassVar[str] = "Cost"
    metrics: ClassVar[list[Metric]] = [COST]

    def params(self) -> dict[str, Any]:
        return {}

    def score_call(self, call: CallTrace, ctx: EvalContext) -> EvalResult:
        if not call.cost:
            return EvalResult.not_scored(self.name, "no cost items (no price table)", self.metrics)
        parts = {c.kind: c.amount for c in call.cost}
        reason = ", ".join(f"{k} {v:.5f}" for k, v in parts.items())
        return result(self.name, COST, {COST.name: call.cost_total}, reason, details=parts)


def cost_per_completed(costs: list[float], completed: list[bool]) -> float | None:
    done = sum(completed)
    return sum(costs) / done if done else None
