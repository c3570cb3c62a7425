"""The evaluator set of a suite (its ``evaluation:`` block), and scoring one call with all of them
into one results row."""

from __future__ import annotations

import math
from typing import Any

from callgate.evaluators.base import EVALUATORS, EvalContext, Evaluator, Metric, build
from callgate.scenarios.evaluation import EvaluationRules
from callgate.store.records import CallScores
from callgate.traces.model import CallTrace

# Names are the public API; parameters are recorded with every evaluation.
DEFAULT_EVALUATORS: list[dict[str, Any]] = [
    {"name": "ASRAccuracy"},
    {"name": "TTSAccuracy"},
    {"name": "SpeechQuality"},
    {"name": "TaskCompletion"},
    {"name": "ToolSelectionAccuracy"},
    {"name": "Timing"},
    {"name": "TurnTaking"},
    {"name": "ConversationSignals"},
    {"name": "Safety"},
    {"name": "SayDo"},
    {"name": "Cost"},
]


def load_evaluators() -> None:
    """Load every evaluator plugin, built-in or not, so their metrics are declared."""
    EVALUATORS.load_all()


def evaluation_spec(rules: EvaluationRules | None = None) -> list[dict[str, Any]]:
    """Evaluator names and parameters for a suite's rules.

    Each evaluator declares the rule names it takes (``rules`` on the class); it receives those
    rules as parameters, so they are recorded in the spec and a changed rule re-scores. Explicit
    ``params`` of an evaluator in the suite win over the shared rules.
    """
    rules = rules or EvaluationRules()
    values = rules.rule_values()
    refs = rules.evaluators
    chosen: list[dict[str, Any]] = (
        [dict(item) for item in DEFAULT_EVALUATORS]
        if refs is None
        else [{"name": r.name, "params": dict(r.params)} for r in refs]
    )
    spec: list[dict[str, Any]] = []
    for item in chosen:
        cls = EVALUATORS.factory(item["name"])
        takes = getattr(cls, "rules", ())
        params = {name: values[name] for name in takes if name in values}
        params.update(item.get("params") or {})
        spec.append({"name": item["name"], "params": params})
    return spec


def build_all(spec: list[dict[str, Any]]) -> list[Evaluator]:
    load_evaluators()
    return [build(item["name"], item.get("params")) for item in spec]


# Bump when any built-in evaluator's logic changes: stored scores from older logic are then
# recomputed instead of being mixed with new ones (the spec hash includes it).
SCORING_VERSION = 6


def resolved_spec(spec: list[dict[str, Any]], evaluators: list[Evaluator]) -> list[dict[str, Any]]:
    """``spec`` with every parameter filled in by the built evaluators. Names stay as the spec
    gives them (a registered name or a reference), so a worker builds the same evaluators."""
    return [
        {"name": item["name"], "params": e.params(), "scoring_version": SCORING_VERSION}
        for item, e in zip(spec, evaluators, strict=True)
    ]


def all_metrics(evaluators: list[Evaluator]) -> list[Metric]:
    return [m for e in evaluators for m in e.metrics]


def score_call(call: CallTrace, evaluators: list[Evaluator], ctx: EvalContext) -> CallScores:
    metrics: dict[str, float | None] = {}
    reasons: dict[str, str] = {}
    details: dict[str, Any] = {}
    by_turn: dict[int, dict[str, Any]] = {}
    for ev in evaluators:
        res = ev.score_call(call, ctx)
        for name, value in res.metrics.items():
            metrics[name] = None if value is None or math.isnan(value) else float(value)
        reasons[ev.name] = res.reason
        if res.details:
            details[ev.name] = res.details
        for row in res.turns:
            merged = by_turn.setdefault(int(row["turn"]), {"turn": int(row["turn"])})
            merged.update(row)
    turns = [by_turn[k] for k in sorted(by_turn)]
    return CallScores(metrics=metrics, reasons=reasons, details=details, turns=turns)
