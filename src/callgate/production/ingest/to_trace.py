"""A call log record (:class:`~callgate.production.ingest.calllog.CallLog`) as a call trace.

One converter for every log format, so an imported call means the same whatever wrote it:

* caller turns become caller utterances: the reference text when the log has one, else what the
  ASR heard (the trace then has no reference, and reference-based evaluators say "not scored");
  a turn that repeats or corrects the caller's previous one (the log's flag, else
  :mod:`callgate.production.ingest.corrections`) has ``why: correction``;
* each agent turn answers the caller turns since the previous agent turn: their span is what it
  heard, their transcripts (joined) its ASR result with the lowest confidence among them;
* events are rebuilt on the call's clock from the turns, so the timeline and timing evaluators
  read an imported call like a simulated one;
* the call id is derived from the suite and the log's own call id alone: the same call imported
  twice, from the same file or another, is one call.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from callgate.production.ingest.calllog import CallLog, LoggedCost, LoggedTurn
from callgate.production.ingest.corrections import is_correction
from callgate.traces.model import (
    AgentTurnTrace,
    ASRTrace,
    AudioRef,
    CallerUtteranceTrace,
    CallTrace,
    CostItem,
    EndReason,
    Event,
    ImportedFrom,
    SpeechPiece,
    ToolCallTrace,
)

AudioResolver = Callable[[str], AudioRef]  # a path as the log wrote it -> the blob in the store


def imported_call_id(suite: str, log_call_id: str) -> str:
    return hashlib.sha256(f"imported|{suite}|{log_call_id}".encode()).hexdigest()[:20]


def cohort_id(tags: dict[str, str]) -> str:
    return "|".join(f"{k}={v}" for k, v in sorted(tags.items())) or "none"


def to_trace(
    log: CallLog,
    *,
    run_id: str,
    fmt: str,
    file: str,
    line: int | None,
    audio: AudioResolver | None = None,
) -> CallTrace:
    turns = sorted(log.turns, key=lambda t: t.start)  # stable: ties keep the log's order
    callers: list[CallerUtteranceTrace] = []
    agents: list[AgentTurnTrace] = []
    tools: list[ToolCallTrace] = []
    events: list[Event] = [Event(t=0.0, kind="call_start")]
    pending: list[tuple[CallerUtteranceTrace, LoggedTurn]] = []
    previous_said: list[str] = []
    asr_engine = log.engines.get("asr", "logged")

    def ref(path: str | None) -> AudioRef | None:
        return None if path is None or audio is None else audio(path)

    for turn in turns:
        if turn.speaker == "caller":
            said = turn.reference if turn.reference is not None else turn.text
            versions = [t for t in dict.fromkeys([turn.text, said]) if t]
            corrected = (
                turn.correction
                if turn.correction is not None
                else is_correction(versions, previous_said)
            )
            previous_said = versions
            utterance = CallerUtteranceTrace(
                index=len(callers),
                text=said,
                pieces=[SpeechPiece(text=said, start=turn.start, end=turn.end)],
                start=turn.start,
                end=turn.end,
                why="correction" if corrected else "script",
                voice="recorded" if turn.audio else None,
                clean_audio=ref(turn.audio),
            )
            callers.append(utterance)
            pending.append((utterance, turn))
            events += [
                Event(t=turn.start, kind="caller_speech_start", turn=utterance.index),
                Event(t=turn.end, kind="caller_speech_end", turn=utterance.index),
            ]
            continue
        agents.append(_agent_turn(turn, len(agents), pending, tools, events, asr_engine))
        pending = []

    transferred = (
        log.transferred if log.transferred is not None else any(a.transferred for a in agents)
    )
    ends = [t.end for t in turns] + [e.t for e in events]
    duration = log.duration_s if log.duration_s is not None else max(ends, default=0.0)
    ended_by = log.ended_by or _ended_by(transferred, turns)
    events.append(Event(t=duration, kind="call_end", data={"reason": ended_by}))
    events.sort(key=lambda e: e.t)
    cost = [_cost(c) for c in log.costs]
    tags = dict(log.tags)
    if log.scenario is not None:
        # A production call is its own scenario (the gate's clusters are scenarios, and live
        # calls are independent draws); the log's grouping label stays as a tag to slice on.
        tags.setdefault("scenario", log.scenario)
    return CallTrace(
        call_id=imported_call_id(log.suite, log.call_id),
        run_id=run_id,
        source="imported",
        suite=log.suite,
        scenario_id=log.call_id,
        variant=log.release,
        seed=0,
        cohort_id=cohort_id(tags),
        cohort=tags,
        expectation=None if log.expect is None else log.expect.model_dump(mode="json"),
        caller_turns=callers,
        agent_turns=agents,
        tool_calls=tools,
        events=events,
        initial_state=log.initial_state,
        final_state=log.final_state,
        ended_by=ended_by,
        transferred=transferred,
        duration_s=round(duration, 6),
        caller_audio=ref(log.caller_audio),
        agent_audio=ref(log.agent_audio),
        cost=cost,
        cost_total=round(sum(c.amount for c in cost), 8),
        engines=dict(log.engines),
        imported=ImportedFrom(
            format=fmt,
            file=file,
            line=line,
            log_call_id=log.call_id,
            started_at=log.started_at.isoformat().replace("+00:00", "Z"),
            release=log.release,
            model_version=log.model_version,
            resolved=log.resolved,
            metadata=log.metadata,
        ),
    )


def _agent_turn(
    turn: LoggedTurn,
    index: int,
    heard: list[tuple[CallerUtteranceTrace, LoggedTurn]],
    tools: list[ToolCallTrace],
    events: list[Event],
    asr_engine: str,
) -> AgentTurnTrace:
    asr = None
    heard_start = heard_end = None
    reference = None
    if heard:
        heard_start = min(u.start for u, _ in heard)
        heard_end = max(u.end for u, _ in heard)
        transcript = " ".join(t.text for _, t in heard if t.text)
        known = [t.confidence for _, t in heard if t.confidence is not None]
        asr = ASRTrace(
            text=transcript,
            confidence=min(known) if known else None,
            engine=asr_engine,
            audio_start=heard_start,
            audio_end=heard_end,
        )
        if all(t.reference is not None for _, t in heard):
            reference = " ".join(t.reference or "" for _, t in heard)
    decided = turn.end_of_turn if turn.end_of_turn is not None else heard_end
    if decided is None:
        decided = turn.start
    called = []
    for call in turn.tool_calls:
        start = call.start if call.start is not None else decided
        end = call.end if call.end is not None else start
        called.append(len(tools))
        tools.append(
            ToolCallTrace(
                index=len(tools),
                turn=index,
                tool=call.tool,
                args=call.args,
                ok=call.ok,
                result=call.result,
                error=call.error,
                start=start,
                end=end,
            )
        )
        events += [
            Event(t=start, kind="tool_start", turn=index, data={"tool": call.tool}),
            Event(t=end, kind="tool_end", turn=index, data={"tool": call.tool, "ok": call.ok}),
        ]
    first_byte = turn.first_byte if turn.first_byte is not None else turn.start
    if turn.end_of_turn is not None:
        events.append(Event(t=turn.end_of_turn, kind="end_of_turn", turn=index))
    if asr is not None:
        events.append(Event(t=decided, kind="asr_final", turn=index, data={"text": asr.text}))
    events += [
        Event(t=first_byte, kind="agent_first_byte", turn=index),
        Event(t=turn.start, kind="agent_audible", turn=index),
        Event(t=turn.end, kind="agent_cut" if turn.interrupted else "agent_speech_end", turn=index),
    ]
    if turn.transfer:
        events.append(Event(t=turn.end, kind="transfer", turn=index))
    return AgentTurnTrace(
        index=index,
        trigger="utterance" if heard else ("start" if index == 0 else "silence"),
        heard_start=heard_start,
        heard_end=heard_end,
        reference_text=reference,
        end_of_turn=turn.end_of_turn,
        asr=asr,
        tool_calls=called,
        reply_text=turn.text,
        first_byte=first_byte,
        first_audible=turn.start,
        playback_end=turn.end,
        interrupted=turn.interrupted,
        transferred=turn.transfer,
        measured={f"{k}_s": float(v) for k, v in turn.latency.items()},
    )


def _ended_by(transferred: bool, turns: list[LoggedTurn]) -> EndReason:
    # A log without an end reason: the side that spoke last hung up.
    if transferred:
        return "transfer"
    if turns and turns[-1].speaker == "caller":
        return "caller_hangup"
    return "agent_hangup"


def _cost(c: LoggedCost) -> CostItem:
    # A cost logged as an amount only is one item of that amount.
    quantity = c.quantity if c.quantity is not None else 1.0
    unit_price = (
        c.unit_price if c.unit_price is not None else (c.amount / quantity if quantity else 0.0)
    )
    return CostItem(
        kind=c.kind,
        quantity=quantity,
        unit=c.unit or "item",
        unit_price=unit_price,
        amount=c.amount,
        currency=c.currency,
    )
