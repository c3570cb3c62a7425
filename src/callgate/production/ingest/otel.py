"""OpenTelemetry traces as call logs: Pipecat's own tracing, or GenAI semantic-convention spans.

Spans (read by :mod:`callgate.production.ingest.otlp`) are grouped into calls by ``conversation.id``
(Pipecat's conversation and turn spans, and their service spans through their parents) or else
``gen_ai.conversation.id``. A call's caller turns come from its STT spans (``transcript``), its
agent turns from its TTS spans (``text``; the LLM's output when a call has no TTS span, as a text
agent has none), its tool calls from the LLM spans' input and output messages and from tool spans
of their own. docs/production.md ("OpenTelemetry traces") says which attribute goes where.

A call whose trace holds a malformed span is left out, not imported with a hole in it: a missing
STT span would turn an answer into an unprompted reply and skew every rate computed from it.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from callgate.production.ingest.formats import LogEntry, as_call_log
from callgate.production.ingest.otlp import Malformed, Span, read_spans

TAG_PREFIX = "callgate.tag."  # resource or conversation-span attributes that become cohort tags
_OTLP_START = re.compile(r'\A\s*\{\s*"resource_?[sS]pans"\s*:')
_CHAT = {"chat", "text_completion", "generate_content", "llm"}
_TOOL = {"execute_tool", "llm_tool_call", "llm_tool_result"}
_KNOWN = {"conversation", "turn", "stt", "tts"} | _CHAT | _TOOL
_RESOURCE_METADATA = ("service.name", "service.instance.id", "deployment.environment")


class OtelLog:
    """OpenTelemetry traces exported as OTLP JSON (docs/production.md)."""

    name: ClassVar[str] = "otel"

    def sniff(self, path: Path, head: str) -> bool:
        return _OTLP_START.match(head) is not None

    def read(self, path: Path) -> Iterator[LogEntry]:
        data = path.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:  # one bad byte: say where rather than guess around it
            line = data[: exc.start].count(b"\n") + 1
            yield LogEntry(line, problem=f"not UTF-8 text (byte {exc.start})")
            return
        spans: list[Span] = []
        broken: dict[str, int | None] = {}  # trace id -> line of its first malformed span
        for item in read_spans(text):
            if isinstance(item, Malformed):
                yield LogEntry(item.line, problem=item.message)
                if item.trace_id is not None:
                    broken.setdefault(item.trace_id, item.line)
            else:
                spans.append(item)
        calls, orphans = _group(spans)
        for span in orphans:
            yield LogEntry(
                span.line,
                problem=f"{span}: belongs to no call (no conversation.id or "
                "gen_ai.conversation.id on it, its parents or its trace)",
            )
        for cid, members in sorted(calls.items(), key=lambda c: _line(c[1]) or 0):
            yield _entry(cid, members, broken)


def _kind(s: Span) -> str:
    op = s.attrs.get("gen_ai.operation.name")
    kind = op if isinstance(op, str) and op in _KNOWN else s.name
    return "execute_tool" if kind.startswith("execute_tool") else kind


def _line(spans: list[Span]) -> int | None:
    """A call's line: its conversation span's, which Pipecat exports last, or its first span's."""
    root = next((s for s in spans if s.name == "conversation" and s.line is not None), None)
    return root.line if root else min((s.line for s in spans if s.line is not None), default=None)


def _group(spans: list[Span]) -> tuple[dict[str, list[Span]], list[Span]]:
    by_id: dict[tuple[str, str], Span] = {}
    for s in spans:  # an exporter that retried writes a span twice: the first copy stands
        by_id.setdefault((s.trace_id, s.span_id), s)

    def own(s: Span) -> str | None:
        for key in ("conversation.id", "gen_ai.conversation.id"):
            if s.attrs.get(key) not in (None, ""):
                return str(s.attrs[key])
        return None

    per_trace: dict[str, set[str]] = defaultdict(set)
    for s in by_id.values():
        if (cid := own(s)) is not None:
            per_trace[s.trace_id].add(cid)
    calls: dict[str, list[Span]] = defaultdict(list)
    orphans = []
    for s in by_id.values():
        cid, at, seen = own(s), s, set()
        while cid is None and at.parent_id and at.parent_id not in seen:
            seen.add(at.parent_id)
            parent = by_id.get((at.trace_id, at.parent_id))
            if parent is None:
                break
            at, cid = parent, own(parent)
        if cid is None and len(per_trace[s.trace_id]) == 1:  # a parent not (yet) exported
            cid = next(iter(per_trace[s.trace_id]))
        if cid is not None:
            calls[cid].append(s)
        elif _kind(s) in _KNOWN:
            orphans.append(s)
    return calls, orphans


