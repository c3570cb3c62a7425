"""The chat history of a LiveKit Agents session report as call-log turns and tool calls.

:class:`TurnWalker` walks ``chat_history.items`` once, in LiveKit's creation order: user messages
become caller turns, assistant messages agent turns (the two messages LiveKit speaks around a tool
call are one turn), ``function_call`` / ``function_call_output`` pairs the tool calls of the
reply that made them; times come from the messages' ``metrics`` or ``created_at``, latencies from
the user's and the agent's metrics. Every turn and call is validated as it is made, so a problem
names the item it came from.

Apart from :mod:`callgate.production.ingest.livekit_report`, which reads the report around it
(its files, release, tags, engines and metadata), because the walk is the one part with state and
the one that follows LiveKit's history semantics; each module stays small enough to read whole.
"""

from __future__ import annotations

import ast
import json
from typing import Any

from pydantic import ValidationError

from callgate.production.ingest.calllog import LoggedToolCall, LoggedTurn
from callgate.production.ingest.formats import validation_problem

# Message metrics (LiveKit's ``MetricsReport``) -> latency keys of the agent turn that answers.
# The first three are measured on the user message, the rest on the assistant's.
_USER_STAGES = {
    "transcription_delay": "stt",
    "end_of_turn_delay": "end_of_turn",
    "on_user_turn_completed_delay": "on_user_turn_completed",
}
_AGENT_STAGES = {
    "llm_node_ttft": "llm_ttft",
    "llm_node_ttfs": "llm_ttfs",
    "tts_node_ttfb": "tts_ttfb",
    "playback_latency": "playback",
    "e2e_latency": "e2e",
}
# An item this far before the session start was put in the history before the call began
# (a previous conversation loaded into the agent's context): not a turn of this call.
_EARLIER_S = 1.0


# Here, not in livekit_report.py, because the walk finds bad items too and that module
# imports this one.
class BadReport(Exception):
    """A report that cannot become a call log; the message names the field or item."""


