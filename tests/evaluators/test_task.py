"""TaskCompletion: outcome predicates and handoff on traces, and the standalone text match."""

from __future__ import annotations

from typing import Any

import pytest

from callgate.errors import UsageError
from callgate.evaluators.base import EVALUATORS, EvalContext, build
from callgate.evaluators.task import TaskCompletion, amounts, key_items
from callgate.traces.model import CallTrace
from factories import domain

CTX = EvalContext()
FROZEN = {"cards": {"debit": {"status": "frozen"}, "credit": {"status": "active"}}, "handoff": None}
FREEZE_OUTCOME = [
    {"path": "cards.debit.status", "equals": "frozen"},
    {"path": "cards.credit.status", "equals": "active"},
]


def trace(
    expectation: dict[str, Any] | None,
    final_state: dict[str, Any],
    transferred: bool = False,
    source: str = "simulated",
) -> CallTrace:
    return CallTrace.model_validate(
        {
            "call_id": "c1",
            "run_id": "r1",
            "source": source,
            "suite": "banking",
            "scenario_id": "s1",
            "variant": "v1",
            "seed": 0,
            "cohort_id": "k",
            "cohort": {},
            "expectation": expectation,
            "final_state": final_state,
            "transferred": transferred,
        }
    )


# name, expectation, final state, transferred, task_completion, outcome_predicates_passed
CALL_CASES: list[tuple[str, dict[str, Any], dict[str, Any], bool, float, float | None]] = [
    ("outcome met", {"outcome": FREEZE_OUTCOME}, FROZEN, False, 1.0, 1.0),
    (
        "outcome missed",
        {"outcome": FREEZE_OUTCOME},
        {"cards": {"debit": {"status": "active"}, "credit": {"status": "active"}}},
        False,
        0.0,
        0.5,
    ),
    ("transferred but should not be", {"outcome": FREEZE_OUTCOME}, FROZEN, True, 0.0, 1.0),
    (
        "handoff expected and done",
        {"outcome": [{"path": "handoff.reason", "equals": "caller_request"}], "transferred": True},
        {"handoff": {"reason": "Caller_Request"}},
        True,
        1.0,
        1.0,
    ),
    (
        "handoff expected, not done",
        {"outcome": [{"path": "handoff", "exists": False}], "transferred": True},
        {"handoff": None},
        False,
        0.0,
        1.0,
    ),
    ("no predicates, no handoff", {}, {}, False, 1.0, None),
]


@pytest.mark.parametrize(
    ("expectation", "state", "transferred", "done", "fraction"),
    [case[1:] for case in CALL_CASES],
    ids=[case[0] for case in CALL_CASES],
)
def test_score_call(
    expectation: dict[str, Any],
    state: dict[str, Any],
    transferred: bool,
    done: float,
    fraction: float | None,
) -> None:
    res = domain(TaskCompletion).score_call(trace(expectation, state, transferred), CTX)
    assert res.metrics == {
        "task_completion": done,
        "outcome_predicates_passed": fraction,
        "expected_responses_said": None,
    }
    assert res.score == done
    assert res.passed is (done == 1.0)
    assert res.reason.startswith("task completed" if done else "task not completed")
    assert len(res.details["predicates"]) == len(expectation.get("outcome", []))


def test_reasons_name_the_failures() -> None:
    state = {"cards": {"debit": {"status": "active"}, "credit": {"status": "active"}}}
    res = domain(TaskCompletion).score_call(trace({"outcome": FREEZE_OUTCOME}, state, True), CTX)
    assert "cards.debit.status: expected 'frozen', got 'active'" in res.reason
    assert "transferred: expected False, got True" in res.reason
    first = res.details["predicates"][0]
    assert first["passed"] is False and first["check"] == {
        "path": "cards.debit.status",
        "equals": "frozen",
    }
    assert res.details["transferred"] == {"expected": False, "actual": True, "ok": False}


def test_not_scored_without_expectation() -> None:
    res = domain(TaskCompletion).score_call(trace(None, FROZEN), CTX)
    assert res.score is None and res.passed is None
    assert res.reason.startswith("not scored")


def test_imported_log_without_state_is_not_scored() -> None:
    res = domain(TaskCompletion).score_call(
        trace({"outcome": FREEZE_OUTCOME}, {}, source="imported"), CTX
    )
    assert res.score is None and res.reason.startswith("not scored")


def test_evaluate_call_is_score_call() -> None:
    t = trace({"outcome": FREEZE_OUTCOME}, FROZEN)
    assert domain(TaskCompletion).evaluate(call=t) == domain(TaskCompletion).score_call(t, CTX)


# --------------------------------------------------------------------------- standalone text mode


def test_text_mode_example() -> None:
    transcript, goal = "Done, your debit card is now frozen.", "Freeze my debit card"
    assert domain(TaskCompletion).evaluate(response=transcript, expected_response=goal).score == 1.0


def test_text_mode_missing_entity_fails() -> None:
    res = domain(TaskCompletion).evaluate(
        response="Done, your card is now frozen.", expected_response="Freeze my debit card"
    )
    assert res.score is not None and res.score < 1.0
    assert res.passed is False
    assert "missing: debit" in res.reason
    assert res.details["found"] == ["freeze"] and res.details["missing"] == ["debit"]


