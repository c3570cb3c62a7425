"""What ``callgate export-training`` writes, one pydantic model per line or file.

Two formats users load as they are, so their models follow those formats and nothing else:

* :class:`ChatExample`: one line of ``chat.jsonl``, OpenAI's fine-tuning chat format
  (``messages`` and ``tools``; an assistant message may carry ``weight`` 0 or 1, and tool calls are
  ``{"id", "type": "function", "function": {"name", "arguments": "<JSON string>"}}``). Fine-tuning
  services reject keys they do not know, so callgate's own tags for the same line live in
  ``chat-meta.jsonl`` (:class:`ExampleMeta`, line N describes example N).
* :class:`AsrManifestLine`: one line of ``asr_manifest.jsonl``, NeMo's manifest
  (``audio_filepath``, ``duration``, ``text``) plus fields NeMo ignores.

:class:`ExportSummary` (``export.json``) says what was exported, from which runs, under which
redaction rules, with every count the command prints: the export is itself a versioned artefact.
See ``docs/training-data.md``.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

EXPORT_SCHEMA_VERSION: Literal[1] = 1
META_SCHEMA_VERSION: Literal[1] = 1

Behaviour = Literal["success", "failed_corrected", "repair", "interruption", "transfer", "silence"]
BEHAVIOURS: tuple[Behaviour, ...] = (
    "success",
    "failed_corrected",
    "repair",
    "interruption",
    "transfer",
    "silence",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------- chat format


class FunctionCall(_Strict):
    name: str = Field(min_length=1)
    arguments: str = Field(description="the arguments as a JSON object, serialised")


class ToolCall(_Strict):
    id: str = Field(min_length=1)
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(_Strict):
    role: Literal["system", "user", "assistant", "tool"]
    content: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    weight: Literal[0, 1] | None = None

    @model_validator(mode="after")
    def _fields_fit_the_role(self) -> ChatMessage:
        if self.role != "assistant" and (self.tool_calls is not None or self.weight is not None):
            raise ValueError(f"a {self.role} message has no tool_calls or weight")
        if (self.role == "tool") != (self.tool_call_id is not None):
            raise ValueError("tool messages, and only they, carry tool_call_id")
        if self.role == "assistant" and self.content is None and not self.tool_calls:
            raise ValueError("an assistant message needs content or tool_calls")
        if self.role != "assistant" and self.content is None:
            raise ValueError(f"a {self.role} message needs content")
        return self


class FunctionDef(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    parameters: dict[str, Any] = Field(description="JSON schema of the arguments")


class ToolDef(_Strict):
    type: Literal["function"] = "function"
    function: FunctionDef


class ChatExample(_Strict):
    """One conversation: ``{"messages": [...], "tools": [...]}`` (OpenAI fine-tuning format)."""

    messages: list[ChatMessage] = Field(min_length=2)
    tools: list[ToolDef] = Field(default_factory=list)

    def line(self) -> str:
        """The JSONL line: unset optional keys left out, as the format expects."""
        return self.model_dump_json(exclude_none=True)


def structure_problems(example: ChatExample) -> list[str]:
    """What breaks the tool-call structure: every call named in ``tools``, its arguments a JSON
    object, its id unique and answered by exactly one tool message after it (a trailing call,
    the example's target, needs no answer); every tool message answers an earlier call."""
    names = {t.function.name for t in example.tools}
    problems: list[str] = []
    open_ids: dict[str, int] = {}
    seen: set[str] = set()
    last = len(example.messages) - 1
    for i, m in enumerate(example.messages):
        if m.role == "assistant" and open_ids:
            problems.append(f"message {i}: calls {sorted(open_ids)} not answered before it")
            open_ids.clear()
        for call in m.tool_calls or []:
            if call.function.name not in names:
                problems.append(f"message {i}: tool {call.function.name!r} not in tools")
            try:
                args = json.loads(call.function.arguments)
            except ValueError:
                args = None
            if not isinstance(args, dict):
                problems.append(f"message {i}: arguments of {call.id} are not a JSON object")
            if call.id in seen:
                problems.append(f"message {i}: tool call id {call.id} used twice")
            seen.add(call.id)
            if i != last:
                open_ids[call.id] = i
        if m.role == "tool":
            if m.tool_call_id not in open_ids:
                problems.append(f"message {i}: answers no open call ({m.tool_call_id})")
            open_ids.pop(m.tool_call_id or "", None)
    if open_ids:
        problems.append(f"calls {sorted(open_ids)} never answered")
    return problems


# --------------------------------------------------------------------------- callgate's tags


class ExampleMeta(_Strict):
    """Line N of ``chat-meta.jsonl``: where chat example N came from and what it shows."""

    schema_version: Literal[1] = META_SCHEMA_VERSION
    line: int = Field(ge=0, description="index of the example in chat.jsonl")
    call_id: str
    run_id: str
    source: str
    suite: str
    scenario_id: str
    variant: str
    split: str
    cohort_id: str
    cohort: dict[str, str]
    behaviours: list[Behaviour]
    cause: str | None = Field(None, description="the attributed failure cause, if any")
    wrong_step: int | None = Field(None, description="message index of the weight-0 step")
    wrong_step_kind: Literal["tool_call", "end_of_call"] | None = None
    correction: list[str] = Field(default_factory=list, description="tools of the correction")
    tools_from: Literal["toolset", "derived"]
    redacted: dict[str, int] = Field(default_factory=dict, description="pattern -> spans")


# --------------------------------------------------------------------------- ASR manifest


class AsrManifestLine(BaseModel):
    """One utterance: NeMo reads ``audio_filepath``, ``duration`` and ``text``; the rest is
    callgate's and ignored by NeMo."""

    model_config = ConfigDict(extra="forbid")

    audio_filepath: str = Field(description="relative to the manifest's folder")
    duration: float = Field(ge=0.0, description="seconds")
    text: str = Field(description="the caller's real words, normalised")
    call_id: str
    run_id: str
    turn: int = Field(description="the agent turn whose ASR heard this audio")
    scenario_id: str
    variant: str
    split: str
    cohort_id: str
    cohort: dict[str, str]
    hypothesis: str = Field(description="what the agent's ASR made of it (redacted)")
    sample_rate: int


# --------------------------------------------------------------------------- export.json


class RedactionRule(_Strict):
    name: str
    pattern: str
    origin: Literal["suite", "built-in"]


class FileWritten(_Strict):
    path: str = Field(description="relative to the export folder")
    lines: int = Field(ge=0, description="lines (JSONL) or files (audio folder)")


class BehaviourCount(_Strict):
    examples: int = 0
    turns: int = 0


class CohortCount(_Strict):
    examples: int = 0
    failed_corrected: int = 0
    asr_lines: int = 0


class RedactionCount(_Strict):
    enabled: bool
    rules: list[RedactionRule] = Field(default_factory=list)
    spans: dict[str, int] = Field(default_factory=dict, description="rule name -> spans replaced")
    fields: int = Field(0, description="text fields with at least one span replaced")
    calls: int = Field(0, description="calls with at least one span replaced")


class ExportSummary(_Strict):
    """``export.json``: what an export holds and how it was made (written last)."""

    schema_version: Literal[1] = EXPORT_SCHEMA_VERSION
    created: str = Field(description="UTC time, ISO 8601")
    store: str
    runs: list[str]
    variant: str | None = None
    split: Literal["dev", "holdout", "all"]
    formats: list[Literal["chat", "asr"]]
    system: str = Field(description="the system message of every chat example")
    chat_format: str = "openai-chat-finetune"
    asr_format: str = "nemo-asr-manifest"
    files: dict[str, FileWritten] = Field(default_factory=dict)
    calls_read: int = 0
    examples: int = 0
    asr_lines: int = 0
    by_behaviour: dict[str, BehaviourCount] = Field(default_factory=dict)
    by_cohort: dict[str, CohortCount] = Field(default_factory=dict)
    skipped: dict[str, int] = Field(default_factory=dict, description="reason -> calls or turns")
    redaction: RedactionCount
    tools_from: dict[str, str] = Field(
        default_factory=dict, description="'run/variant' -> toolset or derived"
    )
    warnings: list[str] = Field(default_factory=list)