class _Bad(Exception):
    """Why a call cannot be imported; ``span`` when one of its spans says so."""

    def __init__(self, message: str, span: Span | None = None) -> None:
        super().__init__(f"{span}: {message}" if span else message)
        self.span = span


def _entry(cid: str, spans: list[Span], broken: dict[str, int | None]) -> LogEntry:
    line = _line(spans)
    bad = [broken[t] for t in {s.trace_id for s in spans} if t in broken]
    if bad:
        at = f" at line {bad[0]}" if bad[0] is not None else ""
        return LogEntry(
            line, problem=f"conversation {cid!r}: left out: a span of it{at} is malformed"
        )
    try:
        data = _call_log(cid, spans)
    except _Bad as exc:
        return LogEntry(exc.span.line if exc.span else line, problem=f"conversation {cid!r}: {exc}")
    entry = as_call_log(data, line)
    return entry if entry.log else LogEntry(line, problem=f"conversation {cid!r}: {entry.problem}")


# -- one call ------------------------------------------------------------------------------------


_Rel = Callable[[int], float]  # unix nanoseconds -> seconds from the call's start


@dataclass
class _Said:
    """Caller speech, or one agent utterance; times in unix nanoseconds."""

    start: int
    end: int
    text: str
    span: Span
    confidence: float | None = None
    ttfb: float | None = None
    interrupted: bool = False


@dataclass
class _Tool:
    tool: str
    args: Any = None
    result: Any = None
    ok: bool = True
    error: str | None = None
    start: int = 0
    end: int = 0
    timed: bool = False  # timed by a span of its own, not worked out from the LLM spans


def _call_log(cid: str, spans: list[Span]) -> dict[str, Any]:
    spans = sorted(spans, key=lambda s: (s.start_ns, s.end_ns))
    root = next((s for s in spans if s.name == "conversation"), None)
    t0 = root.start_ns if root else spans[0].start_ns
    resource = (root or spans[0]).resource
    context = {**resource, **(root.attrs if root else {})}
    versions = [a.get("service.version") for a in [resource] + [s.attrs for s in spans]]
    release = next((str(v) for v in versions if v not in (None, "")), None)
    if release is None:
        raise _Bad("no release: set the resource attribute service.version (or a span attribute)")

    def rel(ns: int) -> float:
        return round(max(0, ns - t0) / 1e9, 6)

    chats = [s for s in spans if _kind(s) in _CHAT]
    callers = [c for s in spans if _kind(s) == "stt" and (c := _heard(s))]
    callers = callers or _typed(chats)  # a text agent: what the user wrote is in the LLM input
    replies = [p for s in spans if _kind(s) == "tts" and (p := _spoken(s))]
    replies = replies or [p for s in chats if (p := _written(s))]
    turns = _turns(callers, replies, spans, chats, rel)
    if not turns:
        raise _Bad(
            f"no usable turns (no STT transcript, TTS text or chat message in {len(spans)} spans)"
        )
    _attach(_tools(spans, chats), turns, rel)

    tags = {k.removeprefix(TAG_PREFIX): v for k, v in context.items() if k.startswith(TAG_PREFIX)}
    languages = {
        str(s.attrs["language"]) for s in spans if _kind(s) == "stt" and s.attrs.get("language")
    }
    if len(languages) == 1:  # the STT's language: a cohort of its own
        tags.setdefault("language", languages.pop())
    usage: dict[str, int] = defaultdict(int)
    for s in chats:
        for key in ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"):
            if isinstance(s.attrs.get(key), int):
                usage[key] += s.attrs[key]
    end = root.end_ns if root else max(s.end_ns for s in spans)
    scenario = context.get("callgate.scenario")
    return {
        "call_id": cid,
        "started_at": datetime.fromtimestamp(t0 / 1e9, UTC).isoformat(),
        "release": release,
        "suite": str(context.get("callgate.suite") or "production"),
        "scenario": str(scenario) if scenario not in (None, "") else None,
        "tags": tags,
        "duration_s": max([rel(end)] + [t["end"] for t in turns]),
        "turns": turns,
        "engines": _engines(spans),
        "metadata": {
            **{k: resource[k] for k in _RESOURCE_METADATA if k in resource},
            "trace_ids": sorted({s.trace_id for s in spans}),
            **usage,
        },
    }


