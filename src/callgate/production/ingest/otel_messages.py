"""The tool calls of a call read from OpenTelemetry spans, and the LLM messages that hold them.

An LLM span carries the conversation so far: Pipecat's ``input`` is the provider's own message
list (OpenAI, Anthropic or Gemini), GenAI spans have ``gen_ai.input.messages`` and
``gen_ai.output.messages``. A tool call shows up there as a call in one message and its result in
a later one; tool spans of their own (GenAI ``execute_tool``, Gemini Live's ``llm_tool_call`` /
``llm_tool_result``) time the calls and fill in what the messages leave out. The messages' text
also gives a text agent's turns, which :mod:`callgate.production.ingest.otel` reads with
:func:`messages`.

Apart from ``otel.py`` because the message forms follow the LLM providers' APIs, not the span
layout of a tracer: a provider's new message shape is a change here only, and each module stays
small enough to read whole.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from callgate.production.ingest.otlp import Span


# Here, not in otel.py, because reading messages finds bad calls too and otel.py imports this.
class BadCall(Exception):
    """Why a call cannot be imported; ``span`` when one of its spans says so."""

    def __init__(self, message: str, span: Span | None = None) -> None:
        super().__init__(f"{span}: {message}" if span else message)
        self.span = span


# -- tool calls ----------------------------------------------------------------------------------


@dataclass
class Tool:
    """One tool call as pieced together from messages and spans; times in unix nanoseconds."""

    tool: str
    args: Any = None
    result: Any = None
    ok: bool = True
    error: str | None = None
    start: int = 0
    end: int = 0
    timed: bool = False  # timed by a span of its own, not worked out from the LLM spans


def tool_calls(chats: list[Span], tool_spans: list[tuple[Span, str]]) -> list[Tool]:
    """The tool calls in the LLM spans' messages, completed and timed by the tool spans (each
    with its kind: ``execute_tool``, ``llm_tool_call`` or ``llm_tool_result``)."""
    tools: dict[str, Tool] = {}
    before: int | None = None  # when the previous LLM request ended
    for s in chats:
        # A call shows up first in the input of the LLM request after it: it ran once the
        # request before had ended, and its result was in when this one started. A call in the
        # GenAI output messages was asked for when this request ended.
        given = messages(s, "input")
        first_of: dict[str, str] = {}  # tool name -> call key, for results that carry no id
        for i, m in enumerate(given + messages(s, "output")):
            for n, (call_id, name, args) in enumerate(m.calls):
                key = str(call_id or f"{name}#{i}.{n}")
                first_of.setdefault(str(name), key)
                if key not in tools:
                    if not name:
                        raise BadCall(f"a tool call without a name ({key})", s)
                    at = s.end_ns if i >= len(given) else (before or s.start_ns)
                    tools[key] = Tool(str(name), args, start=at, end=at)
            for call_id, name, result, ok in m.results:
                tool = tools.get(str(call_id) if call_id else first_of.get(str(name), ""))
                if tool is not None and tool.result is None:
                    tool.result, tool.ok, tool.end = result, ok, max(tool.end, s.start_ns)
        before = s.end_ns
    for s, kind in tool_spans:
        _tool_span(s, kind, tools)
    return sorted(tools.values(), key=lambda t: t.start)


def _tool_span(s: Span, kind: str, tools: dict[str, Tool]) -> None:
    """A GenAI ``execute_tool`` span, or Gemini Live's ``llm_tool_call`` / ``llm_tool_result``."""
    named = s.name.split(" ", 1)[1] if s.name.startswith("execute_tool ") else None
    name = s.attrs.get("gen_ai.tool.name") or s.attrs.get("tool.function_name") or named
    call_id = str(s.attrs.get("gen_ai.tool.call.id") or s.attrs.get("tool.call_id") or s.span_id)
    if call_id not in tools and not name:
        raise BadCall("no gen_ai.tool.name (or tool.function_name)", s)
    tool = tools.setdefault(call_id, Tool(str(name), start=s.start_ns, end=s.end_ns))
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


def attach_tools(
    tools: list[Tool], turns: list[dict[str, Any]], rel: Callable[[int], float]
) -> None:
    """Each tool call into the agent turn that made it; ``rel``: unix ns -> call seconds."""
    agents = [t for t in turns if t["speaker"] == "agent"]
    for tool in tools:
        if not agents:
            raise BadCall(f"a tool call ({tool.tool}) but no agent turn to hold it")
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


def messages(s: Span, which: str) -> list[_Message]:
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
        raise BadCall(f"{key}: not JSON (cut short by an attribute length limit?)", s) from None
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
