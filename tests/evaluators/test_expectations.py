"""Argument constraints, state predicates and the tool-path alignment (expectations.py)."""

from __future__ import annotations

from typing import Any

import pytest

from callgate.evaluators.expectations import check_arg, check_predicate, match_tool_path, resolve
from callgate.scenarios.model import ArgConstraint, ExpectedToolCall, StatePredicate
from callgate.traces.model import ToolCallTrace

MISSING = object()  # the call lacks the argument

ARG_CASES: list[tuple[Any, Any, bool]] = [
    # bare scalar = equals; strings trimmed and case-insensitive
    ("debit", "debit", True),
    ("debit", "  Debit ", True),
    ("debit", "credit", False),
    ("debit", MISSING, False),
    # numbers compare numerically, a numeric string is a number
    (50, 50.0, True),
    (50.0, 50, True),
    (50, "50", True),
    ("50", 50.0, True),
    (50, "50.5", False),
    (50, "fifty", False),
    ("0042", "42", False),  # two strings stay strings
    # bools compare as bools
    (True, True, True),
    (True, "true", True),
    (True, False, False),
    (True, 1, False),
    # approx with an absolute tolerance
    ({"approx": 50.0, "tol": 0.01}, 50.01, True),
    ({"approx": 50.0, "tol": 0.01}, 49.99, True),
    ({"approx": 50.0, "tol": 0.01}, 50.02, False),
    ({"approx": 50.0}, "50.005", True),
    ({"approx": 50.0, "tol": 5}, 54, True),
    ({"approx": 50.0}, "fifty", False),
    ({"approx": 50.0}, MISSING, False),
    # one_of uses the same equality rules
    ({"one_of": ["checking", "savings"]}, "Savings", True),
    ({"one_of": ["checking", "savings"]}, "credit", False),
    ({"one_of": [50, 100]}, "100", True),
    ({"one_of": ["checking"]}, MISSING, False),
    # contains: case-insensitive substring of a string
    ({"contains": "amazon"}, "AMAZON.com order", True),
    ({"contains": "Amazon"}, "Uber", False),
    ({"contains": "5"}, 5, False),
    ({"contains": "amazon"}, MISSING, False),
    # any: present with any value
    ({"any": True}, "whatever", True),
    ({"any": True}, None, True),
    ({"any": True}, MISSING, False),
]


@pytest.mark.parametrize(("constraint", "value", "ok"), ARG_CASES)
def test_check_arg(constraint: Any, value: Any, ok: bool) -> None:
    present = value is not MISSING
    passed, reason = check_arg(
        ArgConstraint.model_validate(constraint), None if not present else value, present
    )
    assert passed is ok, reason
    assert reason
    if not present:
        assert reason == "missing"


STATE: dict[str, Any] = {
    "accounts": {"checking": {"balance": 1150.0}, "savings": {"balance": 5050}},
    "cards": {"debit": {"status": "Frozen", "pin_reset": False}},
    "disputes": [{"merchant": "Amazon", "amount": 89.99}],
    "transfers": [],
    "handoff": None,
    "note": "abc",
}

RESOLVE_CASES: list[tuple[str, bool, Any]] = [
    ("accounts.checking.balance", True, 1150.0),
    ("disputes.0.merchant", True, "Amazon"),
    ("disputes.-1.amount", True, 89.99),
    ("disputes.1.merchant", False, None),
    ("disputes.first", False, None),
    ("accounts.credit", False, None),
    ("note.length", False, None),  # cannot walk into a string
    ("handoff", True, None),  # present, value null
    ("handoff.reason", False, None),
]


@pytest.mark.parametrize(("path", "found", "value"), RESOLVE_CASES)
def test_resolve(path: str, found: bool, value: Any) -> None:
    assert resolve(STATE, path) == (found, value)


