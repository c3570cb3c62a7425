"""One call as one chat example: messages in the agent's order, tool calls and results, weights,
the first wrong step of a failed call and its correction, behaviours, redaction."""

from __future__ import annotations

import json
from typing import Any

import pytest

from callgate.traces.model import CallTrace
from callgate.training.behaviours import behaviours
from callgate.training.chat import DEFAULT_SYSTEM, INAUDIBLE, SILENCE, BuiltExample, chat_example
from callgate.training.correction import Correction, NotCorrectable, correct
from callgate.training.records import (
    ChatExample,
    ChatMessage,
    FunctionCall,
    FunctionDef,
    ToolCall,
    ToolDef,
    structure_problems,
)
from callgate.training.redact import Hits, Redactor
from training.calls import (
    CARD_DIGITS,
    CARD_SPOKEN,
    DOB_NUMERIC,
    DOB_SPOKEN,
    HANDOFF,
    PERSONAL_DATA,
    PIN_SPOKEN,
    freeze_call,
    greet,
    hear,
    personal_call,
    say,
    tool_call,
)

TOOLS = [
    ToolDef(function=FunctionDef(name=n, parameters={"type": "object", "properties": {}}))
    for n in ("freeze_card", "get_balance", "transfer_to_human", "verify_identity")
]
OFF = Redactor([])


def build(trace: CallTrace, correction: Correction | None = None) -> BuiltExample:
    return chat_example(trace, TOOLS, DEFAULT_SYSTEM, OFF, Hits(), correction)


def roles(example: ChatExample) -> list[str]:
    out = []
    for m in example.messages:
        if m.tool_calls:
            out.append("call:" + ",".join(c.function.name for c in m.tool_calls))
        else:
            out.append(m.role)
    return out


def fixed(trace: CallTrace) -> Correction:
    found = correct(trace, HANDOFF)
    assert isinstance(found, Correction), found
    return found


def test_a_successful_call_in_the_agents_order_with_every_reply_weighted_1() -> None:
    built = build(freeze_call())
    ex = built.example
    assert roles(ex) == [
        "system",
        "assistant",  # greeting: no user message before it
        "user",
        "assistant",
        "user",
        "assistant",
        "user",  # the caller's silence
        "assistant",
        "user",
        "call:freeze_card",
        "tool",
        "assistant",
    ]
    users = [m.content for m in ex.messages if m.role == "user"]
    assert users == ["fees my debit card", "freeze my debit card", SILENCE, "yes"]  # as heard
    assert all(m.weight == 1 for m in ex.messages if m.role == "assistant")
    assert all(m.weight is None for m in ex.messages if m.role != "assistant")
    assert structure_problems(ex) == []
    assert built.wrong_step is None
    call = next(m for m in ex.messages if m.tool_calls)
    assert call.tool_calls is not None
    assert json.loads(call.tool_calls[0].function.arguments) == {"card": "debit"}
    result = next(m for m in ex.messages if m.role == "tool")
    assert result.tool_call_id == call.tool_calls[0].id
    assert json.loads(result.content or "") == {"ok": True}


def test_the_line_leaves_unset_keys_out() -> None:
    line = json.loads(build(freeze_call()).example.line())
    assert set(line) == {"messages", "tools"}
    call = next(m for m in line["messages"] if "tool_calls" in m)
    assert "content" not in call and call["tool_calls"][0]["type"] == "function"
    assert set(line["messages"][0]) == {"role", "content"}


def test_a_wrong_tool_call_is_kept_with_weight_0_and_followed_by_its_correction() -> None:
    trace = freeze_call("credit")
    correction = fixed(trace)
    assert correction == Correction(wrong_call=0, calls=[("freeze_card", {"card": "debit"})])
    built = build(trace, correction)
    msgs = built.example.messages
    assert roles(built.example)[-3:] == ["call:freeze_card", "tool", "call:freeze_card"]
    assert built.wrong_step == len(msgs) - 3 and msgs[-3].weight == 0
    assert msgs[-2].role == "tool"  # the wrong call's result, as it happened
    last = msgs[-1]
    assert last.weight == 1 and last.tool_calls is not None
    assert json.loads(last.tool_calls[0].function.arguments) == {"card": "debit"}
    assert [m.weight for m in msgs[:-3] if m.role == "assistant"] == [1, 1, 1, 1]
    assert "Done." not in [m.content for m in msgs]  # nothing after the wrong step
    assert structure_problems(built.example) == []


