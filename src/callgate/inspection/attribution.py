"""Failure attribution: was a failed call lost to ASR, the dialogue policy, TTS or timing?

For every failed call the policy is replayed on what the caller really said (the oracle replay,
:mod:`callgate.simulation.oracle`). If the replay succeeds, the audio path lost the call: ASR when
words were misrecognised (they are named), timing when the turn was cut early, a reply dropped, the
agent slow to stop or silent for long. If the replay fails too, the policy is at fault whatever the
ASR did. A call whose task succeeded but whose audio did not say what the agent meant is a TTS
failure.
"""

from __future__ import annotations

from typing import Any

from callgate.agents.voice import AgentUnavailable
from callgate.evaluators.base import EvalContext
from callgate.evaluators.task import TaskCompletion
from callgate.evaluators.tools import ToolSelectionAccuracy
from callgate.scenarios.model import Reaction, Scenario
from callgate.simulation.oracle import OracleCall, can_replay, replay
from callgate.store.records import Attribution, CallScores, failed
from callgate.traces.model import (
    AgentTurnTrace,
    CallerUtteranceTrace,
    CallTrace,
    SpeechPiece,
    ToolCallTrace,
)
from callgate.variants.model import Variant

ASR_TURN_WER = 0.25  # a turn this wrong counts as misrecognised even without a critical word
TTS_WER = 0.15
DEAD_AIR_S = 4.0
BARGE_IN_STOP_S = 0.5


def tts_failed(metrics: dict[str, float | None]) -> bool:
    wer, issues = metrics.get("tts_wer"), metrics.get("tts_audio_issues")
    return (wer is not None and wer > TTS_WER) or (issues is not None and issues > 0)


def attribute(
    call: CallTrace,
    scores: CallScores,
    scenario: Scenario | None,
    variant: Variant | None,
    suite_reactions: list[Reaction],
    models_dir: Any = None,
) -> Attribution:
    metrics = scores.metrics
    if not failed(metrics):
        if tts_failed(metrics):
            return Attribution(
                "tts",
                "the task succeeded but the agent's audio did not say its "
                f"text (judge WER {metrics.get('tts_wer')})",
            )
        return Attribution(None, "not failed")
    if call.ended_by == "error":
        return Attribution("agent", f"the agent failed the call: {call.error or 'no reason given'}")
    if scenario is None or variant is None:
        return Attribution(None, "not attributed: scenario or variant unknown (imported call?)")
    if not can_replay(variant):
        return Attribution(
            None,
            f"not attributable: agent kind {variant.agent.kind!r} cannot replay a call as text",
            replayable=False,
        )
    try:
        oracle = replay(
            scenario, variant, call.initial_state, suite_reactions, models_dir, call.seed
        )
    except AgentUnavailable as exc:
        # The replay needs the agent's policy service (an LLM endpoint, a turn service).
        return Attribution(None, f"not attributed: the replay could not reach the agent ({exc})")
    oracle_ok = oracle_passed(call, oracle)
    misheard = _misrecognised(scores.turns)
    signals = _timing_signals(call, metrics)
    if not oracle_ok:
        return Attribution(
            "policy",
            "fails with perfect hearing too (oracle replay failed)",
            False,
            misheard,
            signals,
        )
    if misheard:
        return Attribution(
            "asr",
            "oracle replay passes; misrecognised: " + ", ".join(misheard[:4]),
            True,
            misheard,
            signals,
        )
    if signals:
        return Attribution(
            "timing", "oracle replay passes; " + "; ".join(signals[:3]), True, misheard, signals
        )
    if tts_failed(metrics):
        return Attribution("tts", "oracle replay passes and the agent's audio was wrong", True)
    return Attribution(
        "asr",
        "oracle replay passes; the audio path lost it (low ASR confidence "
        "or wrong words outside the critical ones)",
        True,
        misheard,
        signals,
    )


def oracle_passed(call: CallTrace, oracle: OracleCall) -> bool:
    """Whether a replay completed the call's task with the expected tools (its evidence judged
    by the same evaluators as a real call's)."""
    trace = _oracle_trace(call, oracle)
    ctx = EvalContext()
    task = TaskCompletion().score_call(trace, ctx).metrics.get("task_completion")
    tools = ToolSelectionAccuracy().score_call(trace, ctx).metrics.get("tool_selection_accuracy")
    return (task is None or task == 1.0) and (tools is None or tools == 1.0)


def _oracle_trace(call: CallTrace, oracle: OracleCall) -> CallTrace:
    """The replay as a trace on a notional clock (one second per line) so the same evaluators
    judge it; tool calls sit inside the agent reply that followed the caller's words."""
    callers: list[CallerUtteranceTrace] = []
    agents: list[AgentTurnTrace] = []
    tool_calls: list[ToolCallTrace] = []
    for t, (who, text) in enumerate(oracle.transcript):
        if who == "caller":
            piece = SpeechPiece(text=text, start=t, end=t + 0.5)
            callers.append(
                CallerUtteranceTrace(
                    index=len(callers),
                    text=text,
                    pieces=[piece],
                    start=t,
                    end=t + 0.5,
                    why="oracle",
                )
            )
        else:
            agents.append(
                AgentTurnTrace(
                    index=len(agents),
                    trigger="utterance",
                    reply_text=text,
                    first_byte=float(t),
                    first_audible=float(t),
                )
            )
    line = 0
    for i, tc in enumerate(oracle.tool_calls):
        line = int(tc.get("line", line))
        tool_calls.append(
            ToolCallTrace(
                index=i,
                turn=0,
                tool=tc["tool"],
                args=tc["args"],
                ok=tc["ok"],
                start=line - 0.25,
                end=line - 0.2,
            )
        )
    return call.model_copy(
        update={
            "caller_turns": callers,
            "agent_turns": agents,
            "tool_calls": tool_calls,
            "final_state": oracle.final_state,
            "transferred": oracle.transferred,
            "events": [],
        }
    )


def _misrecognised(turns: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for t in turns:
        subs = [f"{a}->{b}" for a, b in t.get("substitutions") or []]
        missed = [f"missed: {e}" for e in t.get("entities_missed") or []]
        wer = t.get("asr_wer")
        if missed:
            out += missed + subs[:2]
        elif wer is not None and wer >= ASR_TURN_WER:
            out += subs[:3] or [f"turn {t['turn']}: WER {wer:.2f}"]
    return list(dict.fromkeys(out))


def _timing_signals(call: CallTrace, metrics: dict[str, float | None]) -> list[str]:
    signals: list[str] = []
    for u in call.caller_turns:
        spans = [
            a
            for a in call.agent_turns
            if a.heard_start is not None
            and a.heard_end is not None
            and any(a.heard_start < p.end and a.heard_end > p.start for p in u.pieces)
        ]
        if len(spans) > 1:
            signals.append(f"end of turn cut utterance {u.index} ({u.text!r}) into {len(spans)}")
    dropped = [a.index for a in call.agent_turns if a.discarded]
    if dropped:
        signals.append(f"replies dropped: {dropped}")
    stop = metrics.get("barge_in_stop_s")
    if stop is not None and stop > BARGE_IN_STOP_S:
        signals.append(f"agent kept talking {stop:.2f}s over the caller")
    dead = metrics.get("dead_air_max_s")
    if dead is not None and dead > DEAD_AIR_S:
        signals.append(f"dead air {dead:.1f}s")
    return signals
