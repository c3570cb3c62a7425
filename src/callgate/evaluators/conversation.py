"""Conversation signals: hand-offs, repeated corrections, reprompts, silence timeouts."""

from __future__ import annotations

from typing import Any, ClassVar

from callgate.evaluators.base import EvalContext, EvalResult, Metric, result
from callgate.traces.model import CallTrace

TRANSFERRED = Metric(
    "transferred", "lower", "flag", "the call was handed to a human", None, "binary"
)
CORRECTIONS = Metric(
    "caller_repeats",
    "lower",
    "count",
    "times the caller had to say it again or correct the agent",
    1.0,
)
REPROMPTS = Metric(
    "agent_reprompts",
    "lower",
    "count",
    "agent turns that asked again (not understood, or silence)",
    1.0,
)
TIMEOUTS = Metric("silence_timeouts", "lower", "count", "no-input timeouts the agent hit")
TURNS = Metric("caller_turns", "lower", "count", "caller utterances in the call")
TURNS_DONE = Metric(
    "turns_to_completion",
    "lower",
    "count",
    "caller utterances until the last expected tool call (None if never made)",
)

REPROMPT_ACTIONS = {"repair", "reprompt", "not_understood"}


class ConversationSignals:
    name: ClassVar[str] = "ConversationSignals"
    metrics: ClassVar[list[Metric]] = [
        TRANSFERRED,
        CORRECTIONS,
        REPROMPTS,
        TIMEOUTS,
        TURNS,
        TURNS_DONE,
    ]

    def params(self) -> dict[str, Any]:
        return {}

    def score_call(self, call: CallTrace, ctx: EvalContext) -> EvalResult:
        repeats = sum(1 for u in call.caller_turns if u.why in ("repeat", "correction"))
        reprompts = sum(
            1
            for t in call.agent_turns
            if t.trigger == "silence"
            or (t.policy is not None and t.policy.action in REPROMPT_ACTIONS)
        )
        timeouts = sum(1 for e in call.events if e.kind == "no_input_timeout")
        metrics: dict[str, float | None] = {
            TRANSFERRED.name: float(call.transferred),
            CORRECTIONS.name: float(repeats),
            REPROMPTS.name: float(reprompts),
            TIMEOUTS.name: float(timeouts),
            TURNS.name: float(len(call.caller_turns)),
            TURNS_DONE.name: _turns_to_completion(call),
        }
        reason = (
            f"{len(call.caller_turns)} caller turns, {repeats} repeats/corrections, "
            f"{reprompts} reprompts" + (", transferred" if call.transferred else "")
        )
        return result(self.name, CORRECTIONS, metrics, reason)


def _turns_to_completion(call: CallTrace) -> float | None:
    expected = [c["tool"] for c in (call.expectation or {}).get("tools", [])]
    if not expected:
        return None
    made = [tc for tc in call.tool_calls if tc.tool in expected and tc.ok]
    if not made or {tc.tool for tc in made} < set(expected):
        return None
    last = max(tc.start for tc in made)
    return float(sum(1 for u in call.caller_turns if u.start < last))