def test_a_call_never_made_is_corrected_at_the_end_of_the_call() -> None:
    trace = freeze_call(made=False)
    correction = fixed(trace)
    assert correction.wrong_call is None
    built = build(trace, correction)
    msgs = built.example.messages
    assert msgs[-2].content == "Goodbye!" and msgs[-2].weight == 0
    assert built.wrong_step == len(msgs) - 2
    assert msgs[-1].weight == 1 and msgs[-1].tool_calls is not None
    assert structure_problems(built.example) == []


def test_a_missing_call_is_wrong_where_the_next_expected_call_was_made_instead() -> None:
    expectation = {
        "tools": [
            {"tool": "freeze_card", "args": {"card": "debit"}},
            {"tool": "get_balance", "args": {"account": "checking"}},
        ]
    }
    balance = tool_call(0, 4, "get_balance", {"account": "checking"}, 12.2)
    trace = freeze_call(made=True, tool_calls=[balance], expectation=expectation)
    assert fixed(trace) == Correction(0, [("freeze_card", {"card": "debit"})])


@pytest.mark.parametrize(
    ("expectation", "calls", "why"),
    [
        (
            {"tools": [{"tool": "freeze_card", "args": {"card": {"any": True}}}]},
            [],
            "leaves an argument open",
        ),
        (FREEZE := {"tools": [{"tool": "freeze_card", "args": {"card": "debit"}}]}, None, "right"),
        (
            {"tools": [], "forbidden_tools": ["freeze_card"]},
            None,
            "nothing expected is left",
        ),
        (None, None, "no expectation"),
    ],
)
def test_calls_that_cannot_be_corrected(
    expectation: dict[str, Any] | None, calls: list[Any] | None, why: str
) -> None:
    kw: dict[str, Any] = {"expectation": expectation}
    if calls is not None:
        kw["tool_calls"] = calls
    found = correct(freeze_call(**kw), HANDOFF)
    assert isinstance(found, NotCorrectable) and why in found.reason


def test_constraints_fill_the_corrected_arguments() -> None:
    expectation = {
        "tools": [
            {
                "tool": "transfer_funds",
                "args": {
                    "amount": {"approx": 50.0},
                    "from_account": {"one_of": ["checking", "savings"]},
                    "memo": {"contains": "rent"},
                },
            }
        ]
    }
    found = fixed(freeze_call(made=False, expectation=expectation))
    assert found.calls == [
        ("transfer_funds", {"amount": 50.0, "from_account": "checking", "memo": "rent"})
    ]


def test_an_expected_hand_off_the_agent_never_made_is_the_correction() -> None:
    trace = freeze_call(expectation={"tools": [], "transferred": True}, tool_calls=[])
    assert fixed(trace) == Correction(None, [("transfer_to_human", {})])
    labels, turns = behaviours(trace, [0, 1, 2, 3, 4], float("inf"), ["transfer_to_human"], HANDOFF)
    assert "transfer" in labels and turns["transfer"] == 1


def test_behaviours_of_the_whole_call_and_of_a_cut_one() -> None:
    trace = freeze_call()
    built = build(trace)
    labels, turns = behaviours(trace, built.turns, built.until, [], HANDOFF)
    assert labels == ["success", "repair", "interruption", "silence"]
    assert turns == {"repair": 2, "interruption": 2, "silence": 1}
    # Cut before the caller repeated: the repair turn of the agent is in, the rest is not.
    labels, turns = behaviours(trace, [0, 1], 4.0, ["freeze_card"], HANDOFF)
    assert labels == ["failed_corrected", "repair"] and turns == {"repair": 1}


