"""docs/training-data.md stays in step with the code: its example lines validate with the models
they show, every field of the written models is named in it, and its links lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from callgate.training import records as rec

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "training-data.md").read_text(encoding="utf-8")
EXAMPLE = re.compile(r"<!-- example: (\w+) -->\n```json\n(.*?)^```", re.M | re.S)
MODELS: dict[str, type[BaseModel]] = {
    "chat": rec.ChatExample,
    "meta": rec.ExampleMeta,
    "asr": rec.AsrManifestLine,
}


def test_every_example_validates() -> None:
    found = dict(EXAMPLE.findall(DOC))
    assert set(found) == set(MODELS)
    for kind, block in found.items():
        model = MODELS[kind].model_validate_json(block)
        if isinstance(model, rec.ChatExample):
            assert rec.structure_problems(model) == []
            weights = [m.weight for m in model.messages if m.role == "assistant"]
            assert weights[-2:] == [0, 1]  # the wrong step, then its correction


DOCUMENTED: list[type[BaseModel]] = [
    rec.ChatExample,
    rec.ChatMessage,
    rec.ToolCall,
    rec.FunctionCall,
    rec.ToolDef,
    rec.FunctionDef,
    rec.ExampleMeta,
    rec.AsrManifestLine,
    rec.ExportSummary,
    rec.RedactionCount,
    rec.RedactionRule,
    rec.FileWritten,
    rec.BehaviourCount,
    rec.CohortCount,
]


@pytest.mark.parametrize("model", DOCUMENTED, ids=lambda m: m.__name__)
def test_every_field_is_named(model: type[BaseModel]) -> None:
    missing = [f for f in model.model_fields if f"`{f}`" not in DOC and f'"{f}"' not in DOC]
    assert not missing, f"docs/training-data.md does not name {model.__name__}: {missing}"


def test_every_behaviour_is_explained() -> None:
    for behaviour in rec.BEHAVIOURS:
        assert f"| `{behaviour}` |" in DOC


def test_links_lead_to_files_and_the_readme_links_here() -> None:
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", DOC):
        assert (ROOT / "docs" / target).is_file(), target
    assert "docs/training-data.md" in (ROOT / "README.md").read_text(encoding="utf-8")
