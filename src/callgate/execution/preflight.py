"""Check everything a run needs before anything is written, so bad input leaves no partial run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from callgate.agents.pipeline import policy_params
from callgate.agents.policy import POLICIES, TOOLSETS
from callgate.agents.voice import AGENTS
from callgate.errors import UsageError
from callgate.execution.runner import RunPlan
from callgate.registry import Registry
from callgate.scenarios.load import LoadedSuite
from callgate.speech.engines import get_asr, get_tts, get_vad
from callgate.speech.protocols import ASR_ENGINES, TTS_ENGINES, VADS, TTSEngine
from callgate.variants.load import LoadedVariant


def _known(registry: Registry[Any], name: str, source: str, field: str) -> None:
    if name not in registry:
        known = ", ".join(registry.names()) or "none"
        raise UsageError(
            f"unknown {registry.kind} {name!r} (known: {known})", source=source, field=field
        )


def check(
    suite: LoadedSuite, variants: list[LoadedVariant], plan: RunPlan, models_dir: Path | None = None
) -> None:
    for lv in variants:
        v, src = lv.variant, str(lv.path)
        _known(AGENTS, v.agent.kind, src, "agent.kind")
        if v.agent.kind != "pipeline":
            continue
        _known(ASR_ENGINES, v.asr.engine, src, "asr.engine")
        _known(TTS_ENGINES, v.tts.engine, src, "tts.engine")
        _known(VADS, v.vad.engine, src, "vad.engine")
        _known(POLICIES, v.policy.name, src, "policy.name")
        _known(TOOLSETS, v.tools.toolset, src, "tools.toolset")
        _engine(get_asr, v.asr.engine, v.asr.params, src, "asr.params")
        tts = _engine(get_tts, v.tts.engine, v.tts.params, src, "tts.params")
        if not _has_voice(tts, v.tts.voice):
            raise UsageError(
                f"unknown {v.tts.engine} voice {v.tts.voice!r} (known: {', '.join(tts.voices())})",
                source=src,
                field="tts.voice",
            )
        _engine(get_vad, v.vad.engine, v.vad.params, src, "vad.params")
        # Build the policy and the tools once: a bad parameter fails here, not in every call.
        _engine(POLICIES.create, v.policy.name, policy_params(v, models_dir), src, "policy.params")
        tool_params = {"initial_state": {}, **v.tools.params}
        _engine(TOOLSETS.create, v.tools.toolset, tool_params, src, "tools.params")
    used = {job.cell.voice_name for job in plan.jobs}
    for name in sorted(used):
        spec = suite.suite.voices[name]
        _known(TTS_ENGINES, spec.engine, str(suite.path), f"voices.{name}.engine")
        tts = _engine(get_tts, spec.engine, {}, str(suite.path), f"voices.{name}")
        if not _has_voice(tts, spec.voice):
            raise UsageError(
                f"unknown {spec.engine} voice {spec.voice!r}",
                source=str(suite.path),
                field=f"voices.{name}.voice",
            )


def _has_voice(tts: TTSEngine, voice: str) -> bool:
    # Engines that accept more voices than they list (espeak's "+variant" forms) say so.
    has = getattr(tts, "has_voice", None)
    return bool(has(voice)) if callable(has) else voice in tts.voices()


def _engine(
    make: Callable[..., Any], name: str, params: dict[str, Any], source: str, field: str
) -> Any:
    try:
        return make(name, **params)
    except UsageError as exc:
        raise UsageError(exc.message, source=source, field=field) from None
    except TypeError as exc:  # an engine constructor refused a parameter
        raise UsageError(str(exc), source=source, field=field) from None
