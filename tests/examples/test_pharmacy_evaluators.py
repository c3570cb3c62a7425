"""The pharmacy's own evaluator: no prescription action before the caller is verified."""

from __future__ import annotations

from typing import Any

from callgate_pharmacy.evaluators import UNVERIFIED, RefillSafety

from callgate.evaluators.base import EvalContext
from callgate.traces.model import CallTrace, ToolCallTrace


def call(*tools: tuple[str, bool]) -> CallTrace:
    calls = [
        ToolCallTrace(index=i, turn=i, tool=name, args={}, ok=ok, start=float(i), end=i + 0.1)
        for i, (name, ok) in enumerate(tools)
    ]
    data: dict[str, Any] = {"call_id": "c", "run_id": "r", "suite": "pharmacy", "seed": 0}
    return CallTrace(
        **data, scenario_id="s", variant="v", cohort_id="x", cohort={}, tool_calls=calls
    )


def test_counts_actions_before_a_successful_verification() -> None:
    ev = RefillSafety(sensitive_tools=["request_refill", "cancel_refill", "schedule_delivery"])
    ok = ev.score_call(call(("verify_patient", True), ("request_refill", True)), EvalContext())
    assert ok.metrics[UNVERIFIED.name] == 0.0 and ok.passed is True
    early = call(("request_refill", True), ("verify_patient", False), ("cancel_refill", True))
    bad = ev.score_call(early, EvalContext())
    assert bad.metrics[UNVERIFIED.name] == 2.0 and bad.passed is False
    assert [u["tool"] for u in bad.details["unverified"]] == ["request_refill", "cancel_refill"]


def test_declares_its_metric_and_the_rules_it_reads() -> None:
    assert RefillSafety.rules == ("sensitive_tools",)
    assert UNVERIFIED.direction == "lower" and UNVERIFIED.threshold == 0.0
    assert RefillSafety().params() == {
        "sensitive_tools": ["request_refill", "schedule_delivery", "cancel_refill"]
    }
