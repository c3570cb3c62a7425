"""The dialogue-policy and tool seams of a pipeline agent.

A pipeline agent is VAD -> ASR -> policy -> tools -> TTS. This module defines the two middle parts:

* a :class:`DialoguePolicy` turns what the agent heard into a reply and tool calls. It is registered
  by name in :data:`POLICIES` so a variant can say ``policy: {name: pharmacy}``;
* a :class:`ToolBackend` executes tool calls against per-call state (a customer's orders).
  The final state is what task completion is checked on, as EVA does with its expected
  database state.

The policy works on text only, so the same session can be replayed on the caller's
reference transcript instead of the ASR output (the oracle replay that separates ASR from
policy failures).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from callgate.registry import Registry
from callgate.traces.model import CostItem

JSON = dict[str, Any]


@dataclass(frozen=True)
class ToolSchema:
    name: str
    description: str
    parameters: JSON  # JSON-schema object of the arguments


@dataclass(frozen=True)
class ToolResult:
    ok: bool
    result: JSON = field(default_factory=dict)
    error: str | None = None


@runtime_checkable
class ToolBackend(Protocol):
    """Executes tools against the state of one call."""

    def schemas(self) -> list[ToolSchema]: ...

    def call(self, name: str, args: JSON) -> ToolResult: ...

    def state(self) -> JSON:
        """A deep copy of the current state (JSON-serialisable)."""
        ...


@runtime_checkable
class Tools(Protocol):
    """What a policy session sees of the tools: calls are recorded and timed by the agent."""

    def schemas(self) -> list[ToolSchema]: ...

    def call(self, name: str, args: JSON) -> ToolResult: ...


PolicyEvent = Literal["start", "utterance", "silence"]


@dataclass(frozen=True)
class PolicyInput:
    event: PolicyEvent
    text: str = ""  # what the agent heard (ASR hypothesis, or the reference in an oracle replay)
    confidence: float = 1.0


@dataclass(frozen=True)
class PolicyReply:
    text: str
    # greet, ask_slot, confirm, execute, repair, reprompt, out_of_scope, transfer, goodbye, ...
    action: str
    intent: str | None = None
    intent_confidence: float | None = None
    slots: JSON = field(default_factory=dict)
    end_call: bool = False
    transferred: bool = False


@runtime_checkable
class PolicySession(Protocol):
    def respond(self, turn: PolicyInput, tools: Tools) -> PolicyReply: ...


@runtime_checkable
class DialoguePolicy(Protocol):
    name: str

    def identity(self) -> str:
        """Changes whenever replies could change (version, model, parameters)."""
        ...

    def start(self) -> PolicySession: ...


@runtime_checkable
class SeedsCalls(Protocol):
    """An optional capability of a policy whose replies are sampled (an LLM): each call's session
    gets the call's seed, so repeats of a scenario differ while a rerun reproduces."""

    def start_seeded(self, seed: int) -> PolicySession: ...


@runtime_checkable
class ReportsUsage(Protocol):
    """An optional capability of a session that pays per use (tokens, requests): what this
    call's session used so far, priced."""

    def costs(self) -> list[CostItem]: ...


POLICIES: Registry[DialoguePolicy] = Registry("dialogue policy", "callgate.policies")
# A tool set factory is called as factory(initial_state=..., **params).
TOOLSETS: Registry[ToolBackend] = Registry("tool set", "callgate.toolsets")
