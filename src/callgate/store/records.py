"""What the store holds about a call, as pydantic models read and written the same way everywhere.

:class:`CallScores` is everything the evaluators said about one call (metrics, reasons, evidence,
per-turn rows) and, as a field of its own, why it failed (:class:`Attribution`). The evaluators
build it (:func:`callgate.evaluators.suite.score_call`), attribution fills in ``attribution``, the
store writes and reads it; it is versioned, and older stored shapes are migrated on reading.

:class:`CallRow` is one call as a row: its identity, cohort tags and a light view of its scores
(no trace, no per-turn detail). The results table, the comparison's sides, the HTML report and the
web UI all list calls as these rows, built by :meth:`CallRow.of` from a stored trace and its scores.

The failure rule lives here too, because a row says whether its call failed: one rule for
attribution, summaries, the report and the UI.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from callgate.traces.model import CallTrace

FAIL_METRICS = ("task_completion", "tool_selection_accuracy")
# "agent": the agent itself failed the call (dropped the connection, timed out, sent something
# malformed): the trace says why, no replay needed.
Cause = Literal["asr", "policy", "tts", "timing", "agent"]
CAUSES: tuple[Cause, ...] = ("asr", "policy", "tts", "timing", "agent")
UNATTRIBUTED = "unattributed"  # failed, but no cause (e.g. an imported call, or an older run)
# Failed, and its agent kind cannot replay a call as text, so no oracle replay can tell the cause.
NOT_ATTRIBUTABLE = "not attributable"
FAILURE_CAUSES = (*CAUSES, NOT_ATTRIBUTABLE, UNATTRIBUTED)  # what the report and the UI count

# 1: attribution stored inside ``details`` under "Attribution" (callgate before this record).
# 2: attribution is a field of its own.
SCORES_SCHEMA_VERSION: Literal[2] = 2


def failed(metrics: Mapping[str, float | None]) -> bool:
    """The task was not completed, or the tools were not used as expected."""
    return any((v := metrics.get(m)) is not None and v < 1.0 for m in FAIL_METRICS)


def failed_or_unscored(metrics: Mapping[str, float | None]) -> bool | None:
    """:func:`failed`, or None when none of the metrics it looks at was scored."""
    known = {
        m: float(v) for m in FAIL_METRICS if (v := metrics.get(m)) is not None and math.isfinite(v)
    }
    return failed(known) if known else None


class Attribution(BaseModel):
    """Why a call failed: lost to ASR, the dialogue policy, TTS or timing (docs/results.md)."""

    cause: Cause | None = None  # None: the call did not fail, or no cause could be found
    reason: str = ""
    oracle_passed: bool | None = None  # the policy replayed on what the caller really said
    misrecognised: list[str] = Field(default_factory=list)  # "refill->refit", "missed: inhaler"
    signals: list[str] = Field(default_factory=list)  # timing trouble seen in the call
    replayable: bool = True  # False: the agent kind declares no text replay (not attributable)

    def __init__(
        self,
        cause: Cause | None = None,
        reason: str = "",
        oracle_passed: bool | None = None,
        misrecognised: list[str] | None = None,
        signals: list[str] | None = None,
        **data: Any,
    ) -> None:
        # Positional, like the dataclass it replaced: attribute() returns one from nine places.
        super().__init__(
            cause=cause,
            reason=reason,
            oracle_passed=oracle_passed,
            misrecognised=misrecognised or [],
            signals=signals or [],
            **data,
        )


class CallScores(BaseModel):
    """One call's scores: every evaluator's metrics, reason and evidence, and its attribution."""

    schema_version: Literal[2] = SCORES_SCHEMA_VERSION
    metrics: dict[str, float | None]  # None: not scored (never 0 or 1 for "unknown")
    reasons: dict[str, str]  # evaluator name -> why it scored so
    details: dict[str, Any] = Field(default_factory=dict)  # evaluator name -> its evidence
    turns: list[dict[str, Any]] = Field(default_factory=list)  # per-turn rows, merged by turn
    attribution: Attribution | None = None  # None: not attributed (yet)

    @model_validator(mode="before")
    @classmethod
    def _migrate(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        # No schema_version: the shape stored before scores were versioned (1).
        version = data.get("schema_version", 1)
        if isinstance(version, int) and version > SCORES_SCHEMA_VERSION:
            raise ValueError(
                f"scores schema_version {version} is newer than this callgate reads "
                f"({SCORES_SCHEMA_VERSION}): upgrade callgate"
            )
        if version == 1:
            details = dict(data.get("details") or {})
            found = details.pop("Attribution", None)
            data = {**data, "schema_version": 2, "details": details}
            if data.get("attribution") is None:
                data["attribution"] = found
        return data

    @property
    def failed(self) -> bool | None:
        """The failure rule on these metrics; None when neither of its metrics was scored."""
        return failed_or_unscored(self.metrics)

    def ttfa(self) -> list[float]:
        """Time to first audio of each answered turn, in turn order."""
        return [float(t["ttfa_s"]) for t in self.turns if t.get("ttfa_s") is not None]

    def turn_values(self) -> dict[str, list[float]]:
        """Every number of the per-turn rows by key (``response_latency_s``, ...), in turn order."""
        out: dict[str, list[float]] = {}
        for row in self.turns:
            for key, v in row.items():
                if key != "turn" and isinstance(v, int | float) and not isinstance(v, bool):
                    out.setdefault(key, []).append(float(v))
        return out


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
    # Per-turn numbers by key (CallScores.turn_values): a cohort's percentiles pool turns.
    turn_values: dict[str, list[float]] = Field(default_factory=dict)
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
    def of(cls, trace: CallTrace, scores: CallScores | None) -> CallRow:
        attribution = scores.attribution if scores else None
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
            scored=scores is not None,
            metrics=dict(scores.metrics) if scores else {},
            reasons=dict(scores.reasons) if scores else {},
            failed=scores.failed if scores else None,
            cause=_cause(attribution),
            cause_reason=attribution.reason if attribution else "",
            ttfa=scores.ttfa() if scores else [],
            turn_values=scores.turn_values() if scores else {},
        )


def _cause(attribution: Attribution | None) -> str | None:
    if attribution is None:
        return None
    return attribution.cause or (None if attribution.replayable else NOT_ATTRIBUTABLE)
