"""What the store holds about a call, as pydantic models read and written the same way everywhere.

:class:`CallRow` is one call as a row: its identity, cohort tags and a light view of its scores
(no trace, no per-turn detail). The results table, the comparison's sides, the HTML report and the
web UI all list calls as these rows, built by :meth:`CallRow.of` from a stored trace and its scores.

The failure rule lives here too, because a row says whether its call failed: one rule for
attribution, summaries, the report and the UI.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from callgate.traces.model import CallTrace

FAIL_METRICS = ("task_completion", "tool_selection_accuracy")
UNATTRIBUTED = "unattributed"  # failed, but no cause (e.g. an imported call, or an older run)


def failed(metrics: Mapping[str, float | None]) -> bool:
    """The task was not completed, or the tools were not used as expected."""
    return any((v := metrics.get(m)) is not None and v < 1.0 for m in FAIL_METRICS)


def failed_or_unscored(metrics: Mapping[str, float | None]) -> bool | None:
    """:func:`failed`, or None when none of the metrics it looks at was scored."""
    known = {
        m: float(v) for m in FAIL_METRICS if (v := metrics.get(m)) is not None and math.isfinite(v)
    }
    return failed(known) if known else None


class CallRow(BaseModel):
    """One call: identity, cohort tags, metrics, outcome and cause (docs/results.md)."""

    run_id: str
    call_id: str
    source: str
    suite: str
    scenario_id: str
    variant: str
    repeat: int
    seed: int
    split: str
    cohort_id: str
    cohort: dict[str, str]  # every cohort tag, built-in and the suite's own
    ended_by: str
    duration_s: float
    scored: bool = False
    metrics: dict[str, float | None] = Field(default_factory=dict)  # None: not scored
    reasons: dict[str, str] = Field(default_factory=dict)  # evaluator -> why
    failed: bool | None = None  # the failure rule; None: not scored
    cause: str | None = None  # the attributed cause (asr, policy, tts, timing), if any
    cause_reason: str = ""
    ttfa: list[float] = Field(default_factory=list)  # time to first audio of each answered turn
    # Set when a run is viewed as baseline vs candidate (callgate.report.data.pair); the store
    # leaves them empty, as a call has no twin until two variants are compared.
    partner: str | None = None
    regressed: bool = False

    @property
    def pair_key(self) -> tuple[str, str, int]:
        return (self.scenario_id, self.cohort_id, self.repeat)

    @property
    def failure_cause(self) -> str | None:
        """Why a failed call failed, ``unattributed`` when no cause was found; None if passed."""
        return (self.cause or UNATTRIBUTED) if self.failed else None

    @classmethod
    def of(cls, trace: CallTrace, scores: Mapping[str, Any] | None) -> CallRow:
        sc = scores or {}
        metrics = {k: (None if v is None else float(v)) for k, v in sc.get("metrics", {}).items()}
        attribution = sc.get("details", {}).get("Attribution") or {}
        cause = attribution.get("cause") if isinstance(attribution, dict) else None
        reason = attribution.get("reason") if isinstance(attribution, dict) else None
        return cls(
            run_id=trace.run_id,
            call_id=trace.call_id,
            source=trace.source,
            suite=trace.suite,
            scenario_id=trace.scenario_id,
            variant=trace.variant,
            repeat=trace.repeat,
            seed=trace.seed,
            split=trace.split,
            cohort_id=trace.cohort_id,
            cohort=dict(trace.cohort),
            ended_by=trace.ended_by,
            duration_s=trace.duration_s,
            scored=bool(sc),
            metrics=metrics,
            reasons=dict(sc.get("reasons", {})),
            failed=failed_or_unscored(metrics) if sc else None,
            cause=str(cause) if cause else None,
            cause_reason=str(reason or ""),
            ttfa=[float(t["ttfa_s"]) for t in sc.get("turns", []) if t.get("ttfa_s") is not None],
        )
