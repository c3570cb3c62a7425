"""The banking suite's say-do rules (``evaluation.claims``) against the agent's own phrases: every
report of a task that ran is a claim of its tool, with the values it names; a question, a
confirmation or a failure report claims nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from callgate_banking import replies as say

from callgate.evaluators.say_do import same_value
from callgate.scenarios.load import load_suite

RULES = load_suite("banking").suite.evaluation
FACTS: dict[str, dict[str, Any]] = {
    "get_balance": {"account": "checking", "balance": 1200.0},
    "freeze_card": {"card": "debit", "last4": "4821"},
    "reset_pin": {"card": "credit", "last4": "9934"},
    "transfer_funds": {"amount": 49.99, "from_account": "savings", "to_account": "checking"},
    "dispute_charge": {"merchant": "Whole Foods", "amount": 1142.1},
}


def claims_in(text: str) -> list[tuple[str, dict[str, str | None]]]:
    found = []
    for tool, rules in RULES.claims.items():
        for rule in rules:
            for m in re.finditer(rule.pattern, text, re.IGNORECASE):
                found.append((tool, {g: m.group(g) for g in rule.values}))
    return found


@pytest.mark.parametrize("task", say.TASKS)
def test_each_done_report_claims_its_tool_with_the_values_it_names(task: str) -> None:
    ((tool, values),) = claims_in(say.done(task, FACTS[task]))
    assert tool == say.SPECS[task].tool
    (rule,) = RULES.claims[tool]
    assert rule.values, "each report names something to read back"
    for group, path in rule.values.items():
        spoken = values[group]
        assert spoken is not None and same_value(spoken, FACTS[task][path]), (group, spoken)


@pytest.mark.parametrize("task", [t for t in say.TASKS if t != "get_balance"])
def test_confirmations_and_failures_claim_nothing(task: str) -> None:
    assert claims_in(say.confirm(task, FACTS[task])) == []
    assert claims_in(say.failed(task, FACTS[task], "a reason")) == []


def test_questions_and_fixed_replies_claim_nothing_but_a_handoff_does() -> None:
    fixed = [*say.QUESTIONS.values(), say.GREETING, say.CANCELLED, say.TRANSFER_FAILED]
    fixed += [say.OUT_OF_SCOPE, say.NOT_UNDERSTOOD, say.HELP_TOPICS, say.GOODBYE]
    assert [t for t in fixed if claims_in(t)] == []
    for text in (say.TRANSFER_ON_REQUEST, say.TRANSFER_ON_FAILURES):
        assert [tool for tool, _ in claims_in(text)] == ["transfer_to_human"]
