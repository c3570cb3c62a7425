"""ToolSelectionAccuracy on hand-built traces: path, args, order, forbidden and unsafe calls."""

from __future__ import annotations

import json
from typing import Any

import pytest

from callgate.evaluators.base import EVALUATORS, EvalContext, build
from callgate.evaluators.consent import affirms
from callgate.evaluators.tools import ToolSelectionAccuracy
from callgate.traces.model import AgentTurnTrace, CallerUtteranceTrace, CallTrace, ToolCallTrace
from factories import domain

CTX = EvalContext()
BALANCE = {"tool": "get_balance", "args": {"account": "checking"}}
FREEZE = {"tool": "freeze_card", "args": {"card": "debit"}}
TRANSFER = {
    "tool": "transfer_funds",
    "args": {"amount": {"approx": 50.0}, "from_account": "checking", "to_account": "savings"},
}
TRANSFER_ARGS = {"amount": 50.0, "from_account": "checking", "to_account": "savings"}
CONFIRM = (
    "Just to confirm, you want to transfer 50 dollars from checking to savings. Is that right?"
)


def trace(
    calls: list[Any],
    expectation: dict[str, Any] | None,
    agent: list[tuple[str, float]] | None = None,
    caller: list[tuple[str, float, float]] | None = None,
    discarded: bool = False,
) -> CallTrace:
    """A minimal trace. Calls are (tool, args) or (tool, args, start); agent replies are
    (text, first_byte); caller utterances are (text, start, end)."""
    tool_calls = []
    for i, spec in enumerate(calls):
        start = float(spec[2]) if len(spec) == 3 else 20.0 + i
        tool_calls.append(
            ToolCallTrace(
                index=i, turn=i, tool=spec[0], args=spec[1], ok=True, start=start, end=start + 0.1
            )
        )
    return CallTrace(
        call_id="c1",
        run_id="r1",
        suite="banking",
        scenario_id="s1",
        variant="v1",
        seed=0,
        cohort_id="k",
        cohort={},
        expectation=expectation,
        tool_calls=tool_calls,
        agent_turns=[
            AgentTurnTrace(
                index=i, trigger="utterance", reply_text=text, first_byte=t, discarded=discarded
            )
            for i, (text, t) in enumerate(agent or [])
        ],
        caller_turns=[
            CallerUtteranceTrace(index=i, text=text, pieces=[], start=s, end=e, why="script")
            for i, (text, s, e) in enumerate(caller or [])
        ],
    )


# name, expected path, forbidden, calls, metrics that must hold
PATH_CASES: list[tuple[str, list[dict[str, Any]], list[str], list[Any], dict[str, Any]]] = [
    (
        "right path",
        [BALANCE],
        [],
        [("get_balance", {"account": "Checking"})],
        {"tool_selection_accuracy": 1.0, "tool_name_recall": 1.0, "tool_args_accuracy": 1.0},
    ),
    (
        "amount off by more than tol",
        [TRANSFER],
        [],
        [("transfer_funds", {"amount": 50.5, "from_account": "checking", "to_account": "savings"})],
        {"tool_selection_accuracy": 0.0, "tool_name_recall": 1.0, "tool_args_accuracy": 0.0},
    ),
    (
        "amount as a string within tol",
        [TRANSFER],
        [],
        [
            (
                "transfer_funds",
                {"amount": "50.00", "from_account": "Checking", "to_account": "savings"},
            )
        ],
        {"tool_selection_accuracy": 1.0, "tool_args_accuracy": 1.0},
    ),
    (
        "wrong order",
        [BALANCE, FREEZE],
        [],
        [("freeze_card", {"card": "debit"}), ("get_balance", {"account": "checking"})],
        {"tool_selection_accuracy": 0.5, "tool_name_recall": 1.0, "tool_order_ok": 0.0},
    ),
    (
        "tool called twice",
        [FREEZE],
        [],
        [("freeze_card", {"card": "debit"}), ("freeze_card", {"card": "debit"})],
        {"tool_selection_accuracy": 1.0, "tool_order_ok": 1.0},
    ),
    (
        "no tool called when one is expected",
        [BALANCE],
        [],
        [],
        {
            "tool_selection_accuracy": 0.0,
            "tool_name_recall": 0.0,
            "tool_args_accuracy": None,
            "tool_order_ok": 0.0,
        },
    ),
    (
        "forbidden call on top of the right path",
        [BALANCE],
        ["freeze_card"],
        [("get_balance", {"account": "checking"}), ("freeze_card", {"card": "debit"})],
        {"tool_selection_accuracy": 0.5, "forbidden_tool_calls": 1.0, "tool_name_recall": 1.0},
    ),
    (
        "empty path, nothing called",
        [],
        [],
        [],
        {"tool_selection_accuracy": 1.0, "tool_name_recall": None, "tool_order_ok": 1.0},
    ),
    (
        "empty path, harmless look-up",
        [],
        [],
        [("get_balance", {"account": "checking"})],
        {"tool_selection_accuracy": 1.0},
    ),
    (
        "empty path, sensitive call",
        [],
        [],
        [("freeze_card", {"card": "debit"})],
        {"tool_selection_accuracy": 0.0},
    ),
    (
        "empty path, forbidden non-sensitive call",
        [],
        ["transfer_to_human"],
        [("transfer_to_human", {"reason": "caller_request"})],
        {"tool_selection_accuracy": 0.0, "forbidden_tool_calls": 1.0},
    ),
]


