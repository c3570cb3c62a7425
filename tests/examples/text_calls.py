"""A text-only call: callgate's scripted caller against a dialogue policy, without audio or clock.

It keeps what the audio simulator does with a script and nothing else: the caller reacts to the
agent's intended words (``ScriptedCaller``, the simulator's own), ``$silent`` and a long
``silence_before_s`` give the policy silence events every ``no_input_timeout_s``, and a ``pause``
longer than the end-of-turn wait splits an utterance into two turns (the agent's reply to the
first half is dropped by the second, so the caller reacts only to the last reply). Barge-in and
timing do not change words, so they play no part here.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from callgate.agents.policy import DialoguePolicy, PolicyInput, PolicyReply, ToolBackend, ToolResult
from callgate.scenarios.model import Reaction, Scenario, Utterance
from callgate.simulation.caller import ScriptedCaller

MAX_STEPS = 60
MAX_IDLE_S = 60.0  # how long the simulator keeps a silent caller on the line


@dataclass
class ToolCall:
    tool: str
    args: dict[str, Any]
    result: ToolResult
    asked: str  # the agent's reply the caller was answering when the call ran
    answer: str | None  # what the caller said then (None: silence or the greeting)


@dataclass
class TextCall:
    replies: list[PolicyReply] = field(default_factory=list)
    said: list[str] = field(default_factory=list)  # the caller's turns, pieces of a pause apart
    tool_calls: list[ToolCall] = field(default_factory=list)
    final_state: dict[str, Any] = field(default_factory=dict)
    ended_by: str = "agent_hangup"

    @property
    def transferred(self) -> bool:
        return any(r.transferred for r in self.replies)

    def transcript(self) -> str:
        lines = [f"agent: {r.text}" for r in self.replies[:1]]
        for said, reply in zip(self.said, self.replies[1:], strict=False):
            lines += [f"caller: {said}", f"agent: {reply.text}"]
        return "\n".join(lines)


class _Recording:
    def __init__(self, backend: ToolBackend, out: TextCall) -> None:
        self.backend, self.out = backend, out
        self.asked: str = ""
        self.answer: str | None = None

    def call(self, name: str, args: dict[str, Any]) -> ToolResult:
        result = self.backend.call(name, dict(args))
        self.out.tool_calls.append(ToolCall(name, dict(args), result, self.asked, self.answer))
        return result


def merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """A scenario's ``state`` over its fixture: mappings merge key by key, the rest replaces."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _pieces(utt: Utterance, end_of_turn_ms: int) -> list[str]:
    if utt.pause is None or utt.pause.ms <= end_of_turn_ms:
        return [utt.say]
    cut = utt.say.lower().index(utt.pause.after.lower()) + len(utt.pause.after)
    return [utt.say[:cut].strip(), utt.say[cut:].strip(" ,")]


def drive(
    scenario: Scenario,
    reactions: list[Reaction],
    policy: DialoguePolicy,
    tools: ToolBackend,
    *,
    end_of_turn_ms: int = 800,
    no_input_timeout_s: float = 6.0,
) -> TextCall:
    out = TextCall()
    recording = _Recording(tools, out)
    caller = ScriptedCaller(scenario.caller, reactions)
    session = policy.start()

    def respond(turn: PolicyInput) -> PolicyReply:
        recording.asked = out.replies[-1].text if out.replies else ""
        recording.answer = turn.text if turn.event == "utterance" else None
        if turn.event == "utterance":
            out.said.append(turn.text)
        elif out.replies:
            out.said.append("(silence)")
        reply = session.respond(turn, recording)
        out.replies.append(reply)
        return reply

    reply = respond(PolicyInput("start"))
    while not reply.end_call and len(out.replies) < MAX_STEPS:
        decision = caller.decide(reply.text)
        if decision.kind == "hangup":
            out.ended_by = "caller_hangup"
            break
        silences = int(MAX_IDLE_S // no_input_timeout_s)
        if decision.kind == "say":
            assert decision.utterance is not None
            silences = int(decision.utterance.silence_before_s // no_input_timeout_s)
        for _ in range(silences):
            reply = respond(PolicyInput("silence"))
            if reply.end_call:
                break
        if reply.end_call:
            break
        if decision.kind == "silent":
            out.ended_by = "no_input"
            break
        assert decision.utterance is not None
        for piece in _pieces(decision.utterance, end_of_turn_ms):
            reply = respond(PolicyInput("utterance", piece))
            if reply.end_call:
                break
    if reply.end_call:
        out.ended_by = "transfer" if reply.transferred else "agent_hangup"
    out.final_state = tools.state()
    return out
