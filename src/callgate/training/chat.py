"""One call as one chat-completions training example (OpenAI's fine-tuning format).

The model being trained sits where the agent's dialogue policy sits, so an example holds what
the policy saw and did, agent turn by agent turn:

* a **user** message with what the agent *heard* (the turn's ASR text; the reference when an
  imported call has no ASR text), ``[silence]`` for a turn the caller left silent and
  ``[inaudible]`` for speech the ASR made nothing of; the greeting turn has none;
* each **tool call** as an assistant message of its own (calls run one after another, each seeing
  the result before it) followed by a **tool** message with its result, or ``{"error": ...}``;
* the **reply** as an assistant message (a reply dropped because the caller spoke first is kept:
  the policy produced it, and its session went on from it).

Every assistant message of a call that succeeded has ``weight`` 1. A failed call with a
correction (:mod:`callgate.training.correction`) stops at its first wrong step, which gets
``weight`` 0 (a wrong tool call is followed by its result, as it happened), and ends with one
assistant message making the corrected calls, ``weight`` 1. Every text field is redacted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from callgate.traces.model import AgentTurnTrace, CallTrace, ToolCallTrace
from callgate.training.correction import Correction
from callgate.training.records import ChatExample, ChatMessage, FunctionCall, ToolCall, ToolDef
from callgate.training.redact import Hits, Redactor

SILENCE = "[silence]"
INAUDIBLE = "[inaudible]"
DEFAULT_SYSTEM = (
    "You are a voice agent on a phone line. Each user message is what speech recognition heard "
    "the caller say and may contain recognition errors. Use the tools to act for the caller and "
    "keep replies short enough to be spoken."
)


@dataclass(frozen=True)
class BuiltExample:
    example: ChatExample
    turns: list[int]  # agent turns the example holds
    until: float  # call time of the wrong step: later caller turns are not in the example
    wrong_step: int | None  # message index of the weight-0 step, if any


def heard(turn: AgentTurnTrace) -> str:
    """What the policy received for this turn (module doc)."""
    if turn.trigger == "silence":
        return SILENCE
    text = turn.asr.text if turn.asr is not None else (turn.reference_text or "")
    return text.strip() or INAUDIBLE


def _calls_by_turn(trace: CallTrace) -> dict[int, list[ToolCallTrace]]:
    """Each agent turn's tool calls in the order made; a call no turn lists goes by its ``turn``."""
    listed = {i for a in trace.agent_turns for i in a.tool_calls}
    by_index = {c.index: c for c in trace.tool_calls}
    out: dict[int, list[ToolCallTrace]] = {}
    for a in trace.agent_turns:
        out[a.index] = [by_index[i] for i in a.tool_calls if i in by_index]
    for c in trace.tool_calls:
        if c.index not in listed:
            out.setdefault(c.turn, []).append(c)
    return {k: sorted(v, key=lambda c: (c.start, c.index)) for k, v in out.items()}


class _Messages:
    def __init__(self, redactor: Redactor, hits: Hits) -> None:
        self.items: list[ChatMessage] = []
        self.redactor = redactor
        self.hits = hits

    def text(self, role: str, text: str) -> None:
        content = self.redactor.text(text, self.hits)
        if role == "assistant":
            self.items.append(ChatMessage(role="assistant", content=content, weight=1))
        else:
            self.items.append(ChatMessage(role="user", content=content))

    def call(self, call_id: str, name: str, args: dict[str, Any], weight: int = 1) -> ToolCall:
        arguments = json.dumps(self.redactor.value(args, self.hits), ensure_ascii=False)
        made = ToolCall(id=call_id, function=FunctionCall(name=name, arguments=arguments))
        self.items.append(ChatMessage(role="assistant", tool_calls=[made], weight=weight))
        return made

    def result(self, call_id: str, tc: ToolCallTrace) -> None:
        body: Any = tc.result if tc.ok else {"error": tc.error or "failed"}
        content = json.dumps(self.redactor.value(body, self.hits), ensure_ascii=False)
        self.items.append(ChatMessage(role="tool", tool_call_id=call_id, content=content))


def chat_example(
    trace: CallTrace,
    tools: list[ToolDef],
    system: str,
    redactor: Redactor,
    hits: Hits,
    correction: Correction | None = None,
) -> BuiltExample:
    """The example of one call (module doc); ``correction`` for a failed call. The call needs
    at least one agent turn."""
    msgs = _Messages(redactor, hits)
    msgs.items.append(ChatMessage(role="system", content=redactor.text(system, hits)))
    calls = _calls_by_turn(trace)
    turns: list[int] = []
    until = float("inf")
    wrong_step: int | None = None
    for turn in sorted(trace.agent_turns, key=lambda a: a.index):
        turns.append(turn.index)
        if turn.trigger != "start":
            msgs.text("user", heard(turn))
        for tc in calls.get(turn.index, []):
            wrong = correction is not None and tc.index == correction.wrong_call
            call_id = f"call_{tc.index}"
            msgs.call(call_id, tc.tool, tc.args, weight=0 if wrong else 1)
            if wrong:
                wrong_step, until = len(msgs.items) - 1, tc.start
            msgs.result(call_id, tc)
            if wrong:
                break
        if wrong_step is not None:
            break
        if turn.reply_text.strip():
            msgs.text("assistant", turn.reply_text)
    if correction is not None:
        last = msgs.items[-1]
        if correction.wrong_call is None and last.role == "assistant":
            msgs.items[-1] = last.model_copy(update={"weight": 0})
            wrong_step = len(msgs.items) - 1
        fixes = [
            ToolCall(
                id=f"call_fix_{k}",
                function=FunctionCall(
                    name=name,
                    arguments=json.dumps(redactor.value(args, hits), ensure_ascii=False),
                ),
            )
            for k, (name, args) in enumerate(correction.calls)
        ]
        msgs.items.append(ChatMessage(role="assistant", tool_calls=fixes, weight=1))
    example = ChatExample(messages=msgs.items, tools=tools)
    return BuiltExample(example, turns, until, wrong_step)