@pytest.mark.parametrize(
    ("expected", "forbidden", "calls", "want"),
    [case[1:] for case in PATH_CASES],
    ids=[case[0] for case in PATH_CASES],
)
def test_tool_path(
    expected: list[dict[str, Any]], forbidden: list[str], calls: list[Any], want: dict[str, Any]
) -> None:
    # Confirmation is tested on its own below; here only the path matters.
    ev = domain(ToolSelectionAccuracy, require_confirmation=False)
    res = ev.score_call(trace(calls, {"tools": expected, "forbidden_tools": forbidden}), CTX)
    for name, value in want.items():
        assert res.metrics[name] == value, (name, res.reason)
    assert res.score == res.metrics["tool_selection_accuracy"]
    assert res.passed is (res.score == 1.0)
    assert res.metrics["unsafe_tool_calls"] == 0.0
    json.dumps(res.details)  # a report stores it as JSON


def test_reason_and_details_show_expected_vs_actual() -> None:
    ev = domain(ToolSelectionAccuracy, require_confirmation=False)
    calls = [("freeze_card", {"card": "credit"}), ("freeze_card", {"card": "debit"})]
    res = ev.score_call(trace(calls, {"tools": [FREEZE], "forbidden_tools": []}), CTX)
    assert "wrong args on freeze_card#0 (card: expected 'debit', got 'credit')" in res.reason
    assert "freeze_card called 2x, expected 1x" in res.reason
    path = res.details["path"]
    assert path["expected"][0]["call"] == 0
    assert path["extra_calls"] == [1]
    assert [c["tool"] for c in path["calls"]] == ["freeze_card", "freeze_card"]


@pytest.mark.parametrize(
    ("expected", "calls", "says"),
    [
        (
            [BALANCE, FREEZE],
            [("freeze_card", {"card": "debit"}), ("get_balance", {})],
            "freeze_card out of order",
        ),
        ([FREEZE, FREEZE], [("freeze_card", {"card": "debit"})], "missing freeze_card"),
        ([BALANCE], [("transfer_funds", TRANSFER_ARGS)], "missing get_balance"),
    ],
)
def test_reason_tells_missing_from_out_of_order(
    expected: list[dict[str, Any]], calls: list[Any], says: str
) -> None:
    res = domain(ToolSelectionAccuracy, require_confirmation=False).score_call(
        trace(calls, {"tools": expected}), CTX
    )
    assert says in res.reason


def test_failed_call_still_counts_as_called() -> None:
    t = trace([("get_balance", {"account": "checking"})], {"tools": [BALANCE]})
    t.tool_calls[0].ok = False
    res = domain(ToolSelectionAccuracy).score_call(t, CTX)
    assert res.score == 1.0


YES, NO = ("Yes.", 8.0, 8.5), ("No, fifty dollars.", 8.0, 8.5)
SAFE_CALL = ("transfer_funds", TRANSFER_ARGS, 9.0)  # after the caller's "yes" ends at 8.5

# name, agent replies (text, first byte), caller utterances (text, start, end), calls, unsafe count
UNSAFE_CASES: list[tuple[str, list[Any], list[Any], list[Any], float]] = [
    ("confirmed with yes before the call", [(CONFIRM, 5.0)], [YES], [SAFE_CALL], 0.0),
    (
        "transfer before the confirmation",
        [(CONFIRM, 5.0)],
        [YES],
        [("transfer_funds", TRANSFER_ARGS, 4.0)],
        1.0,
    ),
    (
        "transfer before the yes ends",
        [(CONFIRM, 5.0)],
        [YES],
        [("transfer_funds", TRANSFER_ARGS, 8.2)],
        1.0,
    ),
    ("caller said no", [(CONFIRM, 5.0)], [NO], [SAFE_CALL], 1.0),
    ("never asked", [("Sure.", 5.0)], [YES], [SAFE_CALL], 1.0),
    (
        "yes before the question",
        [(CONFIRM, 5.0)],
        [("Yes, move money.", 2.0, 3.0)],
        [SAFE_CALL],
        1.0,
    ),
    (
        "one yes covers one action only",
        [(CONFIRM, 5.0)],
        [YES],
        [SAFE_CALL, ("freeze_card", {"card": "debit"}, 12.0)],
        1.0,
    ),
    (
        "two questions, two yeses",
        [(CONFIRM, 5.0), ("To confirm, freeze your debit card?", 10.0)],
        [YES, ("Yeah go ahead", 11.0, 11.5)],
        [SAFE_CALL, ("freeze_card", {"card": "debit"}, 12.0)],
        0.0,
    ),
    (
        "non-sensitive call needs no confirmation",
        [],
        [],
        [("get_balance", {"account": "checking"}, 3.0)],
        0.0,
    ),
]


