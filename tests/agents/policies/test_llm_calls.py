"""The LLM policy in whole calls (slow): a real small model behind llama.cpp's OpenAI-compatible
server, started by the test, passes a banking scenario and a rerun comes from the cache with the
server stopped; a model's malformed tool call is a stored failed call, not a crashed run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from callgate.scenarios.load import resolve_suite_path
from support.banking_run import run_scored
from support.http_double import serve
from support.llama import llama_server

pytestmark = pytest.mark.slow

FREEZE = "freeze-debit-simple"
PROMPT = "You are a bank's phone agent. Use the tools to do what the caller asks."


def llm_variant(tmp_path: Path, name: str, base_url: str, **params: Any) -> Path:
    base = resolve_suite_path("banking").parent / "variants" / "baseline.yaml"
    data = yaml.safe_load(base.read_text(encoding="utf-8"))
    data["name"] = name
    data["agent"]["policy"] = {
        "name": "llm",
        "params": {
            "base_url": base_url,
            "model": "smollm2",
            "system_prompt": PROMPT,
            "max_tool_rounds": 1,
            "prices": {"input_per_million": 0.15, "output_per_million": 0.6},
            **params,
        },
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def run(store_root: Path, variant: Path) -> tuple[Any, Any]:
    evaluators = ["TaskCompletion", "ToolSelectionAccuracy", "Cost"]
    ((trace, scores),) = run_scored(store_root, variant, [FREEZE], evaluators)
    return trace, scores


def test_a_local_model_passes_a_scenario_and_a_rerun_comes_from_the_cache(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with llama_server(tmp_path) as url:
        trace, scores = run(store, llm_variant(tmp_path, "llm", url))
    assert trace.error is None, trace.error
    freezes = [c for c in trace.tool_calls if c.tool == "freeze_card"]
    assert freezes and freezes[0].args == {"card": "debit"} and freezes[0].ok
    assert scores.metrics["task_completion"] == 1.0
    tokens = {c.kind: c.quantity for c in trace.cost}
    assert tokens["llm_input"] > 0 and tokens["llm_output"] > 0
    assert trace.engines["policy"].startswith("llm/smollm2")

    # The server is gone. The same agent under another name sends the same requests: every
    # answer comes from the cache, so the call is the same call.
    again, again_scores = run(store, llm_variant(tmp_path, "llm-again", url))
    assert again.error is None
    assert [(c.tool, c.args) for c in again.tool_calls] == [
        (c.tool, c.args) for c in trace.tool_calls
    ]
    assert [t.reply_text for t in again.agent_turns] == [t.reply_text for t in trace.agent_turns]
    assert again.cost_total == trace.cost_total  # what the call costs, though the rerun paid 0
    assert again_scores.metrics["task_completion"] == 1.0


def test_a_malformed_tool_call_is_a_stored_failed_call(tmp_path: Path) -> None:
    def model(body: dict[str, Any]) -> tuple[int, Any]:
        call = {"id": "c1", "type": "function"}
        call["function"] = {"name": "freeze_card", "arguments": '{"card": debit}'}  # type: ignore[assignment]
        message = {"role": "assistant", "content": "", "tool_calls": [call]}
        return 200, {"choices": [{"message": message}], "usage": {}}

    with serve(model) as (url, seen):
        trace, scores = run(tmp_path / "store", llm_variant(tmp_path, "broken", url + "/v1"))
    assert seen, "the model was asked"
    assert trace.ended_by == "error"
    assert trace.error is not None and "malformed tool call" in trace.error
    assert trace.tool_calls == []  # nothing ran on the bad arguments
    assert scores.metrics["task_completion"] == 0.0


def test_a_model_failing_after_a_tool_call_keeps_the_call_it_made(tmp_path: Path) -> None:
    def model(body: dict[str, Any]) -> tuple[int, Any]:
        if body["messages"][-1]["role"] == "tool":
            return 500, {"error": "the model crashed"}
        call = {"id": "c1", "type": "function"}
        call["function"] = {"name": "freeze_card", "arguments": '{"card": "debit"}'}  # type: ignore[assignment]
        return 200, {"choices": [{"message": {"role": "assistant", "tool_calls": [call]}}]}

    with serve(model) as (url, _seen):
        trace, _scores = run(tmp_path / "store", llm_variant(tmp_path, "crashing", url + "/v1"))
    assert trace.ended_by == "error" and "HTTP 500" in (trace.error or "")
    (freeze,) = trace.tool_calls
    assert freeze.tool == "freeze_card" and freeze.ok
    failed_turn = next(t for t in trace.agent_turns if t.index == freeze.turn)
    assert failed_turn.policy is not None and failed_turn.policy.action == "error"
    assert trace.final_state["cards"]["debit"]["status"] == "frozen"
