"""OpenTelemetry traces as call logs: Pipecat's own tracing, or GenAI semantic-convention spans.

Spans (read by :mod:`callgate.production.ingest.otlp`) are grouped into calls by ``conversation.id``
(Pipecat's conversation and turn spans, and their service spans through their parents) or else
``gen_ai.conversation.id``. A call's caller turns come from its STT spans (``transcript``), its
agent turns from its TTS spans (``text``; the LLM's output when a call has no TTS span, as a text
agent has none), its tool calls from the LLM spans' input and output messages and from tool spans
of their own (both read in :mod:`callgate.production.ingest.otel_messages`). docs/production.md
("OpenTelemetry traces") says which attribute goes where.

A call whose trace holds a malformed span is left out, not imported with a hole in it: a missing
STT span would turn an answer into an unprompted reply and skew every rate computed from it.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from callgate.production.ingest.formats import LogEntry, as_call_log
from callgate.production.ingest.otel_messages import BadCall, attach_tools, messages, tool_calls
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


def _entry(cid: str, spans: list[Span], broken: dict[str, int | None]) -> LogEntry:
    line = _line(spans)
    # Sorted: a set's order changes from run to run, and the line named must not.
    bad = sorted(
        (broken[t] for t in {s.trace_id for s in spans} if t in broken),
        key=lambda n: (n is None, n or 0),
    )
    if bad:
        at = f" at line {bad[0]}" if bad[0] is not None else ""
        return LogEntry(
            line, problem=f"conversation {cid!r}: left out: a span of it{at} is malformed"
        )
    try:
        data = _call_log(cid, spans)
    except BadCall as exc:
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


def _call_log(cid: str, spans: list[Span]) -> dict[str, Any]:
    spans = sorted(spans, key=lambda s: (s.start_ns, s.end_ns))
    root = next((s for s in spans if s.name == "conversation"), None)
    t0 = root.start_ns if root else spans[0].start_ns
    resource = (root or spans[0]).resource
    context = {**resource, **(root.attrs if root else {})}
    versions = [a.get("service.version") for a in [resource] + [s.attrs for s in spans]]
    release = next((str(v) for v in versions if v not in (None, "")), None)
    if release is None:
        raise BadCall(
            "no release: set the resource attribute service.version (or a span attribute)"
        )

    def rel(ns: int) -> float:
        return round(max(0, ns - t0) / 1e9, 6)

    chats = [s for s in spans if _kind(s) in _CHAT]
    callers = [c for s in spans if _kind(s) == "stt" and (c := _heard(s))]
    callers = callers or _typed(chats)  # a text agent: what the user wrote is in the LLM input
    replies = [p for s in spans if _kind(s) == "tts" and (p := _spoken(s))]
    replies = replies or [p for s in chats if (p := _written(s))]
    turns = _turns(callers, replies, spans, chats, rel)
    if not turns:
        raise BadCall(
            f"no usable turns (no STT transcript, TTS text or chat message in {len(spans)} spans)"
        )
    tool_spans = [(s, k) for s in spans if (k := _kind(s)) in _TOOL]
    attach_tools(tool_calls(chats, tool_spans), turns, rel)

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
        raise BadCall(f"{key}: expected a number of seconds, got {v!r}", s)
    return float(v)


def _text(s: Span, key: str) -> str:
    v = s.attrs.get(key)
    if v is not None and not isinstance(v, str):
        raise BadCall(f"{key}: expected text, got {v!r}", s)
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
        raise BadCall(f"confidence: expected 0-1, got {confidence}", s)
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
        said = [m.text for m in messages(s, "input") if m.role == "user"]
        out += [_Said(s.start_ns, s.start_ns, text, s) for text in said[seen:] if text]
        seen = max(seen, len(said))
    return out


def _written(s: Span) -> _Said | None:
    replies = [m.text for m in messages(s, "output") if m.role == "assistant" and m.text]
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
