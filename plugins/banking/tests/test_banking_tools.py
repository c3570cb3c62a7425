"""The banking tool backend: each tool's effect on the state, and argument validation."""

from __future__ import annotations

from typing import Any

import pytest
from callgate_banking.tools import BankingTools, default_state

from callgate.agents.policy import TOOLSETS, ToolBackend
from callgate.errors import UsageError


def test_registered_and_protocol() -> None:
    tools = TOOLSETS.create("banking", initial_state=default_state())
    assert isinstance(tools, ToolBackend)
    names = [s.name for s in tools.schemas()]
    assert names == [
        "get_balance",
        "freeze_card",
        "transfer_funds",
        "dispute_charge",
        "reset_pin",
        "transfer_to_human",
    ]
    for schema in tools.schemas():
        assert schema.parameters["type"] == "object"
        assert set(schema.parameters["required"]) <= set(schema.parameters["properties"])


def test_state_is_copied_both_ways() -> None:
    initial = default_state()
    tools = BankingTools(initial)
    tools.call("freeze_card", {"card": "debit"})
    assert initial["cards"]["debit"]["status"] == "active"
    snapshot = tools.state()
    snapshot["cards"]["debit"]["status"] = "active"
    assert tools.state()["cards"]["debit"]["status"] == "frozen"


def test_empty_state_means_default() -> None:
    assert BankingTools({}).state() == default_state()
    assert BankingTools(None).state() == default_state()


# (tool, args, state path, expected value at that path)
EFFECTS: list[tuple[str, dict[str, Any], str, Any]] = [
    ("freeze_card", {"card": "debit"}, "cards.debit.status", "frozen"),
    ("freeze_card", {"card": "credit"}, "cards.credit.status", "frozen"),
    ("reset_pin", {"card": "credit"}, "cards.credit.pin_reset", True),
    ("transfer_funds", {"amount": 50, "from_account": "checking", "to_account": "savings"},
     "accounts.checking.balance", 1150.0),
    ("transfer_funds", {"amount": 49.99, "from_account": "savings", "to_account": "checking"},
     "accounts.checking.balance", 1249.99),
    ("transfer_funds", {"amount": 50, "from_account": "checking", "to_account": "savings"},
     "transfers", [{"amount": 50.0, "from_account": "checking", "to_account": "savings"}]),
    ("dispute_charge", {"merchant": "Amazon"},
     "disputes", [{"transaction_id": "t1", "merchant": "Amazon", "amount": 89.99}]),
    ("dispute_charge", {"merchant": "amazons", "amount": 89.99},
     "disputes", [{"transaction_id": "t1", "merchant": "Amazon", "amount": 89.99}]),
    ("transfer_to_human", {"reason": "caller_request"}, "handoff", {"reason": "caller_request"}),
]  # fmt: skip


