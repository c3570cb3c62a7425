"""The prompt job: prompt edits for an LLM policy, each scored by replaying dev scenarios as text
through the real policy code and a model behind a real HTTP socket (a scripted double here; the
slow test in tests/agents/policies uses a real small model)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from callgate.agents.env import CallEnv
from callgate.errors import UsageError
from callgate.scenarios import load_suite
from callgate.store.records import CallScores
from callgate.tuning.jobs import TuneCall, TuneContext
from callgate.tuning.prompt import PromptJob
from factories import call, caller
from support.http_double import serve

SCENARIOS = ("freeze-debit-simple", "freeze-credit-simple")


def model(body: dict[str, Any]) -> tuple[int, Any]:
    """Freezes the card only when its prompt holds worked examples; ends the call when asked."""
    system = body["messages"][0]["content"]
    last = body["messages"][-1]
    if last["role"] == "tool":
        message: dict[str, Any] = {"role": "assistant", "content": "Done. Anything else?"}
    elif "that's all" in last.get("content", "").lower():
        message = {"role": "assistant", "content": None, "tool_calls": [tool_call("end_call", {})]}
    elif "freeze" in last.get("content", "").lower() and "Examples from earlier" in system:
        card = "credit" if "credit" in last["content"].lower() else "debit"
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [tool_call("freeze_card", {"card": card})],
        }
    else:
        message = {"role": "assistant", "content": "Sorry, could you say that again?"}
    return 200, {
        "choices": [{"message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5},
    }


def tool_call(name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"c-{name}",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(args)},
    }


def context(tmp_path: Path, base_url: str) -> TuneContext:
    suite = load_suite("banking").suite
    scenarios = {s.id: s for s in suite.scenarios if s.id in SCENARIOS}
    calls = []
    for i, scenario in enumerate(scenarios.values()):
        trace = call(
            call_id=f"c{i}",
            scenario_id=scenario.id,
            initial_state=copy.deepcopy(suite.fixtures[scenario.fixture]),
            expectation=scenario.expect.model_dump(mode="json"),
            caller_turns=[caller(0, scenario.caller.turns[0].say, 0.0, 2.0)],
        )
        metrics: dict[str, float | None] = {"task_completion": 0.0, "tool_selection_accuracy": 0.0}
        calls.append(TuneCall(trace, CallScores(metrics=metrics, reasons={})))
    agent = {
        "kind": "pipeline",
        "policy": {
            "name": "llm",
            "params": {"base_url": base_url, "model": "double", "cache": False},
        },
        "tools": {"toolset": "banking"},
    }
    return TuneContext(
        "banking",
        suite.evaluation,
        "baseline",
        agent,
        calls,
        CallEnv.at(tmp_path / "store"),
        tmp_path / "out",
        scenarios=scenarios,
        reactions=list(suite.reactions),
    )


def test_the_edit_that_passes_more_dev_scenarios_is_proposed(tmp_path: Path) -> None:
    with serve(model) as (url, seen):
        proposal = PromptJob().propose(context(tmp_path, url))
    assert seen, "every prompt was replayed through the endpoint"
    rates = proposal.figures["pass_rate"]
    # Each scenario passes with the other's example (scored out of fold), none without one.
    assert rates["current"] == 0.0 and rates["+examples"] == 1.0
    assert proposal.figures["chosen"] == "+examples"  # as good as +act+examples, and shorter
    prompt = proposal.patch["policy"]["params"]["system_prompt"]
    assert 'Caller: "I need to freeze my debit card please." -> call freeze_card' in prompt
    assert '{"card": "debit"}' in prompt and '{"card": "credit"}' in prompt


def test_no_edit_better_than_the_current_prompt_makes_no_candidate(tmp_path: Path) -> None:
    with serve(model) as (url, _):
        proposal = PromptJob(shots=0).propose(context(tmp_path, url))
    assert proposal.patch == {} and "no prompt edit passed" in proposal.rationale[0]


def test_only_an_llm_policy_is_tuned() -> None:
    with pytest.raises(UsageError, match="system prompt of the llm policy"):
        PromptJob().check({"kind": "pipeline", "policy": {"name": "banking"}})


@pytest.mark.slow
def test_the_job_runs_against_a_real_small_model(tmp_path: Path) -> None:
    from support.llama import llama_server

    with llama_server(tmp_path) as url:
        ctx = context(tmp_path, url)
        ctx.agent["policy"]["params"].update(
            {"model": "smollm2", "cache": True, "max_tool_rounds": 1}
        )
        proposal = PromptJob(shots=1).propose(ctx)
    rates = proposal.figures["pass_rate"]
    # What a 135M model makes of each prompt is its own business; the job must have replayed
    # every prompt and proposed only a measured improvement.
    assert set(rates) == {"current", "+act", "+ask again", "+examples", "+act+examples"}
    assert all(0.0 <= r <= 1.0 for r in rates.values())
    if proposal.patch:
        assert rates[proposal.figures["chosen"]] > rates["current"]
    else:
        assert max(rates.values()) - rates["current"] < 0.05
