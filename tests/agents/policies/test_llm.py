"""The LLM policy over real HTTP against a scripted chat-completions server: the tool-call round
trip, token costs, the response cache, and every way the endpoint can fail a call."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from callgate.agents.policies.llm import LLMPolicy
from callgate.agents.policy import JSON, PolicyInput, ToolResult, ToolSchema
from callgate.agents.voice import AgentFailure, AgentUnavailable
from callgate.errors import UsageError
from support.http_double import serve


class Cards:
    def __init__(self) -> None:
        self.calls: list[tuple[str, JSON]] = []

    def schemas(self) -> list[ToolSchema]:
        params = {"properties": {"card": {"type": "string"}}, "required": ["card"]}
        return [ToolSchema("freeze_card", "Freeze a card", params)]

    def call(self, name: str, args: JSON) -> ToolResult:
        self.calls.append((name, args))
        return ToolResult(ok=True, result={"status": "frozen", "card": args.get("card")})


def tool_call(name: str, arguments: str, id_: str = "c1") -> JSON:
    return {"id": id_, "type": "function", "function": {"name": name, "arguments": arguments}}


def completion(content: str | None = None, calls: list[JSON] | None = None) -> JSON:
    message: JSON = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = calls
    return {
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 10},
    }


def freezing_model(body: dict[str, Any]) -> tuple[int, Any]:
    """Calls freeze_card for a freeze request, then confirms once it sees the tool's result."""
    last = body["messages"][-1]
    if last["role"] == "tool" and json.loads(last["content"]).get("result"):
        return 200, completion("Your debit card is frozen.")
    if last["role"] == "tool":  # after end_call
        return 200, completion("Goodbye.")
    if "freeze" in last["content"]:
        return 200, completion(None, [tool_call("freeze_card", '{"card": "debit"}')])
    return 200, completion(None, [tool_call("end_call", "{}", "c2")])


def policy(url: str, tmp_path: Path, **extra: Any) -> LLMPolicy:
    params = {
        "base_url": url + "/v1",
        "model": "m",
        "cache_dir": str(tmp_path),
        "prices": {"input_per_million": 2.0, "output_per_million": 10.0},
        **extra,
    }
    return LLMPolicy(**params)


def test_tool_calls_run_on_the_backend_and_tokens_are_priced(tmp_path: Path) -> None:
    with serve(freezing_model) as (url, seen):
        session = policy(url, tmp_path).start_seeded(42)
        tools = Cards()
        greeting = session.respond(PolicyInput("start"), tools)
        assert greeting.text.startswith("Hello") and not seen  # a fixed greeting costs nothing
        reply = session.respond(PolicyInput("utterance", "please freeze my debit card"), tools)
        assert reply.text == "Your debit card is frozen." and reply.action == "execute"
        assert tools.calls == [("freeze_card", {"card": "debit"})]
        first, second = seen
        assert first["seed"] == 42 and first["tool_choice"] == "auto"
        names = [t["function"]["name"] for t in first["tools"]]
        assert names == ["freeze_card", "end_call", "handoff_to_human"]
        # The tool's result goes back under the id of the call it answers.
        assert second["messages"][-1]["tool_call_id"] == "c1"
        assert json.loads(second["messages"][-1]["content"])["result"]["status"] == "frozen"
        bye = session.respond(PolicyInput("utterance", "no that's all"), tools)
        assert bye.end_call and bye.action == "goodbye" and bye.text == "Goodbye."
    costs = {c.kind: c for c in session.costs()}
    assert costs["llm_input"].quantity == 400 and costs["llm_output"].quantity == 40
    assert costs["llm_input"].amount == pytest.approx(400 * 2.0 / 1e6)


def test_a_rerun_is_served_from_the_cache_with_the_server_gone(tmp_path: Path) -> None:
    def converse(url: str) -> list[str]:
        session, tools = policy(url, tmp_path).start_seeded(7), Cards()
        session.respond(PolicyInput("start"), tools)
        return [
            session.respond(PolicyInput("utterance", t), tools).text
            for t in ("freeze my debit card", "no thanks")
        ]

    with serve(freezing_model) as (url, seen):
        first = converse(url)
        sent = len(seen)
    assert sent == 4  # freeze, its confirmation, end_call, and the goodbye after it
    assert converse(url) == first  # the server is shut down: every answer came from the cache
    # Another seed is another request: not in the cache, so it reaches for the (gone) server.
    session = policy(url, tmp_path).start_seeded(8)
    session.respond(PolicyInput("start"), Cards())
    with pytest.raises(AgentUnavailable, match="connection refused"):
        session.respond(PolicyInput("utterance", "freeze my debit card"), Cards())


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        ('{"card": "debit"', "freeze_card arguments are not a JSON object"),
        ('["debit"]', "freeze_card arguments are not a JSON object"),
    ],
)
def test_a_malformed_tool_call_fails_the_call(tmp_path: Path, arguments: str, reason: str) -> None:
    def model(body: dict[str, Any]) -> tuple[int, Any]:
        return 200, completion(None, [tool_call("freeze_card", arguments)])

    with serve(model) as (url, _seen):
        session, tools = policy(url, tmp_path).start_seeded(1), Cards()
        with pytest.raises(AgentFailure, match=reason):
            session.respond(PolicyInput("utterance", "freeze it"), tools)
    assert tools.calls == []


def test_http_errors_and_broken_answers_fail_the_call(tmp_path: Path) -> None:
    answers = iter([(500, {"error": "overloaded"}), (200, b"<html>"), (200, {"choices": []})])
    with serve(lambda body: next(answers)) as (url, _seen):
        pol = policy(url, tmp_path, cache=False)
        for reason in ("answered HTTP 500", "not JSON", "without choices"):
            with pytest.raises(AgentFailure, match=reason):
                pol.start_seeded(1).respond(PolicyInput("utterance", "hi"), Cards())


def test_no_answer_in_time_fails_the_call(tmp_path: Path) -> None:
    def slow(body: dict[str, Any]) -> tuple[int, Any]:
        time.sleep(1.0)
        return 200, completion("late")

    with serve(slow) as (url, _seen):
        pol = policy(url, tmp_path, timeout_s=0.2)
        with pytest.raises(AgentFailure, match=r"no answer within 0\.2 s"):
            pol.start_seeded(1).respond(PolicyInput("utterance", "hi"), Cards())


def test_nothing_listening_is_not_the_agents_fault(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    pol = policy(f"http://127.0.0.1:{port}", tmp_path)
    with pytest.raises(AgentUnavailable):
        pol.start_seeded(1).respond(PolicyInput("utterance", "hi"), Cards())


def test_bad_parameters_are_one_line_errors() -> None:
    with pytest.raises(UsageError, match="base_url: String should match pattern"):
        LLMPolicy(base_url="localhost:8080", model="m")
    with pytest.raises(UsageError, match="model: Field required"):
        LLMPolicy(base_url="http://x/v1")
    with pytest.raises(UsageError, match="temprature: Extra inputs"):
        LLMPolicy(base_url="http://x/v1", model="m", temprature=0.2)


def test_identity_changes_with_what_changes_replies() -> None:
    a = LLMPolicy(base_url="http://a/v1", model="m").identity()
    assert LLMPolicy(base_url="http://b/v1", model="m").identity() == a  # same model elsewhere
    assert LLMPolicy(base_url="http://a/v1", model="m", temperature=0.7).identity() != a
    assert LLMPolicy(base_url="http://a/v1", model="m", system_prompt="Be terse.").identity() != a
