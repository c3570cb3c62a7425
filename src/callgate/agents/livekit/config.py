"""The LiveKit agent's configuration: the ``agent:`` block of a variant whose kind is ``livekit``,
and the ``AgentSession`` options callgate sets for a session fed faster than real time.

``agent`` names the user's factory (``package.module:function`` or ``path/to/file.py:function``,
relative to the variant file); ``params`` are passed to it as keyword arguments, so a tuning job
writes a candidate by editing them. The factory contract: :mod:`callgate.agents.livekit.adapter`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from callgate.agents.streaming import StreamSettings, ToolsRef


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TokenPrices(_Strict):
    """What the session's LLM tokens cost, for cost per call (LiveKit counts them)."""

    currency: str = "USD"
    llm_input_per_million: float = Field(0.0, ge=0.0)
    llm_output_per_million: float = Field(0.0, ge=0.0)


class LiveKitConfig(_Strict):
    """``agent: {kind: livekit, agent: module:function, params: {...}, tools: {...}}``."""

    kind: Literal["livekit"] = "livekit"
    agent: str = Field(
        min_length=1, description="the Agent's factory: module:function or file.py:function"
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="keyword arguments for the factory"
    )
    tools: ToolsRef
    stream: StreamSettings = StreamSettings()
    response_timeout_s: float = Field(
        60.0, gt=0.0, le=3600.0, description="wall seconds one frame may keep the session busy"
    )
    prices: TokenPrices | None = Field(None, description="no prices: the call reports no cost")


# Options that are wall-clock waits. Audio reaches the session much faster than real time, so a
# wall-clock wait would end at an arbitrary point of the call: each is off, or zero where the
# same decision is made in audio time anyway (end of turn: the VAD's min_silence_duration).
_WALL_CLOCK_OFF: dict[str, Any] = {
    "user_away_timeout": None,
    "aec_warmup_duration": None,  # no echo on a simulated line; it also blocks barge-in for 3 s
    "transcription_timeout": None,
    "min_consecutive_speech_delay": 0.0,
    "session_close_transcript_timeout": 0.0,
}
_ENDPOINTING = {"mode": "fixed", "min_delay": 0.0, "max_delay": 0.0}
_INTERRUPTION = {
    "resume_false_interruption": False,
    "false_interruption_timeout": None,
    "backchannel_boundary": None,
}
# Deprecated AgentSession arguments LiveKit ignores once turn_handling is given: folded in.
_LEGACY = {
    "turn_detection": ("turn_detection", None),
    "allow_interruptions": ("interruption", "enabled"),
    "min_interruption_duration": ("interruption", "min_duration"),
    "min_interruption_words": ("interruption", "min_words"),
    "discard_audio_if_uninterruptible": ("interruption", "discard_audio_if_uninterruptible"),
}
_WALL_LEGACY = (
    "min_endpointing_delay",
    "max_endpointing_delay",
    "false_interruption_timeout",
    "agent_false_interruption_timeout",
    "resume_false_interruption",
)


def session_options(given: dict[str, Any]) -> dict[str, Any]:
    """``AgentSession`` keyword arguments: the factory's, with every wall-clock wait off, turns
    ended by the VAD (not a turn-detector model, which would download or call LiveKit Cloud),
    VAD interruptions, and no preemptive generation (unless the factory asks for it)."""
    kwargs = dict(given)
    handling: dict[str, Any] = dict(kwargs.pop("turn_handling", None) or {})
    for key, (group, option) in _LEGACY.items():
        if key in kwargs:
            value = kwargs.pop(key)
            if option is None:
                handling.setdefault(group, value)
            else:
                handling[group] = {option: value, **handling.get(group, {})}
    if "preemptive_generation" in kwargs:
        value = kwargs.pop("preemptive_generation")
        handling.setdefault(
            "preemptive_generation", value if isinstance(value, dict) else {"enabled": value}
        )
    for key in _WALL_LEGACY:
        kwargs.pop(key, None)
    handling.setdefault("turn_detection", "vad")
    handling["endpointing"] = {**handling.get("endpointing", {}), **_ENDPOINTING}
    handling["interruption"] = {"mode": "vad", **handling.get("interruption", {}), **_INTERRUPTION}
    handling.setdefault("preemptive_generation", {"enabled": False})
    return {**kwargs, **_WALL_CLOCK_OFF, "turn_handling": handling}