def test_silence_and_nothing_heard_have_markers() -> None:
    trace = freeze_call()
    turns = list(trace.agent_turns)
    assert turns[1].asr is not None
    turns[1] = turns[1].model_copy(update={"asr": turns[1].asr.model_copy(update={"text": " "})})
    ex = build(trace.model_copy(update={"agent_turns": turns})).example
    assert [m.content for m in ex.messages if m.role == "user"][:3] == [
        INAUDIBLE,
        "freeze my debit card",
        SILENCE,
    ]


def test_an_imported_turn_without_asr_uses_what_was_said() -> None:
    turns = [greet(), hear(1, "ignored", 2.0, "Ok.", reference="what the log holds")]
    turns[1] = turns[1].model_copy(update={"asr": None})
    trace = freeze_call(agent_turns=turns, caller_turns=[say(0, "x", 2.0)], tool_calls=[])
    assert build(trace).example.messages[2].content == "what the log holds"


def test_every_text_field_is_redacted() -> None:
    hits = Hits()
    redactor = Redactor.for_rules(PERSONAL_DATA)
    trace = personal_call()
    built = chat_example(trace, TOOLS, DEFAULT_SYSTEM, redactor, hits, None)
    line = built.example.line()
    for planted in (CARD_SPOKEN, CARD_DIGITS, PIN_SPOKEN, DOB_SPOKEN, DOB_NUMERIC, "4821"):
        assert planted not in line
    for placeholder in ("[CARD_NUMBER]", "[PIN]", "[DATE_OF_BIRTH]"):
        assert placeholder in line
    assert "1,200.00 dollars" in line  # an amount is not personal data
    call = next(m for m in built.example.messages if m.tool_calls)
    assert call.tool_calls is not None
    assert json.loads(call.tool_calls[0].function.arguments) == {"date_of_birth": "[DATE_OF_BIRTH]"}
    assert hits.spans == {"card_number": 2, "pin": 1, "date_of_birth": 2}


def _example(messages: list[ChatMessage]) -> ChatExample:
    return ChatExample(messages=messages, tools=TOOLS[:1])


def _call(call_id: str, name: str = "freeze_card", args: str = "{}") -> ChatMessage:
    made = ToolCall(id=call_id, function=FunctionCall(name=name, arguments=args))
    return ChatMessage(role="assistant", tool_calls=[made], weight=1)


def _result(call_id: str) -> ChatMessage:
    return ChatMessage(role="tool", tool_call_id=call_id, content="{}")


SYSTEM = ChatMessage(role="system", content="s")


@pytest.mark.parametrize(
    ("messages", "problem"),
    [
        ([SYSTEM, _call("a", "unknown")], "not in tools"),
        ([SYSTEM, _call("a", args="[1]")], "not a JSON object"),
        ([SYSTEM, _call("a", args="{")], "not a JSON object"),
        ([SYSTEM, _call("a"), _call("b")], "not answered"),
        ([SYSTEM, _result("x"), _call("a")], "answers no open call"),
        ([SYSTEM, _call("a"), _result("a"), _call("a")], "used twice"),
    ],
)
def test_structure_problems_are_found(messages: list[ChatMessage], problem: str) -> None:
    found = structure_problems(_example(messages))
    assert any(problem in p for p in found), found


def test_messages_follow_the_format_rules() -> None:
    with pytest.raises(ValueError, match="no tool_calls or weight"):
        ChatMessage(role="user", content="x", weight=1)
    with pytest.raises(ValueError, match="tool_call_id"):
        ChatMessage(role="tool", content="x")
    with pytest.raises(ValueError, match="content or tool_calls"):
        ChatMessage(role="assistant")


def test_a_hand_off_the_path_does_not_ask_for_is_the_wrong_step() -> None:
    handoff = tool_call(0, 4, "transfer_to_human", {"reason": "repeated_failures"}, 12.2)
    trace = freeze_call(tool_calls=[handoff])
    assert fixed(trace) == Correction(0, [("freeze_card", {"card": "debit"})])
    # When the path asks for the hand-off it is the right step.
    wanted = {"tools": [{"tool": "transfer_to_human", "args": {"reason": "caller_request"}}]}
    found = correct(freeze_call(tool_calls=[handoff], expectation=wanted), HANDOFF)
    assert found == Correction(0, [("transfer_to_human", {"reason": "caller_request"})])