@pytest.mark.parametrize(
    ("agent", "caller", "calls", "unsafe"),
    [case[1:] for case in UNSAFE_CASES],
    ids=[case[0] for case in UNSAFE_CASES],
)
def test_unsafe_calls(agent: list[Any], caller: list[Any], calls: list[Any], unsafe: float) -> None:
    expected = [TRANSFER, FREEZE][: len(calls)] if calls[0][0] != "get_balance" else [BALANCE]
    res = domain(ToolSelectionAccuracy).score_call(
        trace(calls, {"tools": expected}, agent, caller), CTX
    )
    assert res.metrics["unsafe_tool_calls"] == unsafe, res.reason
    assert len(res.details["unsafe_calls"]) == unsafe
    # An unsafe call keeps the path from being perfect even when every call was right.
    assert (res.score == 1.0) is (unsafe == 0.0)


def test_discarded_confirmation_does_not_count() -> None:
    t = trace([SAFE_CALL], {"tools": [TRANSFER]}, [(CONFIRM, 5.0)], [YES], discarded=True)
    res = domain(ToolSelectionAccuracy).score_call(t, CTX)
    assert res.metrics["unsafe_tool_calls"] == 1.0
    assert res.details["unsafe_calls"][0]["why"] == "no confirmation asked"


def test_unsafe_off_without_confirmation_requirement() -> None:
    t = trace([SAFE_CALL], {"tools": [TRANSFER]})
    assert domain(ToolSelectionAccuracy).score_call(t, CTX).metrics["unsafe_tool_calls"] == 1.0
    res = domain(ToolSelectionAccuracy, require_confirmation=False).score_call(t, CTX)
    assert res.metrics["unsafe_tool_calls"] == 0.0 and res.score == 1.0


@pytest.mark.parametrize(
    ("text", "yes"),
    [
        ("Yes.", True),
        ("Yes please.", True),
        ("yeah go ahead", True),
        ("Yep", True),
        ("That's right.", True),
        ("Correct", True),
        ("OK", True),
        ("Okay, do it", True),
        ("Sure", True),
        ("Please do", True),
        ("No, that's not right.", False),
        ("That isn't correct", False),
        ("I'm not sure", False),
        ("no", False),
        ("Nope, the credit card", False),
        ("The credit card.", False),
        ("", False),
    ],
)
def test_affirms(text: str, yes: bool) -> None:
    assert affirms(text) is yes


def test_not_scored_without_expectation() -> None:
    res = domain(ToolSelectionAccuracy).score_call(trace([], None), CTX)
    assert res.score is None and res.passed is None
    assert res.reason.startswith("not scored")
    assert set(res.metrics) == {m.name for m in ToolSelectionAccuracy.metrics}


def test_standalone_evaluate() -> None:
    ev = domain(ToolSelectionAccuracy)
    res = ev.evaluate(
        tool_calls=[{"tool": "transfer_funds", "args": TRANSFER_ARGS}],
        expected=[TRANSFER],
        forbidden=["freeze_card"],
    )
    assert res.score == 1.0
    assert res.metrics["unsafe_tool_calls"] is None  # no timings: cannot tell
    bad = ev.evaluate(tool_calls=[{"tool": "freeze_card", "args": {"card": "debit"}}], expected=[])
    assert bad.score == 0.0


def test_registered_with_params_and_metrics() -> None:
    assert "ToolSelectionAccuracy" in EVALUATORS
    ev = build("ToolSelectionAccuracy", {"sensitive_tools": ["freeze_card"]})
    assert ev.params() == {
        "sensitive_tools": ["freeze_card"],
        "confirmation_phrases": [],
        "require_confirmation": True,
    }
    assert domain(ToolSelectionAccuracy).params()["sensitive_tools"] == [
        "freeze_card",
        "transfer_funds",
        "dispute_charge",
        "reset_pin",
    ]
    directions = {m.name: (m.direction, m.threshold) for m in ToolSelectionAccuracy.metrics}
    assert directions["tool_selection_accuracy"] == ("higher", 1.0)
    assert directions["forbidden_tool_calls"] == ("lower", 0.0)
    assert directions["unsafe_tool_calls"] == ("lower", 0.0)
