"""Check everything a run needs before anything is written, so bad input leaves no partial run."""

from __future__ import annotations

import re
from pathlib import Path

from callgate.agents.voice import AGENTS
from callgate.errors import UsageError
from callgate.evaluators.base import EVALUATORS
from callgate.evaluators.suite import evaluation_spec
from callgate.execution.runner import RunPlan
from callgate.registry import build_part
from callgate.scenarios.load import LoadedSuite
from callgate.simulation.faults import check_fault_stages
from callgate.simulation.transforms import CHANNEL_TRANSFORMS
from callgate.speech.engines import get_tts, has_voice
from callgate.speech.protocols import TTS_ENGINES
from callgate.variants.load import LoadedVariant


def check(
    suite: LoadedSuite, variants: list[LoadedVariant], plan: RunPlan, models_dir: Path | None = None
) -> None:
    for lv in variants:
        _check_variant(lv, models_dir)
    try:
        _check_suite(suite, plan)
    except UsageError as exc:
        raise UsageError(exc.message, source=str(suite.path), field=exc.field) from None


def _check_variant(lv: LoadedVariant, models_dir: Path | None) -> None:
    """The agent kind is known, and its own check (engines, policy, tools for a pipeline) passes."""
    try:
        AGENTS.require(lv.variant.agent.kind, "kind")
        kind = AGENTS.get(lv.variant.agent.kind)
        if kind.check is not None:
            kind.check(kind.configure(lv.variant.agent.config()), models_dir)
    except UsageError as exc:
        field = "agent.kind" if exc.field == "kind" else f"{lv.agent_field}{exc.field or 'kind'}"
        raise UsageError(exc.message, source=str(lv.path), field=field) from None


def _check_suite(suite: LoadedSuite, plan: RunPlan) -> None:
    """What the planned calls use of the suite: evaluators, channel transforms, caller voices."""
    listed = suite.suite.evaluation.evaluators
    for i, ref in enumerate(listed or []):
        EVALUATORS.require(ref.name, f"evaluation.evaluators[{i}].name")
    for i, item in enumerate(evaluation_spec(suite.suite.evaluation)):
        where = f"evaluation.evaluators[{i}]" if listed is not None else "evaluation"
        try:  # the suite's rules and params reach the constructor: a bad one fails here
            build_part(EVALUATORS.create, item["name"], item["params"], f"{where}.params")
        except (ValueError, re.error) as exc:
            raise UsageError(f"{item['name']}: {exc}", field=f"{where}.params") from None
    for name in sorted({job.cell.channel_name for job in plan.jobs}):
        for i, transform in enumerate(suite.suite.channels[name].transforms):
            field = f"channels.{name}.transforms[{i}]"
            CHANNEL_TRANSFORMS.require(transform.name, f"{field}.name")
            try:
                build_part(CHANNEL_TRANSFORMS.create, transform.name, transform.params, field)
            except ValueError as exc:  # the transform refused a parameter's value
                raise UsageError(str(exc), field=f"{field}.params") from None
    check_fault_stages(plan.jobs)
    for name in sorted({job.cell.voice_name for job in plan.jobs}):
        spec = suite.suite.voices[name]
        TTS_ENGINES.require(spec.engine, f"voices.{name}.engine")
        tts = build_part(get_tts, spec.engine, {}, f"voices.{name}")
        if not has_voice(tts, spec.voice):
            raise UsageError(
                f"unknown {spec.engine} voice {spec.voice!r}", field=f"voices.{name}.voice"
            )