TEXT_CASES: list[tuple[str, str, float]] = [
    ("Your debit card has been blocked.", "Freeze my debit card", 1.0),
    ("Your credit card is frozen.", "Freeze my debit card", 0.5),
    (
        "I moved 50 dollars from checking to savings.",
        "Move fifty dollars from checking to savings",
        1.0,
    ),
    ("I moved $50.00 from checking to savings.", "Transfer $50 from checking to savings", 1.0),
    (
        "I moved 150 dollars from checking to savings.",
        "Move fifty dollars from checking to savings",
        0.75,
    ),
    ("I've sent 1,200.50 dollars to savings.", "Transfer $1,200.50 to savings", 1.0),
    ("The dispute for Amazon's charge is open.", "Dispute the 89.99 dollar Amazon charge", 2 / 3),
    ("I disputed the $89.99 Amazon charge.", "Dispute the 89.99 dollar Amazon charge", 1.0),
    ("A new PIN for your credit card is in the mail.", "Reset the PIN on my credit card", 1.0),
    ("Your checking balance is 1,200 dollars.", "What is my checking balance?", 1.0),
    ("Your savings balance is 5,000 dollars.", "What is my checking balance?", 0.5),
]


@pytest.mark.parametrize(("response", "goal", "score"), TEXT_CASES)
def test_text_mode(response: str, goal: str, score: float) -> None:
    res = domain(TaskCompletion).evaluate(response=response, expected_response=goal)
    assert res.score == pytest.approx(score), res.reason
    assert res.passed is (score >= 0.8)
    assert res.metrics == {"task_text_match": res.score}


def test_text_mode_threshold_is_a_parameter() -> None:
    res = domain(TaskCompletion, threshold=0.5).evaluate(
        response="Your card is frozen.", expected_response="Freeze my debit card"
    )
    assert res.score == 0.5 and res.passed is True


def test_text_mode_without_key_items_is_not_scored() -> None:
    res = domain(TaskCompletion).evaluate(response="Sure.", expected_response="Speak to a person")
    assert res.score is None and res.reason.startswith("not scored")


def test_evaluate_needs_input() -> None:
    with pytest.raises(UsageError):
        domain(TaskCompletion).evaluate(response="hello")


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("$49.99", [49.99]),
        ("89.99", [89.99]),
        ("1,200.00 dollars", [1200.0]),
        ("one hundred fifty dollars", [150.0]),
        ("fifty cents", [0.5]),
        ("eighty nine ninety nine", [89.0, 99.0]),
        ("card ending four eight two one", [4.0, 8.0, 2.0, 1.0]),
        ("two thousand and five", [2000.0, 5.0]),
        ("no numbers here", []),
    ],
)
def test_amounts(text: str, values: list[float]) -> None:
    assert [v for v, _ in amounts(text)] == pytest.approx(values)


def test_key_items_skip_number_words_without_currency() -> None:
    goal = "Freeze a card; names the credit card only when asked which one."
    ev = domain(TaskCompletion)
    assert key_items(goal, ev.entities, ev.intents) == [("intent", "freeze"), ("entity", "credit")]
    assert ("amount", "50") in key_items("Move fifty dollars to savings", ev.entities, ev.intents)
    assert key_items(goal, frozenset(), {}) == []  # no rules: the domain words mean nothing


def test_registered_with_params_and_metrics() -> None:
    assert "TaskCompletion" in EVALUATORS
    params = build("TaskCompletion", {"threshold": 0.6, "entities": ["Debit"]}).params()
    assert params == {"threshold": 0.6, "entities": ["debit"], "intents": {}}
    assert TaskCompletion.rules == ("entities", "intents")
    metrics = {m.name: m for m in TaskCompletion.metrics}
    assert metrics["task_completion"].kind == "binary"
    assert metrics["task_completion"].direction == "higher"
    assert metrics["task_completion"].threshold == 1.0


def test_expected_responses_must_be_said() -> None:
    from callgate.evaluators.base import EvalContext
    from callgate.traces.model import AgentTurnTrace, CallTrace

    def trace(reply: str) -> CallTrace:
        return CallTrace(
            call_id="c",
            run_id="r",
            suite="s",
            scenario_id="x",
            variant="v",
            seed=1,
            cohort_id="c",
            cohort={},
            expectation={"agent_says": ["card is now frozen", "anything else"]},
            agent_turns=[AgentTurnTrace(index=0, trigger="start", reply_text=reply)],
        )

    ok = domain(TaskCompletion).score_call(
        trace("Done. Your debit card is now frozen. Anything else?"), EvalContext()
    )
    assert ok.metrics["expected_responses_said"] == 1.0 and ok.score == 1.0
    bad = domain(TaskCompletion).score_call(trace("Done. Anything else?"), EvalContext())
    assert bad.metrics["expected_responses_said"] == 0.5 and bad.score == 0.0
    assert "never said 'card is now frozen'" in bad.reason