class TurnWalker:
    """Walks the chat history once, turning messages and tool calls into call-log turns."""

    def __init__(self, t0: float, speech_ends: list[float]) -> None:
        self.t0 = t0
        self.speech_ends = speech_ends
        self.turns: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []  # tool calls for the next reply
        # call_id -> (item, tool call); an output may come after the reply that took its call
        # (a reply spoken while its tool ran is stamped when it started playing)
        self.made: dict[str, tuple[str, dict[str, Any]]] = {}
        self.heard: dict[str, Any] | None = None  # the user's metrics no reply has answered yet
        self.tooling = False  # a tool was called since the caller last spoke
        self.skipped: dict[str, int] = {}

    def read(self, items: list[Any]) -> tuple[list[dict[str, Any]], dict[str, int]]:
        for n, item in enumerate(items):
            where = f"chat_history.items[{n}]"
            if not isinstance(item, dict):
                raise BadReport(f"{where}: not an object")
            kind = item.get("type")
            where += f" ({kind} {item.get('id', '')})".replace(" )", ")")
            if is_num(item.get("created_at")) and item["created_at"] < self.t0 - _EARLIER_S:
                self._skip("before_session")
                continue
            if kind == "message":
                self._message(item, where)
            elif kind == "function_call":
                self._call(item, where)
            elif kind == "function_call_output":
                self._output(item, where)
            else:
                self._skip(str(kind))
        if self.calls:  # tools called after the last reply (hanging up, handing over)
            last = self.turns[-1] if self.turns else None
            if last is not None and last["speaker"] == "agent":
                last["tool_calls"] += self.calls
            else:  # the caller spoke and the agent only acted: a silent reply, once it had
                at = max(c.get("end") or c.get("start") or 0.0 for c in self.calls)
                silent = {"speaker": "agent", "start": at, "end": at, "tool_calls": self.calls}
                self._add(silent, "tool calls after the last caller turn")
        for _, call in self.made.values():
            if "end" not in call:
                call.update(ok=False, error="no function_call_output in the report")
        return self.turns, self.skipped

    def _skip(self, kind: str) -> None:
        self.skipped[kind] = self.skipped.get(kind, 0) + 1

    def _at(self, value: Any, where: str) -> float | None:
        if value is None:
            return None
        if not is_num(value):
            raise BadReport(f"{where}: {value!r} is not a time")
        return round(max(0.0, float(value) - self.t0), 6)  # a few ms early: duration_ms rounds

    def _message(self, item: dict[str, Any], where: str) -> None:
        role = item.get("role")
        if role not in ("user", "assistant"):
            self._skip(f"{role}_message")
            return
        metrics = item.get("metrics") or {}
        if not isinstance(metrics, dict):
            raise BadReport(f"{where}.metrics: not an object")
        if role == "assistant":
            self._agent(item, where)
            return
        start = self._at(metrics.get("started_speaking_at", item.get("created_at")), where)
        if start is None:
            raise BadReport(f"{where}: no time (created_at or metrics.started_speaking_at)")
        end = self._at(metrics.get("stopped_speaking_at"), f"{where}.metrics")
        if end is None:  # a realtime model's turn has a start only: the user-state events end it
            later = [t for t in self.speech_ends if t - self.t0 >= start]
            end = round(later[0] - self.t0, 6) if later else start
        turn = {
            "speaker": "caller",
            "start": start,
            "end": end,
            "text": _text(item, where),
            "confidence": item.get("transcript_confidence"),
        }
        self._add(turn, where)
        self.heard, self.tooling = metrics, False

    def _agent(self, item: dict[str, Any], where: str) -> None:
        metrics = item.get("metrics") or {}
        heard, self.heard = self.heard or {}, None  # only the first reply answers the user turn
        heard_end = heard.get("stopped_speaking_at")
        # The agent turn starts at its first audible sample: LiveKit's ``started_speaking_at``
        # is when the audio output reported playback started (what its e2e_latency is measured
        # to); without it, the user's speech end plus e2e_latency is the same instant, and a
        # reply never played (text-only sessions) starts when it was added to the history.
        audible = metrics.get("started_speaking_at")
        if audible is None and is_num(heard_end) and is_num(metrics.get("e2e_latency")):
            audible = heard_end + metrics["e2e_latency"]
        start = self._at(audible if audible is not None else item.get("created_at"), where)
        if start is None:
            raise BadReport(f"{where}: no time (created_at or metrics.started_speaking_at)")
        end = self._at(metrics.get("stopped_speaking_at"), f"{where}.metrics")
        text, interrupted = _text(item, where), bool(item.get("interrupted", False))
        calls, self.calls = self.calls, []
        last = self.turns[-1] if self.turns else None
        if self.tooling and last is not None and last["speaker"] == "agent":
            # LiveKit speaks a reply that used tools as two messages: what it said while they
            # ran, then the answer from their results. One reply, so one agent turn (else the
            # answer would look like the agent speaking again unprompted, a reprompt).
            last["text"] = f"{last['text']} {text}".strip()
            last["end"] = max(last["end"], start if end is None else end)
            last["interrupted"] = interrupted
            last["tool_calls"] += calls
            return
        latency = {
            name: round(float(source[key]), 6)
            for source, stages in ((heard, _USER_STAGES), (metrics, _AGENT_STAGES))
            for key, name in stages.items()
            if is_num(source.get(key))
        }
        turn: dict[str, Any] = {
            "speaker": "agent",
            "start": start,
            "end": start if end is None else end,
            "text": text,
            "interrupted": interrupted,
            "tool_calls": calls,
            "latency": latency,
        }
        if is_num(heard_end) and is_num(heard.get("end_of_turn_delay")):
            turn["end_of_turn"] = self._at(heard_end + heard["end_of_turn_delay"], where)
        if is_num(metrics.get("playback_latency")) and is_num(audible):
            # the first frame was handed to the audio output this long before it played
            turn["first_byte"] = self._at(audible - metrics["playback_latency"], where)
        self._add(turn, where)

    def _add(self, turn: dict[str, Any], where: str) -> None:
        try:
            LoggedTurn.model_validate(turn)
        except ValidationError as exc:
            raise BadReport(f"{where}: {validation_problem(exc)}") from None
        self.turns.append(turn)

    def _call(self, item: dict[str, Any], where: str) -> None:
        call_id, name = item.get("call_id"), item.get("name")
        if not call_id or not name:
            raise BadReport(f"{where}: {'call_id' if not call_id else 'name'} missing")
        raw = item.get("arguments") or "{}"
        try:
            args = json.loads(raw) if isinstance(raw, str) else raw
        except json.JSONDecodeError as exc:
            raise BadReport(f"{where}.arguments: not JSON ({exc.msg})") from None
        if not isinstance(args, dict):
            raise BadReport(f"{where}.arguments: not a JSON object")
        if str(call_id) in self.made:
            raise BadReport(f"{where}: call_id {call_id!r} again")
        call = {"tool": name, "args": args, "start": self._at(item.get("created_at"), where)}
        self.made[str(call_id)] = (where, call)
        self.calls.append(call)
        self.tooling = True

    def _output(self, item: dict[str, Any], where: str) -> None:
        call_id = str(item.get("call_id"))
        if call_id not in self.made:
            raise BadReport(
                f"{where}: output of call {call_id!r}, which no earlier function_call made"
            )
        called_at, call = self.made[call_id]
        if "end" in call:
            raise BadReport(f"{where}: a second output of call {call_id!r}")
        output = item.get("output", "")
        if item.get("is_error"):
            call.update(ok=False, error=str(output))
        else:
            call["result"] = _result(output)
        call["end"] = self._at(item.get("created_at"), where)
        try:
            LoggedToolCall.model_validate(call)
        except ValidationError as exc:
            raise BadReport(f"{called_at}: {validation_problem(exc)}") from None


def _text(item: dict[str, Any], where: str) -> str:
    content = item.get("content", [])
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise BadReport(f"{where}.content: not a list")
    # Images and audio (dicts) are not what was said.
    return " ".join(part.strip() for part in content if isinstance(part, str)).strip()


def _result(output: Any) -> Any:
    """A tool's output: LiveKit stores ``str()`` of what the tool returned, so a dict arrives as
    a Python repr; read it back as data when it is a literal, else keep the text."""
    if not isinstance(output, str):
        return output
    for parse in (json.loads, ast.literal_eval):
        try:
            value = parse(output)
            return {} if value is None else value
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return output


def is_num(value: Any) -> bool:
    """A JSON number; ``True`` is an int to Python but not a time or a latency."""
    return isinstance(value, int | float) and not isinstance(value, bool)
