"""Call traces (schema version 1).

One :class:`CallTrace` per call holds everything evaluators, the gate and the report need: what the
caller really said and when, what the agent heard (ASR text and confidence), what it decided, which
tools it called with which arguments and results, what it said and when it became audible, every
event on the virtual clock, the tool state before and after, and cost items.

Times are virtual seconds from the start of the call. Measured wall-clock compute times live only in
the ``measured`` fields, which the determinism contract excludes: two runs with the same seed give
identical traces once ``measured`` is dropped (see :meth:`CallTrace.deterministic_view`).

Production call logs are imported into the same format (``source: imported``, and ``imported``
says where each came from); fields a log cannot provide stay ``None`` and evaluators report "not
scored" for them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# 1: no ``imported`` block, ASR confidence always given. 2: no ``line`` block. 3: this model.
SCHEMA_VERSION = 3


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AudioRef(_Model):
    """A content-addressed audio blob in the store (16-bit FLAC, named by the PCM hash)."""

    sha256: str
    sample_rate: int
    duration_s: float


EventKind = Literal[
    "call_start",
    "agent_first_byte",
    "agent_audible",
    "agent_speech_end",
    "agent_cut",
    "reply_discarded",
    "caller_speech_start",
    "caller_speech_end",
    "end_of_turn",
    "asr_final",
    "policy_start",
    "policy_end",
    "tool_start",
    "tool_end",
    "barge_in",
    "no_input_timeout",
    "caller_hangup",
    "transfer",
    "agent_error",
    "provider_fault",  # a provider request failed or answered late (data: stage, fault, ...)
    "call_end",
]


class Event(_Model):
    t: float
    kind: EventKind
    turn: int | None = None  # agent turn index, or caller utterance index for caller events
    data: dict[str, Any] = Field(default_factory=dict)


class SpeechPiece(_Model):
    """A stretch of the caller's speech with its reference text (split where the caller paused)."""

    text: str
    start: float
    end: float


class CallerUtteranceTrace(_Model):
    index: int
    text: str = Field(description="what the caller really said: the ASR reference")
    pieces: list[SpeechPiece] = Field(description="speech spans on the virtual clock")
    start: float = Field(description="when the caller's audio starts (may lead speech slightly)")
    end: float
    why: str = Field(description="script, reaction:<i>, repeat, correction, closing")
    interrupting: bool = False
    backchannel: bool = Field(
        False, description="an acknowledgement over the agent's reply, not a turn (mm-hm, okay)"
    )
    voice: str | None = None
    rate: float = 1.0
    gain_db: float = 0.0
    entities: list[str] = Field(default_factory=list)
    clean_audio: AudioRef | None = Field(None, description="TTS output before the channel")
    packets_lost: int = 0


class ASRTrace(_Model):
    text: str
    confidence: float | None = Field(description="0-1, engine-specific; None: a log gave none")
    engine: str
    audio_start: float = Field(description="span of the caller track the ASR received")
    audio_end: float

    @property
    def confidence_label(self) -> str:
        return "n/a" if self.confidence is None else f"{self.confidence:.2f}"


class PolicyTrace(_Model):
    action: str
    intent: str | None = None
    intent_confidence: float | None = None
    slots: dict[str, Any] = Field(default_factory=dict)


class ToolCallTrace(_Model):
    index: int
    turn: int
    tool: str
    args: dict[str, Any]
    ok: bool
    result: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    start: float
    end: float


class AgentTurnTrace(_Model):
    """One agent reply and what led to it."""

    index: int
    trigger: Literal["start", "utterance", "silence"]
    heard_start: float | None = None  # caller speech span this turn responds to
    heard_end: float | None = None
    reference_text: str | None = Field(None, description="what the caller said in that span")
    end_of_turn: float | None = None
    asr: ASRTrace | None = None
    policy: PolicyTrace | None = None
    tool_calls: list[int] = Field(default_factory=list, description="indices into tool_calls")
    reply_text: str
    tts_text: str | None = Field(None, description="text sent to TTS after respelling")
    reply_audio: AudioRef | None = None
    policy_start: float | None = None
    policy_end: float | None = None
    first_byte: float | None = None
    first_audible: float | None = None
    playback_end: float | None = Field(None, description="when the agent's audio stopped")
    interrupted: bool = False
    discarded: bool = Field(False, description="never spoken: the caller spoke again first")
    end_call: bool = False
    transferred: bool = False
    measured: dict[str, float] = Field(default_factory=dict, description="wall-clock seconds")


