"""Check everything a run needs before anything is written, so bad input leaves no partial run."""

from __future__ import annotations

from pathlib import Path

from callgate.agents.pipeline_check import build, has_voice, known
from callgate.agents.voice import AGENTS
from callgate.errors import UsageError
from callgate.evaluators.base import EVALUATORS
from callgate.execution.runner import RunPlan
from callgate.scenarios.load import LoadedSuite
from callgate.speech.engines import get_tts
from callgate.speech.protocols import TTS_ENGINES
from callgate.variants.load import LoadedVariant


def check(
    suite: LoadedSuite, variants: list[LoadedVariant], plan: RunPlan, models_dir: Path | None = None
) -> None:
    for lv in variants:
        src = str(lv.path)
        try:
            known(AGENTS, lv.variant.agent.kind, "kind")
            kind = AGENTS.get(lv.variant.agent.kind)
            if kind.check is not None:
                kind.check(kind.configure(lv.variant.agent.config()), models_dir)
        except UsageError as exc:
            raise UsageError(
                exc.message, source=src, field=f"{lv.agent_field}{exc.field}"
            ) from None
    for i, ref in enumerate(suite.suite.evaluation.evaluators or []):
        try:
            known(EVALUATORS, ref.name, f"evaluation.evaluators[{i}].name")
        except UsageError as exc:
            raise UsageError(exc.message, source=str(suite.path), field=exc.field) from None
    used = {job.cell.voice_name for job in plan.jobs}
    for name in sorted(used):
        spec = suite.suite.voices[name]
        try:
            known(TTS_ENGINES, spec.engine, f"voices.{name}.engine")
            tts = build(get_tts, spec.engine, {}, f"voices.{name}")
        except UsageError as exc:
            raise UsageError(exc.message, source=str(suite.path), field=exc.field) from None
        if not has_voice(tts, spec.voice):
            raise UsageError(
                f"unknown {spec.engine} voice {spec.voice!r}",
                source=str(suite.path),
                field=f"voices.{name}.voice",
            )
