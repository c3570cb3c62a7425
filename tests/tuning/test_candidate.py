"""A proposal's patch merged into the base agent block, written as a variant that loads."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from callgate.errors import UsageError
from callgate.tuning.candidate import leaf_paths, merge, write_candidate
from callgate.variants.load import load_variant

BASE = {
    "kind": "pipeline",
    "asr": {"engine": "whisper", "hints": {"vocabulary": [], "prompt": ""}},
    "turn": {"end_of_turn_silence_ms": 800, "barge_in": True},
    "policy": {"name": "banking", "params": {"training": ["intents"]}},
    "tools": {"toolset": "banking"},
}


def test_merge_is_deep_and_leaves_the_base_alone() -> None:
    patch = {"turn": {"end_of_turn_silence_ms": 600}, "asr": {"hints": {"vocabulary": ["pin"]}}}
    merged = merge(BASE, patch)
    assert merged["turn"] == {"end_of_turn_silence_ms": 600, "barge_in": True}
    assert merged["asr"]["hints"] == {"vocabulary": ["pin"], "prompt": ""}
    assert BASE["turn"]["end_of_turn_silence_ms"] == 800  # type: ignore[index]


def test_leaf_paths_name_what_a_patch_sets() -> None:
    patch = {"turn": {"end_of_turn_silence_ms": 600}, "vad": {"params": {"margin_db": 6.0}}}
    assert leaf_paths(patch) == ["turn.end_of_turn_silence_ms", "vad.params.margin_db"]


def test_written_candidate_loads_with_the_change(tmp_path: Path) -> None:
    path = tmp_path / "c" / "candidate.yaml"
    write_candidate(path, "base-eot", "base + eot", BASE, {"turn": {"end_of_turn_silence_ms": 600}})
    loaded = load_variant(str(path))
    assert loaded.variant.name == "base-eot"
    assert loaded.variant.agent.config()["turn"]["end_of_turn_silence_ms"] == 600
    assert "turn.end_of_turn_silence_ms" in path.read_text().splitlines()[1]
    assert yaml.safe_load(path.read_text())["agent"]["policy"]["name"] == "banking"


def test_a_patch_the_agent_refuses_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "candidate.yaml"
    with pytest.raises(UsageError, match="does not load"):
        write_candidate(path, "bad", "bad", BASE, {"turn": {"end_of_turn_silence_ms": 1}})
    assert not path.exists()