def _seconds(s: Span, key: str) -> float | None:
    v = s.attrs.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
        raise _Bad(f"{key}: expected a number of seconds, got {v!r}", s)
    return float(v)


def _text(s: Span, key: str) -> str:
    v = s.attrs.get(key)
    if v is not None and not isinstance(v, str):
        raise _Bad(f"{key}: expected text, got {v!r}", s)
    return (v or "").strip()


def _heard(s: Span) -> _Said | None:
    text = _text(s, "transcript")
    if not text:  # the VAD heard noise, or the STT gave up (stt.incomplete): nobody spoke
        return None
    # Pipecat's STT span runs from speech start to the final transcript, and its metrics.ttfb
    # from speech end to that transcript: speech ended ttfb before the span did.
    ttfb = _seconds(s, "metrics.ttfb")
    end = s.end_ns - round((ttfb or 0.0) * 1e9)
    confidence = _seconds(s, "stt.confidence")
    confidence = _seconds(s, "confidence") if confidence is None else confidence
    if confidence is not None and confidence > 1:
        raise _Bad(f"confidence: expected 0-1, got {confidence}", s)
    return _Said(s.start_ns, max(end, s.start_ns), text, s, confidence, ttfb)


def _spoken(s: Span) -> _Said | None:
    text = _text(s, "text")
    if not text:
        return None
    # The TTS span opens when synthesis starts; ttfb later its first audio came out.
    ttfb = _seconds(s, "metrics.ttfb")
    first = s.start_ns + round((ttfb or 0.0) * 1e9)
    cut = s.attrs.get("tts.interrupted") is True
    return _Said(first, max(first, s.end_ns), text, s, ttfb=ttfb, interrupted=cut)


def _typed(chats: list[Span]) -> list[_Said]:
    """The user messages each LLM request added to the conversation, at the request's start."""
    out, seen = [], 0
    for s in chats:
        said = [m.text for m in _messages(s, "input") if m.role == "user"]
        out += [_Said(s.start_ns, s.start_ns, text, s) for text in said[seen:] if text]
        seen = max(seen, len(said))
    return out


def _written(s: Span) -> _Said | None:
    replies = [m.text for m in _messages(s, "output") if m.role == "assistant" and m.text]
    text = _text(s, "output") or " ".join(replies)
    return _Said(s.end_ns, s.end_ns, text, s) if text else None


def _turns(
    callers: list[_Said], replies: list[_Said], spans: list[Span], chats: list[Span], rel: _Rel
) -> list[dict[str, Any]]:
    """Turns in speaking order; agent utterances with no caller speech between them are one."""
    timeline = sorted(
        [(c.start, 0, c) for c in callers] + [(p.start, 1, p) for p in replies], key=lambda e: e[:2]
    )
    out: list[dict[str, Any]] = []
    heard: list[_Said] = []
    said: list[_Said] = []
    turns = _PipecatTurns(spans)
    for _, is_agent, item in [*timeline, (0, 0, None)]:
        if said and not is_agent:
            out.append(_agent(said, heard, turns, chats, rel))
            heard, said = [], []
        if item is not None and is_agent:
            said.append(item)
        elif item is not None:
            heard.append(item)
            out.append(
                {"speaker": "caller", "start": rel(item.start), "end": rel(item.end),
                 "text": item.text, "confidence": item.confidence}
            )  # fmt: skip
    return out


class _PipecatTurns:
    """Pipecat's turn spans: which turn a span ran in, and whether its latency is still unused."""

    def __init__(self, spans: list[Span]) -> None:
        self.by_id = {s.span_id: s for s in spans}
        self.all = [s for s in spans if s.name == "turn"]
        self.used: set[str] = set()

    def of(self, s: Span) -> Span | None:
        at: Span | None = s
        for _ in range(len(self.by_id)):  # bounded: a broken export may loop its parents
            if at is None or at.name == "turn":
                return at
            at = self.by_id.get(at.parent_id or "")
        return None


