"""callgate's turn protocol over real HTTP against a scripted dialogue service: the tool loop,
and a service that breaks the protocol failing its call."""

from __future__ import annotations

from typing import Any

import pytest

from callgate.agents.policies.http_turns import PROTOCOL, HTTPTurnPolicy
from callgate.agents.policy import JSON, PolicyInput, ToolResult, ToolSchema
from callgate.agents.voice import AgentFailure
from support.http_double import serve


class Cards:
    def __init__(self) -> None:
        self.calls: list[tuple[str, JSON]] = []

    def schemas(self) -> list[ToolSchema]:
        return [ToolSchema("freeze_card", "Freeze a card", {"properties": {"card": {}}})]

    def call(self, name: str, args: JSON) -> ToolResult:
        self.calls.append((name, args))
        return ToolResult(ok=True, result={"status": "frozen"})


def service(body: dict[str, Any]) -> tuple[int, Any]:
    if body["event"] == "start":
        return 200, {"reply": "Hello, how can I help?", "action": "greet"}
    if body["event"] == "tool_results":
        (result,) = body["tool_results"]
        assert result["id"] == "t1" and result["ok"]
        return 200, {"reply": "Your debit card is frozen.", "intent": "freeze_card"}
    if "freeze" in body["text"]:
        return 200, {"tool_calls": [{"id": "t1", "name": "freeze_card", "args": {"card": "debit"}}]}
    return 200, {"reply": "Goodbye.", "end_call": True, "action": "goodbye"}


def test_a_turn_with_tools_round_trips_until_the_service_answers() -> None:
    with serve(service) as (url, seen):
        session, tools = HTTPTurnPolicy(url=url + "/turn").start(), Cards()
        assert session.respond(PolicyInput("start"), tools).text == "Hello, how can I help?"
        reply = session.respond(PolicyInput("utterance", "freeze my debit card", 0.8), tools)
        bye = session.respond(PolicyInput("utterance", "no"), tools)
    assert reply.text == "Your debit card is frozen." and reply.action == "execute"
    assert reply.intent == "freeze_card" and tools.calls == [("freeze_card", {"card": "debit"})]
    assert bye.end_call and bye.action == "goodbye"
    start, turn, _results, _bye = seen
    assert start["protocol"] == PROTOCOL and start["tools"][0]["name"] == "freeze_card"
    assert turn["confidence"] == 0.8 and "tools" not in turn
    assert len({r["session"] for r in seen}) == 1  # one conversation, one session id


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ({"reply": 7}, "broke callgate-turns/1: reply: Input should be a valid string"),
        ({"tool_calls": [{"args": {}}]}, r"tool_calls\[0\]\.name: Field required"),
        ({"tool_calls": [{"name": "freeze_card"}]}, "asked for tools more than 2 times"),
    ],
)
def test_a_service_breaking_the_protocol_fails_the_call(answer: JSON, reason: str) -> None:
    with serve(lambda body: (200, answer)) as (url, _seen):
        session = HTTPTurnPolicy(url=url, max_tool_rounds=2).start()
        with pytest.raises(AgentFailure, match=reason):
            session.respond(PolicyInput("utterance", "hi"), Cards())


def test_a_failed_call_whose_service_is_gone_is_not_attributed() -> None:
    import socket

    from callgate.inspection.attribution import attribute
    from callgate.scenarios.model import Scenario
    from callgate.store.records import CallScores
    from callgate.variants.model import Variant
    from factories import call

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/turn"
    block = {"kind": "pipeline", "policy": {"name": "http", "params": {"url": url}}}
    agent = {**block, "tools": {"toolset": "banking"}}
    variant = Variant.model_validate({"schema_version": 2, "name": "v", "agent": agent})
    scenario = Scenario.model_validate(
        {"id": "s", "call_type": "c", "caller": {"goal": "g", "turns": ["hello"]}}
    )
    scores = CallScores(metrics={"task_completion": 0.0}, reasons={}, details={}, turns=[])
    result = attribute(call(), scores, scenario, variant, [])
    assert result.cause is None
    assert result.reason.startswith("not attributed: the replay could not reach the agent")
