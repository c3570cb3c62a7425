"""The format docs stay in step with the code.

* Every ```yaml block whose first line is ``# example: suite`` / ``# example: variant`` loads with
  the real loaders, and the ``<!-- example: trace -->`` JSON block validates as a CallTrace.
* Every field of the documented models appears in its doc as a code span (``name`` or part of a
  dotted path such as ``hints.vocabulary``), so a new field cannot ship undocumented.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import BaseModel

from callgate.agents import latency as lat
from callgate.agents import pipeline_config as pc
from callgate.production.ingest import calllog as cl
from callgate.production.signals import model as sg
from callgate.scenarios import evaluation as ev
from callgate.scenarios import faults as sf
from callgate.scenarios import model as sm
from callgate.scenarios.load import load_suite
from callgate.traces import model as tm
from callgate.tuning import model as tu
from callgate.variants import model as vm
from callgate.variants.load import load_variant

DOCS = Path(__file__).resolve().parents[1] / "docs"
FENCE = re.compile(r"^```yaml\n(.*?)^```", re.M | re.S)
TRACE = re.compile(r"<!-- example: trace -->\n```json\n(.*?)^```", re.M | re.S)


def doc(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def examples(name: str, kind: str) -> list[str]:
    marker = f"# example: {kind}"
    return [b for b in FENCE.findall(doc(name)) if b.splitlines()[:1] == [marker]]


@pytest.mark.parametrize(
    ("name", "kind", "load"),
    [("scenarios.md", "suite", load_suite), ("variants.md", "variant", load_variant)],
)
def test_complete_examples_load(
    tmp_path: Path, name: str, kind: str, load: Callable[[str], object]
) -> None:
    blocks = examples(name, kind)
    assert blocks, f"{name} has no block starting with '# example: {kind}'"
    for i, block in enumerate(blocks):
        path = tmp_path / f"{kind}-{i}.yaml"
        path.write_text(block, encoding="utf-8")
        load(str(path))  # raises UsageError (file, line, field) if the example is wrong


def test_trace_example_validates() -> None:
    blocks = TRACE.findall(doc("traces.md"))
    assert blocks, "traces.md has no '<!-- example: trace -->' JSON block"
    for block in blocks:
        trace = tm.CallTrace.model_validate_json(block)
        assert trace.deterministic_view()["call_id"] == trace.call_id


DOCUMENTED: dict[str, list[type[BaseModel]]] = {
    "scenarios.md": [
        sm.Suite,
        sm.VoiceSpec,
        sm.NoiseSpec,
        sm.ChannelSpec,
        sm.TransformRef,
        sm.Grid,
        sf.FaultSpec,
        sm.Scenario,
        sm.Caller,
        sm.Persona,
        sm.Frustration,
        sm.Utterance,
        sm.Pause,
        sm.Reaction,
        sm.Expectation,
        sm.ExpectedToolCall,
        sm.ArgConstraint,
        sm.StatePredicate,
        ev.EvaluationRules,
        ev.EvaluatorRef,
        ev.ClaimRule,
    ],
    "variants.md": [
        vm.Variant,
        vm.AgentSpec,
        pc.PipelineConfig,
        pc.ASRSpec,
        pc.ASREngineSpec,
        pc.ASRHintsSpec,
        pc.TTSSpec,
        pc.TTSEngineSpec,
        pc.VADSpec,
        pc.TurnSpec,
        pc.PolicySpec,
        pc.ToolsSpec,
        pc.RoutingSpec,
        pc.RouteSpec,
        pc.PriceTable,
        lat.LatencySpec,
    ],
    "traces.md": [
        tm.CallTrace,
        tm.CallerUtteranceTrace,
        tm.SpeechPiece,
        tm.AgentTurnTrace,
        tm.ASRTrace,
        tm.PolicyTrace,
        tm.ToolCallTrace,
        tm.Event,
        tm.CostItem,
        tm.AudioRef,
        tm.ImportedFrom,
    ],
    "production.md": [
        cl.CallLog,
        cl.LoggedTurn,
        cl.LoggedToolCall,
        cl.LoggedCost,
        sg.SignalsReport,
        sg.SignalsSettings,
        sg.SignalGroup,
        sg.SignalValue,
        sg.ReleaseSpan,
    ],
    "tuning.md": [tu.TuningRecord],
}


def mentioned(text: str, field: str) -> bool:
    part = r"[A-Za-z0-9_\[\]]+"
    return re.search(rf"`(?:{part}\.)*{re.escape(field)}(?:\.{part})*`", text) is not None


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_every_field_is_documented(name: str) -> None:
    text = doc(name)
    missing = [
        f"{model.__name__}.{field}"
        for model in DOCUMENTED[name]
        for field in model.model_fields
        if not mentioned(text, field)
    ]
    assert not missing, f"docs/{name} does not mention: {', '.join(missing)}"


def test_scenario_file_include_key_is_documented() -> None:
    # Read by the loader, not by the model, so the field check above cannot see it.
    assert mentioned(doc("scenarios.md"), "scenario_files")
