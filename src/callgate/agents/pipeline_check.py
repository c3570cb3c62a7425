"""Checks of a pipeline configuration before a run writes anything: every engine, voice, policy
and tool set it names exists and accepts its parameters, so bad input fails in one line up front
instead of in every call."""

from __future__ import annotations

from pathlib import Path

from callgate.agents.pipeline import policy_params
from callgate.agents.pipeline_config import PipelineConfig
from callgate.agents.pipeline_faults import check_fallbacks
from callgate.agents.policy import POLICIES, TOOLSETS
from callgate.errors import MissingModelError, UsageError
from callgate.registry import build_part
from callgate.speech.engines import get_asr, get_tts, get_vad, has_voice
from callgate.speech.protocols import ASR_ENGINES, TTS_ENGINES, VADS
from callgate.speech.turn_model import smart_turn


def check_pipeline(config: PipelineConfig, models_dir: Path | None) -> None:
    """Raise a :class:`UsageError` whose field is the path inside the ``agent:`` block."""
    ASR_ENGINES.require(config.asr.engine, "asr.engine")
    TTS_ENGINES.require(config.tts.engine, "tts.engine")
    VADS.require(config.vad.engine, "vad.engine")
    POLICIES.require(config.policy.name, "policy.name")
    TOOLSETS.require(config.tools.toolset, "tools.toolset")
    build_part(get_asr, config.asr.engine, config.asr.params, "asr.params")
    tts = build_part(get_tts, config.tts.engine, config.tts.params, "tts.params")
    if not has_voice(tts, config.tts.voice):
        voices = ", ".join(tts.voices())
        raise UsageError(
            f"unknown {config.tts.engine} voice {config.tts.voice!r} (known: {voices})",
            field="tts.voice",
        )
    build_part(get_vad, config.vad.engine, config.vad.params, "vad.params")
    if config.turn.detector == "smart-turn":
        try:
            smart_turn()
        except MissingModelError as exc:
            raise UsageError(
                f"{exc} (the model ships in Pipecat's wheel: pip install 'callgate[pipecat]')",
                field="turn.detector",
            ) from None
    # Build the policy and the tools once: a bad parameter fails here, not in every call.
    build_part(
        POLICIES.create, config.policy.name, policy_params(config, models_dir), "policy.params"
    )
    tool_params = {"initial_state": {}, **config.tools.params}
    build_part(TOOLSETS.create, config.tools.toolset, tool_params, "tools.params")
    for i, route in enumerate(config.routes):  # a route's ASR fails here too, not in its calls
        if route.asr is not None:
            ASR_ENGINES.require(route.asr.engine, f"routes[{i}].asr.engine")
            build_part(get_asr, route.asr.engine, route.asr.params, f"routes[{i}].asr.params")
    check_fallbacks(config)
