"""LiveKit Agents session reports (``SessionReport.to_dict()``, livekit-agents 1.8) as call logs.

A file holds one report (a JSON object, usually pretty-printed) or many (JSON Lines, one report
per line); each report is one call. LiveKit is not imported: reports are read as plain JSON, so
ingesting them needs no LiveKit install.

Where a call's parts come from:

* turns from ``chat_history.items`` (kept in creation order by LiveKit): user messages are caller
  turns, assistant messages agent turns, ``function_call`` / ``function_call_output`` pairs (by
  ``call_id``) the tool calls of the next assistant message. System and developer messages,
  hand-offs and config updates are not spoken; they are counted in the call's metadata;
* times are seconds from the session start, from the messages' ``metrics`` (LiveKit's own
  ``started_speaking_at`` / ``stopped_speaking_at``) and else their ``created_at``;
* release, tags and other call-log fields LiveKit has no notion of come from a ``callgate`` object
  the user adds to the saved report, or from the session's tagger tags (``key:value``).

A report that cannot be read whole (a bad item, no release) is one problem naming the item: a call
with a turn or tool call left out would be scored as if the agent had behaved differently.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from pydantic import ValidationError

from callgate.production.ingest.calllog import CallLog, LoggedToolCall, LoggedTurn
from callgate.production.ingest.formats import LogEntry, as_call_log, validation_problem

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
_ENGINE_OF = {"stt_metadata": "asr", "llm_metadata": "llm", "tts_metadata": "tts"}
_USAGE_ENGINE = {"stt_usage": "asr", "llm_usage": "llm", "tts_usage": "tts"}
# The report's ``close_reason`` (a proto enum name) where it says who ended the call.
_ENDED_BY = {"CR_ERROR": "error", "CR_PARTICIPANT_DISCONNECTED": "caller_hangup"}
# Call-log fields a report cannot provide, settable in its ``callgate`` object.
_SETTABLE = set(CallLog.model_fields) - {"schema_version", "turns", "started_at"}
# An item this far before the session start was put in the history before the call began
# (a previous conversation loaded into the agent's context): not a turn of this call.
_EARLIER_S = 1.0
_REPORT_KEY = re.compile(r'"(job_id|room_id)"\s*:')


class _Bad(Exception):
    """A report that cannot become a call log; the message names the field or item."""


class LiveKitReport:
    """``--format livekit``: LiveKit Agents session reports, one call each."""

    name: ClassVar[str] = "livekit"

    def sniff(self, path: Path, head: str) -> bool:
        text = head.lstrip()
        if not text.startswith("{") or '"resourceSpans"' in head:
            return False
        try:  # JSON Lines, or a report on one line
            first = json.loads(text.splitlines()[0])
        except json.JSONDecodeError:  # pretty-printed, or a line longer than the head
            keys = {m.group(1) for m in _REPORT_KEY.finditer(head)}
            return keys == {"job_id", "room_id"} and not re.search(r'"turns"\s*:', head)
        return (
            isinstance(first, dict)
            and {"job_id", "room_id"} <= set(first)
            and ("chat_history" in first or "events" in first)
            and "turns" not in first  # callgate's own format, whatever its metadata holds
        )

    def read(self, path: Path) -> Iterator[LogEntry]:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            yield LogEntry(None, problem="not UTF-8 text")
            return
        lines = text.splitlines()
        start = next((n for n, ln in enumerate(lines, 1) if ln.strip()), None)
        if start is None:
            return
        try:
            whole = json.loads(text)
        except json.JSONDecodeError as exc:
            try:  # JSON Lines when the first line stands alone
                json.loads(lines[start - 1])
            except json.JSONDecodeError:
                yield LogEntry(exc.lineno, problem=f"not JSON ({exc.msg}, column {exc.colno})")
                return
            yield from self._lines(lines)
            return
        yield self._entry(whole, start)

    def _lines(self, lines: list[str]) -> Iterator[LogEntry]:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                yield LogEntry(number, problem=f"not JSON ({exc.msg}, column {exc.colno})")
                continue
            yield self._entry(data, number)

    def _entry(self, data: Any, line: int) -> LogEntry:
        if not isinstance(data, dict):
            return LogEntry(line, problem="not a session report (a JSON object)")
        try:
            return as_call_log(_call_log(data), line)
        except _Bad as exc:
            return LogEntry(line, problem=str(exc))


def _call_log(report: dict[str, Any]) -> dict[str, Any]:
    """The report as call-log data (validated by the caller)."""
    own = report.get("callgate") or {}
    if not isinstance(own, dict):
        raise _Bad("callgate: not an object")
    unknown = sorted(set(own) - _SETTABLE)
    if unknown:
        raise _Bad(f"callgate.{unknown[0]}: not a call-log field callgate can take from here")
    history = report.get("chat_history")
    if not isinstance(history, dict) or not isinstance(history.get("items"), list):
        raise _Bad(
            "chat_history: missing (save the report with include_chat_history=True)"
            if history is None
            else "chat_history: not an object with a list of items"
        )
    items: list[Any] = history["items"]
    events = report.get("events") or []
    if not isinstance(events, list):
        raise _Bad("events: not a list")

    tagged = _tagger_tags(report.get("tags"))
    call_id = own.get("call_id") or report.get("job_id")
    if not call_id:
        raise _Bad("job_id: missing (or set callgate.call_id)")
    release = own.get("release") or report.get("release") or tagged.pop("release", None)
    if not release:
        raise _Bad(
            "release: missing; LiveKit reports carry none: add "
            '"callgate": {"release": "..."} to the saved report or tag the session release:<name>'
        )
    tagged.pop("release", None)
    t0 = _session_start(report, items)
    turns, skipped = _Turns(t0, _speech_ends(events)).read(items)

    data: dict[str, Any] = {
        "call_id": str(call_id),
        "started_at": datetime.fromtimestamp(t0, UTC),
        "release": release,
        "tags": {k: v for k, v in tagged.items() if not k.startswith("lk.")},
        "turns": turns,
        "engines": _engines(items, report.get("usage")),
        "metadata": {"livekit": _livekit_metadata(report, skipped)},
    }
    if isinstance(duration := report.get("duration_ms"), int | float):
        data["duration_s"] = max(duration / 1000.0, max((t["end"] for t in turns), default=0.0))
    if (ended := _ENDED_BY.get(str(report.get("close_reason")))) is not None:
        data["ended_by"] = ended
    if "lk.success" in tagged or "lk.fail" in tagged:
        data["resolved"] = "lk.success" in tagged
    for key, value in own.items():
        if key in ("tags", "engines", "metadata") and isinstance(value, dict):
            data[key] = {**data[key], **value}  # the user's own win over what was derived
        else:
            data[key] = value
    return data


def _tagger_tags(tags: Any) -> dict[str, str]:
    """The session's tagger tags (``key:value``; a bare tag is ``tag: "true"``)."""
    if tags is None:
        return {}
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise _Bad("tags: not a list of strings")
    out: dict[str, str] = {}
    for tag in tags:
        key, sep, value = tag.partition(":")
        out[key] = value if sep else "true"
    return out