def _agent(
    said: list[_Said], heard: list[_Said], turns: _PipecatTurns, chats: list[Span], rel: _Rel
) -> dict[str, Any]:
    first, turn = said[0], turns.of(said[0].span)
    latency = _seconds(turn, "turn.user_bot_latency_seconds") if turn else None
    heard_end = max((c.end for c in heard), default=None)
    start = first.start  # the TTS span's start plus its ttfb: the first audio out of the TTS
    if heard_end is not None and latency is not None and turn and turn.span_id not in turns.used:
        # Better, what Pipecat measured: from the caller's speech end (its VAD's stop less
        # stop_secs) to BotStartedSpeaking, when the output transport sent the first audio.
        turns.used.add(turn.span_id)
        start = heard_end + round(latency * 1e9)
    asked = [c for c in chats if heard_end is not None and heard_end <= c.start_ns <= start]
    stages = {
        "stt": heard[-1].ttfb if heard else None,
        "llm_ttft": _seconds(asked[0], "metrics.ttfb") if asked else None,
        "tts_ttfb": first.ttfb,
    }
    # Pipecat flags the turn still open when its pipeline stops as interrupted: not a barge-in.
    last = turn is None or turn is turns.all[-1]
    cut_off = not last and turn is not None and turn.attrs.get("turn.was_interrupted") is True
    return {
        "speaker": "agent",
        "start": rel(start),
        "end": rel(max(start, *(p.end for p in said))),
        "text": " ".join(p.text for p in said),
        "first_byte": rel(min(first.start, start)),
        "end_of_turn": rel(asked[0].start_ns) if asked else None,  # the LLM was asked
        "interrupted": any(p.interrupted for p in said) or cut_off,
        "latency": {k: v for k, v in stages.items() if v is not None},
        "tool_calls": [],
    }


# -- tool calls ----------------------------------------------------------------------------------


def _tools(spans: list[Span], chats: list[Span]) -> list[_Tool]:
    tools: dict[str, _Tool] = {}
    before: int | None = None  # when the previous LLM request ended
    for s in chats:
        # A call shows up first in the input of the LLM request after it: it ran once the
        # request before had ended, and its result was in when this one started. A call in the
        # GenAI output messages was asked for when this request ended.
        given = _messages(s, "input")
        first_of: dict[str, str] = {}  # tool name -> call key, for results that carry no id
        for i, m in enumerate(given + _messages(s, "output")):
            for n, (call_id, name, args) in enumerate(m.calls):
                key = str(call_id or f"{name}#{i}.{n}")
                first_of.setdefault(str(name), key)
                if key not in tools:
                    if not name:
                        raise _Bad(f"a tool call without a name ({key})", s)
                    at = s.end_ns if i >= len(given) else (before or s.start_ns)
                    tools[key] = _Tool(str(name), args, start=at, end=at)
            for call_id, name, result, ok in m.results:
                tool = tools.get(str(call_id) if call_id else first_of.get(str(name), ""))
                if tool is not None and tool.result is None:
                    tool.result, tool.ok, tool.end = result, ok, max(tool.end, s.start_ns)
        before = s.end_ns
    for s in spans:
        if _kind(s) in _TOOL:
            _tool_span(s, tools)
    return sorted(tools.values(), key=lambda t: t.start)


def _tool_span(s: Span, tools: dict[str, _Tool]) -> None:
    """A GenAI ``execute_tool`` span, or Gemini Live's ``llm_tool_call`` / ``llm_tool_result``."""
    kind = _kind(s)
    named = s.name.split(" ", 1)[1] if s.name.startswith("execute_tool ") else None
    name = s.attrs.get("gen_ai.tool.name") or s.attrs.get("tool.function_name") or named
    call_id = str(s.attrs.get("gen_ai.tool.call.id") or s.attrs.get("tool.call_id") or s.span_id)
    if call_id not in tools and not name:
        raise _Bad("no gen_ai.tool.name (or tool.function_name)", s)
    tool = tools.setdefault(call_id, _Tool(str(name), start=s.start_ns, end=s.end_ns))
    args = s.attrs.get("gen_ai.tool.call.arguments", s.attrs.get("tool.arguments"))
    result = s.attrs.get("gen_ai.tool.call.result", s.attrs.get("tool.result"))
    tool.args = tool.args if args is None else args
    tool.result = tool.result if result is None else result
    if kind == "llm_tool_result":  # Gemini Live: the call ran until its result went back
        tool.end = max(tool.end, s.end_ns)
    elif not tool.timed:  # the call's own span: better than times worked out from LLM spans
        tool.start, tool.timed = s.start_ns, True
        tool.end = s.end_ns if kind == "execute_tool" else max(tool.end, s.end_ns)
    failed = s.error or s.attrs.get("error.type")
    if failed or s.attrs.get("tool.result_status") == "error":
        tool.ok, tool.error = False, str(failed or "error")


