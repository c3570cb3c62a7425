"""The voice-agent seam: how the simulator talks to any agent under test.

The simulator owns the caller and the virtual clock; an agent owns everything from the audio it
hears to the audio it plays. callgate's own :class:`~callgate.agents.pipeline.PipelineAgent` fills
this seam in-process; a Pipecat pipeline, a LiveKit session or a network agent fill it by feeding
the audio to the framework and reporting what came back, timed on the same virtual clock.

Agents register a factory in :data:`AGENTS` under the ``agent.kind`` a variant names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from callgate.registry import Registry
from callgate.speech.audio import Audio
from callgate.traces.model import AgentTurnTrace
from callgate.traces.recorder import CallRecorder


@dataclass
class Reply:
    """One agent reply: its trace (timings on the virtual clock) and the audio it synthesised."""

    turn: AgentTurnTrace
    audio: Audio | None = None

    @property
    def spoken(self) -> bool:
        return not self.turn.discarded and self.turn.first_byte is not None


@dataclass(frozen=True)
class CallSetup:
    call_id: str
    seed: int
    initial_state: dict[str, Any]
    context: dict[str, Any] = field(default_factory=dict)  # scenario id, cohort tags


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
        """End the call and return the final tool state."""
        ...


@runtime_checkable
class VoiceAgent(Protocol):
    kind: str

    def engines(self) -> dict[str, str]:
        """Identity of every engine (ASR, TTS, VAD, policy, tools), for the trace and caches."""
        ...

    def open_call(self, setup: CallSetup, recorder: CallRecorder) -> AgentCall: ...


# An agent factory is called as factory(variant=..., env=...).
AGENTS: Registry[VoiceAgent] = Registry("agent kind", "callgate.agents")
