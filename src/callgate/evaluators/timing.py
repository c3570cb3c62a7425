"""Timing: how fast the agent answers, how fast it yields, and how much dead air a call has.

Time to first audio is measured at the first *audible* sample of the agent's reply (not its first,
possibly silent, byte), from the end of the caller's actual speech in that turn. Per-turn values are
kept in the turn rows so cohort percentiles can be computed over turns, not averaged over calls.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from callgate.evaluators.base import EvalContext, EvalResult, Metric, result
from callgate.traces.model import AgentTurnTrace, CallTrace

TTFA_P50 = Metric("ttfa_p50_s", "lower", "s", "median time to first audible agent audio", 1.5)
TTFA_P95 = Metric("ttfa_p95_s", "lower", "s", "95th percentile time to first audible audio", 2.5)
TTFA_P99 = Metric("ttfa_p99_s", "lower", "s", "99th percentile time to first audible audio")
TTFA_MAX = Metric("ttfa_max_s", "lower", "s", "slowest time to first audible audio in the call")
BARGE = Metric(
    "barge_in_stop_s",
    "lower",
    "s",
    "longest time from the caller starting to talk over the agent to the agent stopping",
    0.5,
)
DEAD_AIR = Metric(
    "dead_air_max_s",
    "lower",
    "s",
    "longest stretch where neither side is audible (ringing silence)",
    4.0,
)
DURATION = Metric("call_duration_s", "lower", "s", "length of the call")


def _speech_end(call: CallTrace, turn: AgentTurnTrace) -> float | None:
    """End of the caller's real speech inside the span the agent took as this turn."""
    if turn.heard_start is None or turn.heard_end is None:
        return None
    ends = [
        p.end
        for u in call.caller_turns
        for p in u.pieces
        if p.start < turn.heard_end + 0.05 and p.end > turn.heard_start - 0.05
    ]
    return max(ends) if ends else turn.heard_end


def ttfa_per_turn(call: CallTrace) -> list[tuple[int, float]]:
    out = []
    for t in call.agent_turns:
        if t.trigger != "utterance" or t.first_audible is None or t.discarded:
            continue
        end = _speech_end(call, t)
        if end is not None:
            out.append((t.index, round(t.first_audible - end, 6)))
    return out


def _barge_in_stops(call: CallTrace) -> list[float]:
    stops = []
    for t in call.agent_turns:
        if not t.interrupted or t.playback_end is None:
            continue
        onsets = [
            p.start
            for u in call.caller_turns
            for p in u.pieces
            if t.first_byte is not None and t.first_byte <= p.start <= t.playback_end
        ]
        if onsets:
            stops.append(t.playback_end - min(onsets))
    return stops


def _dead_air(call: CallTrace) -> float:
    spans = [(p.start, p.end) for u in call.caller_turns for p in u.pieces]
    spans += [
        (t.first_audible, t.playback_end)
        for t in call.agent_turns
        if t.first_audible is not None and t.playback_end is not None and not t.discarded
    ]
    if not spans:
        return call.duration_s
    spans.sort()
    longest, covered = spans[0][0], spans[0][1]  # silence before anyone speaks counts too
    for a, b in spans[1:]:
        longest = max(longest, a - covered)
        covered = max(covered, b)
    return max(0.0, longest)


class Timing:
    name: ClassVar[str] = "Timing"
    metrics: ClassVar[list[Metric]] = [
        TTFA_P50,
        TTFA_P95,
        TTFA_P99,
        TTFA_MAX,
        BARGE,
        DEAD_AIR,
        DURATION,
    ]

    def params(self) -> dict[str, Any]:
        return {}

    def score_call(self, call: CallTrace, ctx: EvalContext) -> EvalResult:
        per_turn = ttfa_per_turn(call)
        values = np.array([v for _, v in per_turn])
        stops = _barge_in_stops(call)
        metrics: dict[str, float | None] = {
            TTFA_P50.name: float(np.percentile(values, 50)) if len(values) else None,
            TTFA_P95.name: float(np.percentile(values, 95)) if len(values) else None,
            TTFA_P99.name: float(np.percentile(values, 99)) if len(values) else None,
            TTFA_MAX.name: float(values.max()) if len(values) else None,
            BARGE.name: max(stops) if stops else None,
            DEAD_AIR.name: round(_dead_air(call), 6),
            DURATION.name: call.duration_s,
        }
        rows = [{"turn": i, "ttfa_s": v} for i, v in per_turn]
        reason = (
            f"{len(values)} answered turns, median time to first audio "
            f"{metrics[TTFA_P50.name]:.2f}s"
            if len(values)
            else "no answered caller turn"
        )
        return result(self.name, TTFA_P50, metrics, reason, turns=rows)