def _session_start(report: dict[str, Any], items: list[Any]) -> float:
    """The call's time zero (epoch seconds). ``to_dict()`` leaves the session's ``started_at``
    out (a user may add it back), but its end (``timestamp``) and ``duration_ms`` give it to the
    millisecond (from the recording's start when recorded, which LiveKit starts with the
    session); else the first item's time."""
    if _is_num(report.get("started_at")):
        return float(report["started_at"])
    ended = _is_num(report.get("timestamp"))
    if ended and _is_num(report.get("duration_ms")):
        return float(report["timestamp"]) - report["duration_ms"] / 1000.0
    times = [i["created_at"] for i in items if isinstance(i, dict) and _is_num(i.get("created_at"))]
    if times or ended:
        return float(min(times or [report["timestamp"]]))
    raise _Bad("timestamp: missing (no time in the report to place the call at)")


def _speech_ends(events: list[Any]) -> list[float]:
    """When the user stopped speaking, by the session's user-state events."""
    return sorted(
        float(e["created_at"])
        for e in events
        if isinstance(e, dict)
        and e.get("type") == "user_state_changed"
        and e.get("old_state") == "speaking"
        and _is_num(e.get("created_at"))
    )


class _Turns:
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
                raise _Bad(f"{where}: not an object")
            kind = item.get("type")
            where += f" ({kind} {item.get('id', '')})".replace(" )", ")")
            if _is_num(item.get("created_at")) and item["created_at"] < self.t0 - _EARLIER_S:
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
        if not _is_num(value):
            raise _Bad(f"{where}: {value!r} is not a time")
        return round(max(0.0, float(value) - self.t0), 6)  # a few ms early: duration_ms rounds

    def _message(self, item: dict[str, Any], where: str) -> None:
        role = item.get("role")
        if role not in ("user", "assistant"):
            self._skip(f"{role}_message")
            return
        metrics = item.get("metrics") or {}
        if not isinstance(metrics, dict):
            raise _Bad(f"{where}.metrics: not an object")
        if role == "assistant":
            self._agent(item, where)
            return
        start = self._at(metrics.get("started_speaking_at", item.get("created_at")), where)
        if start is None:
            raise _Bad(f"{where}: no time (created_at or metrics.started_speaking_at)")
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
        if audible is None and _is_num(heard_end) and _is_num(metrics.get("e2e_latency")):
            audible = heard_end + metrics["e2e_latency"]
        start = self._at(audible if audible is not None else item.get("created_at"), where)
        if start is None:
            raise _Bad(f"{where}: no time (created_at or metrics.started_speaking_at)")
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
            if _is_num(source.get(key))
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
        if _is_num(heard_end) and _is_num(heard.get("end_of_turn_delay")):
            turn["end_of_turn"] = self._at(heard_end + heard["end_of_turn_delay"], where)
        if _is_num(metrics.get("playback_latency")) and _is_num(audible):
            # the first frame was handed to the audio output this long before it played
            turn["first_byte"] = self._at(audible - metrics["playback_latency"], where)
        self._add(turn, where)

    def _add(self, turn: dict[str, Any], where: str) -> None:
        try:
            LoggedTurn.model_validate(turn)
        except ValidationError as exc:
            raise _Bad(f"{where}: {validation_problem(exc)}") from None
        self.turns.append(turn)

    def _call(self, item: dict[str, Any], where: str) -> None:
        call_id, name = item.get("call_id"), item.get("name")
        if not call_id or not name:
            raise _Bad(f"{where}: {'call_id' if not call_id else 'name'} missing")
        raw = item.get("arguments") or "{}"
        try:
            args = json.loads(raw) if isinstance(raw, str) else raw
        except json.JSONDecodeError as exc:
            raise _Bad(f"{where}.arguments: not JSON ({exc.msg})") from None
        if not isinstance(args, dict):
            raise _Bad(f"{where}.arguments: not a JSON object")
        if str(call_id) in self.made:
            raise _Bad(f"{where}: call_id {call_id!r} again")
        call = {"tool": name, "args": args, "start": self._at(item.get("created_at"), where)}
        self.made[str(call_id)] = (where, call)
        self.calls.append(call)
        self.tooling = True

    def _output(self, item: dict[str, Any], where: str) -> None:
        call_id = str(item.get("call_id"))
        if call_id not in self.made:
            raise _Bad(f"{where}: output of call {call_id!r}, which no earlier function_call made")
        called_at, call = self.made[call_id]
        if "end" in call:
            raise _Bad(f"{where}: a second output of call {call_id!r}")
        output = item.get("output", "")
        if item.get("is_error"):
            call.update(ok=False, error=str(output))
        else:
            call["result"] = _result(output)
        call["end"] = self._at(item.get("created_at"), where)
        try:
            LoggedToolCall.model_validate(call)
        except ValidationError as exc:
            raise _Bad(f"{called_at}: {validation_problem(exc)}") from None