def _attach(tools: list[_Tool], turns: list[dict[str, Any]], rel: _Rel) -> None:
    agents = [t for t in turns if t["speaker"] == "agent"]
    for tool in tools:
        if not agents:
            raise _Bad(f"a tool call ({tool.tool}) but no agent turn to hold it")
        # Made before the first reply still unfinished when it started.
        turn = next((a for a in agents if a["end"] >= rel(tool.start)), agents[-1])
        args = _parsed(tool.args)
        call = {
            "tool": tool.tool,
            "args": {} if args is None else args if isinstance(args, dict) else {"value": args},
            "ok": tool.ok,
            "error": tool.error,
            "start": rel(tool.start),
            "end": rel(max(tool.end, tool.start)),
        }
        if tool.result is not None:
            call["result"] = _parsed(tool.result)
        turn["tool_calls"].append(call)


def _parsed(value: Any) -> Any:
    """Arguments and results are JSON text in most spans; keep what is not as it is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


# -- LLM messages --------------------------------------------------------------------------------


@dataclass
class _Message:
    role: str
    text: str
    calls: list[tuple[Any, Any, Any]]  # id, name, arguments
    results: list[tuple[Any, Any, Any, bool]]  # id, name, result, ok


def _messages(s: Span, which: str) -> list[_Message]:
    """An LLM span's input or output messages: Pipecat's ``input`` (the provider's own form:
    OpenAI, Anthropic or Gemini) or the GenAI ``gen_ai.input.messages`` / ``.output.messages``."""
    keys = ("gen_ai.input.messages", "input") if which == "input" else ("gen_ai.output.messages",)
    key = next((k for k in keys if s.attrs.get(k) is not None), None)
    if key is None:
        return []
    raw = s.attrs[key]
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        raise _Bad(f"{key}: not JSON (cut short by an attribute length limit?)", s) from None
    return [_message(m) for m in data if isinstance(m, dict)] if isinstance(data, list) else []


def _message(m: dict[str, Any]) -> _Message:
    role = str(m.get("role"))
    out = _Message("assistant" if role == "model" else role, "", [], [])
    texts: list[str] = []
    content = m.get("content")
    if isinstance(content, str):
        texts.append(content)
    for p in content if isinstance(content, list) else m.get("parts") or []:
        if not isinstance(p, dict):
            continue
        kind = p.get("type")
        call = p.get("function_call") or p.get("functionCall")  # Gemini
        reply = p.get("function_response") or p.get("functionResponse")
        if kind == "text" or (kind is None and isinstance(p.get("text"), str)):
            texts.append(str(p.get("text") or p.get("content") or ""))
        elif kind in ("tool_call", "tool_use"):  # GenAI, Anthropic
            out.calls.append((p.get("id"), p.get("name"), p.get("arguments", p.get("input"))))
        elif kind == "tool_call_response":
            out.results.append((p.get("id"), None, p.get("response"), True))
        elif kind == "tool_result":
            out.results.append(
                (p.get("tool_use_id"), None, p.get("content"), not p.get("is_error"))
            )
        elif isinstance(call, dict):
            out.calls.append((call.get("id"), call.get("name"), call.get("args")))
        elif isinstance(reply, dict):
            out.results.append((reply.get("id"), reply.get("name"), reply.get("response"), True))
    for tc in m.get("tool_calls") or []:  # OpenAI
        fn = (tc.get("function") if isinstance(tc, dict) else None) or {}
        if isinstance(fn, dict):
            out.calls.append((tc.get("id"), fn.get("name"), fn.get("arguments")))
    if role == "tool" and m.get("tool_call_id"):
        out.results, texts = [(m["tool_call_id"], None, content, True)], []
    out.text = " ".join(t.strip() for t in texts if t.strip())
    return out


def _engines(spans: list[Span]) -> dict[str, str]:
    out: dict[str, str] = {}
    for role, kinds in (("asr", {"stt"}), ("llm", _CHAT), ("tts", {"tts"})):
        s = next((s for s in spans if _kind(s) in kinds), None)
        if s is not None:
            parts = (s.attrs.get("gen_ai.provider.name"), s.attrs.get("gen_ai.request.model"))
            named = [str(p) for p in parts if p not in (None, "", "unknown")]
            if named:
                out[role] = ":".join(named)
    return out
