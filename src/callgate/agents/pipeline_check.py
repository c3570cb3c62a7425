"""Checks of a pipeline configuration before a run writes anything: every engine, voice, policy
and tool set it names exists and accepts its parameters, so bad input fails in one line up front
instead of in every call."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from callgate.agents.pipeline import policy_params
from callgate.agents.pipeline_config import PipelineConfig
from callgate.agents.policy import POLICIES, TOOLSETS
from callgate.errors import UsageError
from callgate.registry import Registry
from callgate.speech.engines import get_asr, get_tts, get_vad
from callgate.speech.protocols import ASR_ENGINES, TTS_ENGINES, VADS, TTSEngine


def known(registry: Registry[Any], name: str, field: str) -> None:
    try:
        found = name in registry  # loads a plugin, which may fail to import
    except UsageError as exc:
        raise UsageError(exc.message, field=field) from None
    if not found:
        known_names = ", ".join(registry.names()) or "none"
        raise UsageError(f"unknown {registry.kind} {name!r} (known: {known_names})", field=field)


def build(make: Callable[..., Any], name: str, params: dict[str, Any], field: str) -> Any:
    try:
        return make(name, **params)
    except UsageError as exc:
        raise UsageError(exc.message, field=field) from None
    except TypeError as exc:  # a constructor refused a parameter
        raise UsageError(str(exc), field=field) from None


def has_voice(tts: TTSEngine, voice: str) -> bool:
    # Engines that accept more voices than they list (espeak's "+variant" forms) say so.
    has = getattr(tts, "has_voice", None)
    return bool(has(voice)) if callable(has) else voice in tts.voices()


def check_pipeline(config: PipelineConfig, models_dir: Path | None) -> None:
    """Raise a :class:`UsageError` whose field is the path inside the ``agent:`` block."""
    known(ASR_ENGINES, config.asr.engine, "asr.engine")
    known(TTS_ENGINES, config.tts.engine, "tts.engine")
    known(VADS, config.vad.engine, "vad.engine")
    known(POLICIES, config.policy.name, "policy.name")
    known(TOOLSETS, config.tools.toolset, "tools.toolset")
    build(get_asr, config.asr.engine, config.asr.params, "asr.params")
    tts = build(get_tts, config.tts.engine, config.tts.params, "tts.params")
    if not has_voice(tts, config.tts.voice):
        voices = ", ".join(tts.voices())
        raise UsageError(
            f"unknown {config.tts.engine} voice {config.tts.voice!r} (known: {voices})",
            field="tts.voice",
        )
    build(get_vad, config.vad.engine, config.vad.params, "vad.params")
    # Build the policy and the tools once: a bad parameter fails here, not in every call.
    build(POLICIES.create, config.policy.name, policy_params(config, models_dir), "policy.params")
    tool_params = {"initial_state": {}, **config.tools.params}
    build(TOOLSETS.create, config.tools.toolset, tool_params, "tools.params")
