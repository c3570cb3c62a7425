"""Agent kinds: each brings its configuration model; capabilities are declared, never assumed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import pytest

from callgate.agents.pipeline import PIPELINE, PipelineAgent
from callgate.agents.pipeline_config import PipelineConfig
from callgate.agents.voice import AGENTS, AgentKind
from callgate.inspection.attribution import attribute
from callgate.scenarios.model import Scenario
from callgate.store.records import CallScores
from callgate.traces.model import CallTrace
from callgate.variants.model import Variant


class OpaqueConfig(PipelineConfig):
    kind: Literal["opaque"] = "opaque"  # type: ignore[assignment]


# The pipeline's audio loop without its text replay: what a framework agent looks like to callgate.
OPAQUE = AgentKind(config_model=OpaqueConfig, create=PipelineAgent)


@pytest.fixture(autouse=True)
def _opaque_registered() -> Iterator[None]:
    AGENTS.register("opaque")(OPAQUE)
    yield
    AGENTS.unregister("opaque")  # other tests list the known kinds


BLOCK = {"policy": {"name": "p"}, "tools": {"toolset": "t"}}


def test_pipeline_declares_its_capabilities() -> None:
    assert AGENTS.get("pipeline") is PIPELINE
    assert PIPELINE.text_session is not None and PIPELINE.check is not None
    assert AGENTS.origin("pipeline").startswith("callgate ")  # from callgate's own entry point
    config = PIPELINE.configure({"kind": "pipeline", **BLOCK})
    assert config.turn.end_of_turn_silence_ms == 800  # defaults filled in by the kind's model


def test_a_kind_without_text_replay_is_not_attributable() -> None:
    variant = Variant(name="v", agent={"kind": "opaque", **BLOCK})  # type: ignore[arg-type]
    scenario = Scenario.model_validate(
        {"id": "s", "call_type": "c", "caller": {"goal": "g", "turns": ["hello"]}}
    )
    call = CallTrace(
        call_id="c", run_id="r", suite="s", scenario_id="s", variant="v", seed=0, cohort_id="x",
        cohort={},
    )  # fmt: skip
    scores = CallScores(metrics={"task_completion": 0.0}, reasons={}, details={}, turns=[])
    result = attribute(call, scores, scenario, variant, [])
    assert result.cause is None
    assert result.reason == "not attributable: agent kind 'opaque' cannot replay a call as text"


def test_v1_variant_files_migrate_into_the_agent_block() -> None:
    v1 = {"schema_version": 1, "name": "old", "agent": {"kind": "pipeline"}, **BLOCK}
    v1["turn"] = {"end_of_turn_silence_ms": 500}
    variant = Variant.model_validate(v1)
    assert variant.schema_version == 2
    block = variant.agent.config()
    assert block["turn"] == {"end_of_turn_silence_ms": 500} and block["kind"] == "pipeline"
    assert PIPELINE.configure(block).turn.end_of_turn_silence_ms == 500


def test_a_version_1_file_without_a_policy_says_why(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from callgate.errors import UsageError
    from callgate.variants.load import load_variant

    path = tmp_path / "v1.yaml"
    path.write_text("schema_version: 1\nname: old\ntools: {toolset: t}\n")
    with pytest.raises(UsageError, match="policy: Field required: version 1 files defaulted"):
        load_variant(str(path))