PREDICATE_CASES: list[tuple[dict[str, Any], bool]] = [
    ({"path": "cards.debit.status", "equals": "frozen"}, True),
    ({"path": "cards.debit.status", "equals": "active"}, False),
    ({"path": "cards.debit.pin_reset", "equals": False}, True),
    ({"path": "cards.credit.status", "equals": "active"}, False),  # missing path
    ({"path": "disputes.0.merchant", "equals": "amazon"}, True),
    ({"path": "disputes.0.amount", "approx": 89.99}, True),
    ({"path": "accounts.checking.balance", "approx": 1100.0}, False),
    ({"path": "accounts.savings.balance", "approx": 5050.0, "tol": 0}, True),
    ({"path": "accounts.savings.balance", "equals": 5050.0}, True),
    ({"path": "disputes", "length": 1}, True),
    ({"path": "transfers", "length": 0}, True),
    ({"path": "transfers", "length": 1}, False),
    ({"path": "note", "length": 3}, True),
    ({"path": "accounts", "length": 2}, True),
    ({"path": "accounts.checking.balance", "length": 4}, False),  # a number has no length
    ({"path": "missing.list", "length": 0}, False),
    ({"path": "handoff", "exists": False}, True),  # null counts as absent
    ({"path": "handoff.reason", "exists": False}, True),  # missing
    ({"path": "handoff", "exists": True}, False),
    ({"path": "disputes.0", "exists": True}, True),
    ({"path": "disputes.0", "exists": False}, False),
]


@pytest.mark.parametrize(("pred", "ok"), PREDICATE_CASES)
def test_check_predicate(pred: dict[str, Any], ok: bool) -> None:
    passed, reason = check_predicate(StatePredicate.model_validate(pred), STATE)
    assert passed is ok, reason
    assert reason


def _calls(*specs: tuple[str, dict[str, Any]]) -> list[ToolCallTrace]:
    return [
        ToolCallTrace(index=i, turn=i, tool=tool, args=args, ok=True, start=i, end=i + 0.1)
        for i, (tool, args) in enumerate(specs)
    ]


def _path(*specs: dict[str, Any]) -> list[ExpectedToolCall]:
    return [ExpectedToolCall.model_validate(s) for s in specs]


BALANCE = {"tool": "get_balance", "args": {"account": "checking"}}
FREEZE = {"tool": "freeze_card", "args": {"card": "debit"}}


def test_match_right_path() -> None:
    m = match_tool_path(
        _path(BALANCE, FREEZE),
        _calls(("get_balance", {"account": "Checking"}), ("freeze_card", {"card": "debit"})),
        [],
    )
    assert [e.call for e in m.expected] == [0, 1]
    assert all(e.args_ok for e in m.expected)
    assert m.order_ok and m.correct == 2 and m.recalled == 2
    assert m.extra_calls == [] and m.forbidden_calls == [] and m.duplicate_calls == []


def test_match_wrong_args_keeps_first_call_and_reasons() -> None:
    m = match_tool_path(
        _path(FREEZE),
        _calls(("freeze_card", {"card": "credit"}), ("freeze_card", {"card": "debit"})),
        [],
    )
    first = m.expected[0]
    assert first.call == 0 and not first.args_ok
    assert first.arg_results["card"] == {"ok": False, "reason": "expected 'debit', got 'credit'"}
    assert m.extra_calls == [1]
    assert m.duplicate_calls == [{"tool": "freeze_card", "expected": 1, "actual": 2}]


def test_match_wrong_order_and_forbidden() -> None:
    m = match_tool_path(
        _path(BALANCE, FREEZE),
        _calls(("freeze_card", {"card": "debit"}), ("get_balance", {"account": "checking"})),
        ["freeze_card"],
    )
    assert [e.call for e in m.expected] == [1, None]
    assert not m.order_ok
    assert m.recalled == 2  # both tools were called, just not in order
    assert m.extra_calls == [0]
    assert m.forbidden_calls == [0]


def test_match_missing_argument_fails() -> None:
    m = match_tool_path(_path(FREEZE), _calls(("freeze_card", {})), [])
    assert m.expected[0].call == 0
    assert m.expected[0].arg_results["card"] == {"ok": False, "reason": "missing"}


def test_match_is_json_ready() -> None:
    import json

    m = match_tool_path(_path(FREEZE), _calls(("freeze_card", {"card": "debit"})), [])
    data = json.loads(json.dumps(m.to_json()))
    assert data["expected"][0]["expected_args"] == {"card": {"equals": "debit"}}
    assert data["calls"][0] == {
        "index": 0,
        "tool": "freeze_card",
        "args": {"card": "debit"},
        "ok": True,
    }
