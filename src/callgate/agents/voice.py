"""The voice-agent seam: how the simulator talks to any agent under test.

The simulator owns the caller and the virtual clock; an agent owns everything from the audio it
hears to the audio it plays. callgate's own :class:`~callgate.agents.pipeline.PipelineAgent` fills
this seam in-process; a Pipecat pipeline, a LiveKit session or a network agent fill it by feeding
the audio to the framework and reporting what came back, timed on the same virtual clock.

An agent kind registers an :class:`AgentKind` in :data:`AGENTS` (entry-point group
``callgate.agents``) under the ``agent.kind`` a variant names. The kind brings its own configuration
model and declares what it can do beyond talking: replaying a call as text (what oracle
attribution needs) and reporting its costs. The agent reports what happened (replies with their
timings, tool calls and events on the recorder, costs); the simulator assembles the trace.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel

from callgate.agents.env import CallEnv
from callgate.agents.faults import FaultPlan
from callgate.agents.policy import PolicySession, ToolBackend
from callgate.registry import Registry
from callgate.speech.audio import Audio
from callgate.traces.model import AgentTurnTrace, CostItem
from callgate.traces.recorder import CallRecorder


class AgentFailure(Exception):
    """The agent under test failed the call: its connection dropped, it timed out, or it sent
    something malformed. The call ends there and is stored as failed (``ended_by: error``) with
    this reason; the run goes on. Any other exception is a bug in callgate or a plugin, and the
    call stays unstored so a re-run retries it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        # What the agent said before it failed, not yet handed to the simulator: still part of
        # the call (its turns, and the tool calls they made).
        self.replies: list[Reply] = []


class AgentUnavailable(Exception):
    """The agent could not be reached at all (nothing listens at its address). Unlike an
    :class:`AgentFailure` this says nothing about the agent's quality: the call is not stored,
    and a re-run once the agent is up retries it."""


@dataclass
class Reply:
    """One agent reply: its trace (timings on the virtual clock) and the audio it synthesised."""

    turn: AgentTurnTrace
    audio: Audio | None = None

    @property
    def spoken(self) -> bool:
        return not self.turn.discarded and self.turn.first_byte is not None


# The caller's line where the caller says nothing, from one call time to another, as the agent
# receives it (room noise through the channel; silence on a clean line).
LineAudio = Callable[[float, float], Audio]


def silent_line(t0: float, t1: float) -> Audio:
    return Audio.silence(max(0.0, t1 - t0))


@dataclass(frozen=True)
class CallSetup:
    call_id: str
    seed: int
    initial_state: dict[str, Any]
    context: dict[str, Any] = field(default_factory=dict)  # scenario id, cohort tags
    # An agent listens to the line between the caller's words too: its VAD and end-of-turn
    # detector must find the words in the noise, as on a real call.
    line: LineAudio = silent_line
    # The provider faults of the call's fault cohort (None: none); see callgate.agents.faults.
    faults: FaultPlan | None = None


@runtime_checkable
class AgentCall(Protocol):
    """One call in progress."""

    def start(self, t: float) -> list[Reply]:
        """The call connects at ``t``; return the greeting (if any)."""
        ...

    def hear(self, audio: Audio, start: float) -> list[Reply]:
        """The caller's next stretch of audio, as the channel delivered it, begins at ``start``.

        The agent detects speech and end of turn itself and returns its replies in order. If new
        caller speech reaches it while a reply is pending or playing, the agent handles it as real
        agents do: drop the unspoken reply, or cut the playing one (barge-in), recording when.
        """
        ...

    def idle(self, since: float, until: float, max_replies: int = 10) -> list[Reply]:
        """Nothing is heard from ``since`` to ``until``: the agent may reprompt or hang up."""
        ...

    def finish(self) -> dict[str, Any]:
        """End the call and return the final tool state. Also called after an
        :class:`AgentFailure`, so the state the agent left behind is judged."""
        ...


@runtime_checkable
class ReportsCost(Protocol):
    """An optional capability of a call: what it cost, in open kinds (per minute, character,
    token, request, ...), priced by the agent's own price table."""

    def costs(self, duration_s: float) -> list[CostItem]: ...


@runtime_checkable
class KeepsClock(Protocol):
    """An optional capability of a call: an agent fed as a stream cannot hear audio earlier than
    what it has already been streamed, so the caller's next words start no sooner."""

    def ready_at(self) -> float: ...


@runtime_checkable
class VoiceAgent(Protocol):
    kind: str

    def engines(self) -> dict[str, str]:
        """Identity of every engine (ASR, TTS, VAD, policy, tools), for the trace and caches."""
        ...

    def open_call(self, setup: CallSetup, recorder: CallRecorder) -> AgentCall: ...


@dataclass(frozen=True)
class TextSession:
    """A call replayed as text: the agent's dialogue session and a fresh tool backend."""

    session: PolicySession
    tools: ToolBackend


@dataclass(frozen=True)
class AgentKind:
    """What an agent kind registers: its configuration model, how to build an agent from a
    validated configuration, and its optional capabilities."""

    config_model: type[BaseModel]
    create: Callable[[Any, CallEnv], VoiceAgent]
    # Capability: replay a call as text with perfect hearing (oracle attribution). Called as
    # text_session(config, initial_state, models_dir, seed) with the call's seed (a sampled
    # policy samples as in the call); None: the kind is "not attributable".
    text_session: Callable[[Any, dict[str, Any], Path | None, int], TextSession] | None = None
    # Checks what a run needs before it writes anything; called as check(config, models_dir) and
    # raises a UsageError whose field is a path inside the agent block.
    check: Callable[[Any, Path | None], None] | None = None
    description: str = ""
    # Stages whose provider faults (a suite's fault profiles) the kind lets callgate inject: a
    # run refuses a profile aimed at any other stage before it starts.
    fault_stages: tuple[str, ...] = ()

    def configure(self, agent_block: dict[str, Any]) -> Any:
        """The kind's typed configuration from a variant's ``agent:`` block. ``kind`` itself is
        left to the model's default: a variant may name the kind by a reference."""
        return self.config_model.model_validate(
            {k: v for k, v in agent_block.items() if k != "kind"}
        )


AGENTS: Registry[AgentKind] = Registry("agent kind", "callgate.agents")