EndReason = Literal["agent_hangup", "caller_hangup", "transfer", "max_turns", "no_input", "error"]


class CostItem(_Model):
    kind: str = Field(min_length=1, description="what was paid for: asr, tts, llm_tokens, ...")
    quantity: float
    unit: str = Field(min_length=1, description="minute, character, token, request, call, ...")
    unit_price: float
    amount: float
    currency: str = "USD"


class ImportedFrom(_Model):
    """Where an imported production call came from, and what its log says beyond the trace."""

    format: str = Field(description="the log format it was read from: jsonl, otel, livekit, ...")
    file: str = Field(description="the log file's name")
    line: int | None = Field(None, description="its line (JSONL) or first span's line")
    log_call_id: str = Field(description="the call's id in the log: re-ingesting it adds nothing")
    started_at: str = Field(description="when the call started, ISO 8601 in UTC")
    release: str = Field(description="the agent release that answered (the trace's variant)")
    model_version: str | None = None
    resolved: bool | None = Field(None, description="the log's own disposition, when it has one")
    metadata: dict[str, Any] = Field(default_factory=dict)


class LineTrace(_Model):
    """The simulated line a call ran over: the caller's room and the channel, as the suite named
    and specified them, so scoring can judge audio as either side heard it."""

    noise: dict[str, Any] = Field(
        default_factory=dict, description="the noise spec (type, snr_db) over the whole call"
    )
    channel: dict[str, Any] = Field(
        default_factory=dict, description="the channel spec (type, codec, rate, packet loss)"
    )


class CallTrace(_Model):
    schema_version: Literal[1, 2, 3] = 3
    call_id: str
    run_id: str
    source: Literal["simulated", "imported"] = "simulated"
    suite: str
    scenario_id: str
    variant: str
    repeat: int = 0
    seed: int
    split: Literal["dev", "holdout"] = "dev"
    cohort_id: str
    cohort: dict[str, str]
    goal: str = ""
    expectation: dict[str, Any] | None = Field(
        None, description="the scenario's expected tool path and outcome (scenario format)"
    )
    critical_entities: list[str] = Field(default_factory=list)
    caller_turns: list[CallerUtteranceTrace] = Field(default_factory=list)
    agent_turns: list[AgentTurnTrace] = Field(default_factory=list)
    tool_calls: list[ToolCallTrace] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    initial_state: dict[str, Any] = Field(default_factory=dict)
    final_state: dict[str, Any] = Field(default_factory=dict)
    ended_by: EndReason = "agent_hangup"
    error: str | None = Field(
        None, description="why the agent failed the call (disconnect, timeout, malformed message)"
    )
    transferred: bool = False
    duration_s: float = 0.0
    caller_audio: AudioRef | None = Field(
        None, description="the caller track as the agent heard it"
    )
    agent_audio: AudioRef | None = Field(None, description="the agent track as played (cuts kept)")
    cost: list[CostItem] = Field(default_factory=list)
    cost_total: float = 0.0
    engines: dict[str, str] = Field(default_factory=dict, description="identity of each engine")
    measured: dict[str, float] = Field(default_factory=dict, description="wall seconds by part")
    imported: ImportedFrom | None = Field(None, description="set on imported production calls")
    line: LineTrace | None = Field(
        None, description="the simulated line (None on imported calls and older traces)"
    )

    def deterministic_view(self) -> dict[str, Any]:
        """The trace without measured compute times: identical for identical inputs and seed."""
        data = self.model_dump(mode="json", exclude={"measured"})
        for turn in data["agent_turns"]:
            turn.pop("measured", None)
        return data