def _text(item: dict[str, Any], where: str) -> str:
    content = item.get("content", [])
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise _Bad(f"{where}.content: not a list")
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


def _engines(items: list[Any], usage: Any) -> dict[str, str]:
    """Which STT, LLM and TTS served the call, from message metrics or the usage summary."""
    named: list[tuple[str, Any, Any]] = []
    for item in items:
        metrics = item.get("metrics") if isinstance(item, dict) else None
        for key, engine in _ENGINE_OF.items():
            meta = metrics.get(key) if isinstance(metrics, dict) else None
            if isinstance(meta, dict):
                named.append((engine, meta.get("model_provider"), meta.get("model_name")))
    for entry in usage if isinstance(usage, list) else []:
        if isinstance(entry, dict) and entry.get("type") in _USAGE_ENGINE:
            named.append((_USAGE_ENGINE[entry["type"]], entry.get("provider"), entry.get("model")))
    out: dict[str, str] = {}
    for engine, provider, model in named:
        parts = [str(p) for p in (provider, model) if p and p != "unknown"]
        if parts and engine not in out:
            out[engine] = "/".join(parts)
    return out


def _livekit_metadata(report: dict[str, Any], skipped: dict[str, int]) -> dict[str, Any]:
    keys = ("job_id", "room_id", "room", "agent_name", "sdk_version", "close_reason", "errors")
    out = {k: report[k] for k in (*keys, "tags", "usage", "audio_recording_path") if report.get(k)}
    return {**out, "items_not_turns": skipped} if skipped else out


def _is_num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
