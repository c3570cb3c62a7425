"""LiveKit Agents session reports (``SessionReport.to_dict()``, livekit-agents 1.8) as call logs.

A file holds one report (a JSON object, usually pretty-printed) or many (JSON Lines, one report
per line); each report is one call. LiveKit is not imported: reports are read as plain JSON, so
ingesting them needs no LiveKit install.

Where a call's parts come from:

* turns from ``chat_history.items`` (kept in creation order by LiveKit, walked by
  :mod:`callgate.production.ingest.livekit_turns`): user messages are caller turns, assistant
  messages agent turns, ``function_call`` / ``function_call_output`` pairs (by ``call_id``) the
  tool calls of the next assistant message. System and developer messages, hand-offs and config
  updates are not spoken; they are counted in the call's metadata;
* times are seconds from the session start, from the messages' ``metrics`` (LiveKit's own
  ``started_speaking_at`` / ``stopped_speaking_at``) and else their ``created_at``;
* release, tags and other call-log fields LiveKit has no notion of come from a ``callgate`` object
  the user adds to the saved report, or from the session's tagger tags (``key:value``).

A report that cannot be read whole (a bad item, no release) is one problem naming the item: a call
with a turn or tool call left out would be scored as if the agent had behaved differently.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from callgate.production.ingest.calllog import CallLog
from callgate.production.ingest.formats import LogEntry, as_call_log, json_lines
from callgate.production.ingest.livekit_turns import BadReport, TurnWalker, is_num

_ENGINE_OF = {"stt_metadata": "asr", "llm_metadata": "llm", "tts_metadata": "tts"}
_USAGE_ENGINE = {"stt_usage": "asr", "llm_usage": "llm", "tts_usage": "tts"}
# The report's ``close_reason`` (a proto enum name) where it says who ended the call.
_ENDED_BY = {"CR_ERROR": "error", "CR_PARTICIPANT_DISCONNECTED": "caller_hangup"}
# Call-log fields a report cannot provide, settable in its ``callgate`` object.
_SETTABLE = set(CallLog.model_fields) - {"schema_version", "turns", "started_at"}
_REPORT_KEY = re.compile(r'"(job_id|room_id)"\s*:')


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
        data = path.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:  # say where, as for every other bad line
            line = data[: exc.start].count(b"\n") + 1
            yield LogEntry(line, problem=f"not UTF-8 text (byte {exc.start} of the file)")
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
        for number, data, problem in json_lines(lines):
            yield LogEntry(number, problem=problem) if problem else self._entry(data, number)

    def _entry(self, data: Any, line: int) -> LogEntry:
        if not isinstance(data, dict):
            return LogEntry(line, problem="not a session report (a JSON object)")
        try:
            return as_call_log(_call_log(data), line)
        except BadReport as exc:
            return LogEntry(line, problem=str(exc))


def _call_log(report: dict[str, Any]) -> dict[str, Any]:
    """The report as call-log data (validated by the caller)."""
    own = report.get("callgate") or {}
    if not isinstance(own, dict):
        raise BadReport("callgate: not an object")
    unknown = sorted(set(own) - _SETTABLE)
    if unknown:
        raise BadReport(f"callgate.{unknown[0]}: not a call-log field callgate can take from here")
    history = report.get("chat_history")
    if not isinstance(history, dict) or not isinstance(history.get("items"), list):
        raise BadReport(
            "chat_history: missing (save the report with include_chat_history=True)"
            if history is None
            else "chat_history: not an object with a list of items"
        )
    items: list[Any] = history["items"]
    events = report.get("events") or []
    if not isinstance(events, list):
        raise BadReport("events: not a list")

    tagged = _tagger_tags(report.get("tags"))
    call_id = own.get("call_id") or report.get("job_id")
    if not call_id:
        raise BadReport("job_id: missing (or set callgate.call_id)")
    release = own.get("release") or report.get("release") or tagged.pop("release", None)
    if not release:
        raise BadReport(
            "release: missing; LiveKit reports carry none: add "
            '"callgate": {"release": "..."} to the saved report or tag the session release:<name>'
        )
    tagged.pop("release", None)
    t0 = _session_start(report, items)
    try:
        started_at = datetime.fromtimestamp(t0, UTC)
    except (ValueError, OverflowError, OSError):
        raise BadReport(f"timestamp: not a time in seconds since 1970: {t0!r}") from None
    turns, skipped = TurnWalker(t0, _speech_ends(events)).read(items)

    data: dict[str, Any] = {
        "call_id": str(call_id),
        "started_at": started_at,
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
        raise BadReport("tags: not a list of strings")
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
    if is_num(report.get("started_at")):
        return float(report["started_at"])
    ended = is_num(report.get("timestamp"))
    if ended and is_num(report.get("duration_ms")):
        return float(report["timestamp"]) - report["duration_ms"] / 1000.0
    times = [i["created_at"] for i in items if isinstance(i, dict) and is_num(i.get("created_at"))]
    if times or ended:
        return float(min(times or [report["timestamp"]]))
    raise BadReport("timestamp: missing (no time in the report to place the call at)")


def _speech_ends(events: list[Any]) -> list[float]:
    """When the user stopped speaking, by the session's user-state events."""
    return sorted(
        float(e["created_at"])
        for e in events
        if isinstance(e, dict)
        and e.get("type") == "user_state_changed"
        and e.get("old_state") == "speaking"
        and is_num(e.get("created_at"))
    )


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
