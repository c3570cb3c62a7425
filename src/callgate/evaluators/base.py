"""The evaluator seam: a small protocol, a result type, metric metadata and a name registry.

An evaluator scores one call from its trace (:meth:`Evaluator.score_call`) and reports one or more
metrics. Each metric states its direction, unit and pass threshold (:class:`Metric`). Missing
evidence gives ``value=None`` with a reason ("not scored"), never 0 or 1. Evaluators are built by
name with recorded parameters (:func:`build`), so any score in a results file can be recomputed.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from callgate.errors import UsageError
from callgate.registry import Registry
from callgate.traces.model import CallTrace

Direction = Literal["higher", "lower"]

# Fewer pooled events than this and an event-based metric is not shown for a slice: a rate of 2
# out of 3 says nothing (tau2-bench's voice metrics hide a rate below 10 events).
MIN_EVENTS = 5


@dataclass(frozen=True)
class Metric:
    """What a metric means: ``higher`` or ``lower`` is better, its unit and pass threshold."""

    name: str
    direction: Direction
    unit: str
    description: str
    threshold: float | None = None  # passes when value >= (higher) or <= (lower) the threshold
    kind: Literal["rate", "continuous", "binary"] = "continuous"
    # The count metric of the events behind this value (talk-overs behind a yield rate). A call
    # with no event leaves the value empty; a slice that pools fewer than MIN_EVENTS events shows
    # "too few events (n)" instead of a value (report, compare).
    events: str | None = None

    def passes(self, value: float | None) -> bool | None:
        if value is None or self.threshold is None:
            return None
        return value >= self.threshold if self.direction == "higher" else value <= self.threshold


@dataclass
class EvalResult:
    """The result of one evaluation: the primary ``score`` plus every metric and the evidence.

    ``score`` is ``None`` when the evaluator could not score (``reason`` says why).
    """

    evaluator: str
    score: float | None
    passed: bool | None
    reason: str
    metrics: dict[str, float | None] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    turns: list[dict[str, Any]] = field(default_factory=list)  # per-turn detail rows

    @classmethod
    def not_scored(cls, evaluator: str, reason: str, metrics: list[Metric]) -> EvalResult:
        return cls(evaluator, None, None, f"not scored: {reason}", {m.name: None for m in metrics})


@dataclass
class EvalContext:
    """What evaluators may need besides the trace: audio access and (lazily) an ASR engine."""

    load_audio: Callable[[str], Any] | None = None  # sha256 -> Audio
    options: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Evaluator(Protocol):
    name: ClassVar[str]
    metrics: ClassVar[list[Metric]]

    def params(self) -> dict[str, Any]:
        """Constructor parameters, recorded with every score so it can be recomputed."""
        ...

    def score_call(self, call: CallTrace, ctx: EvalContext) -> EvalResult: ...


EVALUATORS: Registry[Evaluator] = Registry("evaluator", "callgate.evaluators")


def build(name: str, params: dict[str, Any] | None = None) -> Evaluator:
    return EVALUATORS.create(name, **(params or {}))


def metric_index() -> dict[str, Metric]:
    """Every metric of every registered evaluator, by metric name."""
    out: dict[str, Metric] = {}
    for name in EVALUATORS.names():
        cls = EVALUATORS.factory(name)
        for m in getattr(cls, "metrics", []):
            out[m.name] = m
    return out


def result(
    evaluator: str,
    primary: Metric,
    metrics: dict[str, float | None],
    reason: str,
    **extra: Any,
) -> EvalResult:
    """Build an :class:`EvalResult` whose ``score``/``passed`` follow the primary metric."""
    value = metrics.get(primary.name)
    return EvalResult(evaluator, value, primary.passes(value), reason, metrics, **extra)


def batch_items(items: list[dict[str, Any]] | str | Path) -> list[dict[str, Any]]:
    """Items for ``evaluate_many``: a list of keyword dicts, or a JSONL / CSV file of them (column
    names are the keyword names, e.g. ``audio_path,ground_truth``)."""
    if not isinstance(items, (str, Path)):
        return list(items)
    path = Path(items)
    try:
        with path.open(encoding="utf-8") as fh:
            if path.suffix == ".csv":
                return [dict(row) for row in csv.DictReader(fh)]
            lines = list(fh)
    except FileNotFoundError:
        raise UsageError("file not found", source=path) from None
    items = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError:
            raise UsageError(f"line {number}: not JSON", source=path) from None
    return items


class BatchMixin:
    """``evaluate_many``: one evaluator (so one loaded model) over many items."""

    def evaluate_many(self, items: list[dict[str, Any]] | str | Path) -> list[EvalResult]:
        evaluate = self.evaluate  # type: ignore[attr-defined]
        return [evaluate(**item) for item in batch_items(items)]