def _at(state: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        state = state[part]
    return state


@pytest.mark.parametrize(("tool", "args", "path", "value"), EFFECTS)
def test_effect(tool: str, args: dict[str, Any], path: str, value: Any) -> None:
    tools = BankingTools(default_state())
    result = tools.call(tool, args)
    assert result.ok, result.error
    assert _at(tools.state(), path) == value


def test_get_balance_reads_without_changing() -> None:
    tools = BankingTools(default_state())
    result = tools.call("get_balance", {"account": "savings"})
    assert result.ok and result.result == {"account": "savings", "balance": 5000.0}
    assert tools.state() == default_state()


def test_freeze_and_pin_results_expose_only_last4() -> None:
    tools = BankingTools(default_state())
    assert tools.call("freeze_card", {"card": "debit"}).result["last4"] == "4821"
    assert tools.call("reset_pin", {"card": "credit"}).result == {"card": "credit", "last4": "9934"}


def test_dispute_picks_latest_open_charge_of_a_merchant() -> None:
    state = default_state()
    state["transactions"].append(
        {"id": "t9", "merchant": "Amazon", "amount": 12.0, "date": "2026-11-25"}
    )
    tools = BankingTools(state)
    assert tools.call("dispute_charge", {"merchant": "Amazon"}).result["transaction_id"] == "t9"
    assert tools.call("dispute_charge", {"merchant": "Amazon"}).result["transaction_id"] == "t1"
    again = tools.call("dispute_charge", {"merchant": "Amazon"})
    assert not again.ok and again.error == "the charge from Amazon is already disputed"


ERRORS: list[tuple[str, Any, str]] = [
    ("get_balance", {"account": "brokerage"}, "the account must be one of checking, savings"),
    ("get_balance", {}, "missing argument 'account'"),
    ("get_balance", {"account": "savings", "pin": "1234"}, "unexpected argument 'pin'"),
    ("get_balance", ["savings"], "arguments must be an object"),
    ("freeze_card", {"card": "amex"}, "the card must be one of debit, credit"),
    ("reset_pin", {"card": None}, "the card must be one of debit, credit"),
    ("transfer_funds", {"amount": 5000, "from_account": "checking", "to_account": "savings"},
     "insufficient funds in checking"),
    ("transfer_funds", {"amount": 5, "from_account": "savings", "to_account": "savings"},
     "the two accounts are the same"),
    ("transfer_funds", {"amount": -5, "from_account": "checking", "to_account": "savings"},
     "the amount must be more than zero"),
    ("transfer_funds", {"amount": "50", "from_account": "checking", "to_account": "savings"},
     "the amount must be a number"),
    ("transfer_funds", {"amount": True, "from_account": "checking", "to_account": "savings"},
     "the amount must be a number"),
    ("transfer_funds", {"amount": 5},
     "missing argument 'from_account'; missing argument 'to_account'"),
    ("dispute_charge", {"merchant": "Delta"}, "there is no charge from Delta"),
    ("dispute_charge", {"merchant": "Amazon", "amount": 12.5},
     "there is no 12.50 dollar charge from Amazon"),
    ("dispute_charge", {"merchant": "  "}, "the merchant must be a non-empty string"),
    ("transfer_to_human", {"reason": ""}, "the reason must be a non-empty string"),
    ("open_account", {}, "unknown tool 'open_account'"),
]  # fmt: skip


@pytest.mark.parametrize(("tool", "args", "error"), ERRORS)
def test_validation_errors_leave_state_alone(tool: str, args: Any, error: str) -> None:
    tools = BankingTools(default_state())
    result = tools.call(tool, args)
    assert not result.ok
    assert result.error == error
    assert tools.state() == default_state()


def test_missing_account_or_card_in_state() -> None:
    tools = BankingTools({"accounts": {"checking": {"balance": 10.0}}})
    assert tools.call("get_balance", {"account": "savings"}).error == "there is no savings account"
    assert tools.call("freeze_card", {"card": "debit"}).error == "there is no debit card"


def test_api_v2_disputes_a_transaction_found_first() -> None:
    v2 = TOOLSETS.create("banking", initial_state=default_state(), api="v2")
    refused = v2.call("dispute_charge", {"merchant": "Uber"})
    assert not refused.ok
    assert refused.error == "missing argument 'transaction_id'; unexpected argument 'merchant'"
    assert v2.state()["disputes"] == []
    found = v2.call("find_transactions", {"merchant": "uber"})
    assert found.ok and [t["id"] for t in found.result["transactions"]] == ["t2"]
    done = v2.call("dispute_charge", {"transaction_id": "t2"})
    assert done.ok and done.result["merchant"] == "Uber"
    again = v2.call("dispute_charge", {"transaction_id": "t2"})
    assert not again.ok and "already disputed" in (again.error or "")
    # v1 still finds the latest charge by merchant alone, and has no lookup tool.
    v1 = BankingTools(default_state())
    assert v1.call("dispute_charge", {"merchant": "Uber"}).ok
    assert "find_transactions" not in [t.name for t in v1.schemas()]
    with pytest.raises(UsageError, match="unknown API 'v3'"):
        BankingTools(api="v3")
