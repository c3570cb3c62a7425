"""SayDo on hand-built traces: one test per rule (a claim with no tool, with a failed tool, before
its tool, with a wrong value; a sensitive call after a "no" or without a confirmation), plus the
rule's validation and how the findings reach the results row and the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from callgate.errors import UsageError
from callgate.evaluators.base import EVALUATORS, EvalContext
from callgate.evaluators.consent import refuses
from callgate.evaluators.say_do import SayDo, same_value
from callgate.evaluators.suite import DEFAULT_EVALUATORS, build_all, evaluation_spec, score_call
from callgate.report.calls import turns_table
from callgate.scenarios.evaluation import EvaluationRules
from callgate.scenarios.load import load_suite
from callgate.traces.model import CallTrace, ToolCallTrace
from factories import BANK_RULES, agent, call, caller

CTX = EvalContext()
RULES: dict[str, Any] = {
    "sensitive_tools": BANK_RULES["sensitive_tools"],
    "confirmation_phrases": BANK_RULES["confirmation_phrases"],
    "refusal_phrases": ["never mind", "cancel that"],
    "claims": {
        "freeze_card": [
            {"pattern": r"your (?P<card>\w+) card is now frozen", "values": {"card": "card"}}
        ],
        "get_balance": [
            {
                "pattern": r"your (?P<account>\w+) balance is (?P<balance>[\d,.]+) dollars",
                "values": {"account": "account", "balance": "balance"},
            }
        ],
        "transfer_to_human": ["transfer you to"],
    },
}
CONFIRM = "Just to confirm, you want to freeze your debit card. Is that right?"
DONE = "Done. Your debit card is now frozen. Anything else?"


def tc(
    index: int,
    name: str,
    start: float,
    turn: int,
    ok: bool = True,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> ToolCallTrace:
    return ToolCallTrace(
        index=index,
        turn=turn,
        tool=name,
        args={},
        ok=ok,
        result=result or {},
        error=error,
        start=start,
        end=start + 0.1,
    )


FROZE = {"card": "debit", "status": "frozen"}


def freeze_call(
    answer: str = "Yes.",
    calls: list[ToolCallTrace] | None = None,
    last_reply: str = DONE,
    last_playback_end: float = 13.0,
    confirm: str = CONFIRM,
) -> CallTrace:
    """Greeting, "freeze my debit card", the confirmation question, the caller's answer, then the
    agent's last reply (turn 2); by default the freeze runs at 10 s, inside turn 2."""
    return call(
        caller_turns=[
            caller(0, "I need to freeze my debit card.", 3.0, 4.0),
            caller(1, answer, 9.0, 9.5),
        ],
        agent_turns=[
            agent(0, "How can I help you today?", first_audible=1.0, playback_end=2.0),
            agent(1, confirm, heard=(3.0, 4.0), asr="x", first_audible=5.0, playback_end=8.0),
            agent(
                2,
                last_reply,
                heard=(9.0, 9.5),
                asr="x",
                first_audible=11.0,
                playback_end=last_playback_end,
            ),
        ],
        tool_calls=[tc(0, "freeze_card", 10.0, 2, result=FROZE)] if calls is None else calls,
    )


def score(trace: CallTrace, **params: Any) -> Any:
    return SayDo(**{**RULES, **params}).score_call(trace, CTX)


def whys(res: Any) -> list[str]:
    return [f["why"] for f in res.details["findings"]]


def test_claim_backed_by_a_successful_call_in_the_same_turn() -> None:
    res = score(freeze_call())
    assert res.metrics == {
        "say_do_violations": 0.0,
        "say_do_consistent": 1.0,
        "unbacked_claims": 0.0,
        "unconsented_actions": 0.0,
    }
    assert res.passed is True and res.details["claims_checked"] == 1 and res.turns == []


def test_claim_without_any_tool_call() -> None:
    res = score(freeze_call(calls=[]))
    assert res.metrics["say_do_violations"] == 1.0 and res.metrics["unbacked_claims"] == 1.0
    assert res.metrics["say_do_consistent"] == 0.0 and res.passed is False
    (finding,) = res.details["findings"]
    assert finding["turn"] == 2 and finding["tool"] == "freeze_card"
    assert finding["text"] == "Your debit card is now frozen"
    assert finding["why"] == "no freeze_card call"
    assert res.turns == [{"turn": 2, "say_do": [{k: v for k, v in finding.items() if k != "turn"}]}]


def test_claim_after_a_failed_call() -> None:
    failed = tc(0, "freeze_card", 10.0, 2, ok=False, error="no such card")
    res = score(freeze_call(calls=[failed]))
    assert whys(res) == ["freeze_card failed (no such card)"]


def test_claim_in_a_turn_before_the_tool_ran() -> None:
    # The agent said it was done in turn 2 and froze the card only in turn 3.
    late = tc(0, "freeze_card", 14.0, 3, result=FROZE)
    assert whys(score(freeze_call(calls=[late]))) == ["freeze_card was called only in a later turn"]


def test_same_turn_tool_that_finished_after_the_reply_had_played() -> None:
    # A streaming agent said "done" and the tool only finished once the reply was over: the one
    # in-turn order the trace can prove. Finishing while the reply still played is accepted.
    after = tc(0, "freeze_card", 12.95, 2, result=FROZE)  # ends 13.05, the reply ended at 13.0
    res = score(freeze_call(calls=[after]))
    assert whys(res) == ["freeze_card finished only after the reply had been spoken"]
    assert (
        score(freeze_call(calls=[after], last_playback_end=13.2)).metrics["say_do_violations"]
        == 0.0
    )


def test_claim_backed_by_an_earlier_turn_and_repeating_it_is_no_violation() -> None:
    early = tc(0, "freeze_card", 4.5, 1, result=FROZE)
    res = score(freeze_call(calls=[early], confirm=DONE), require_confirmation=False)
    assert res.metrics["say_do_violations"] == 0.0 and res.details["claims_checked"] == 2


def test_claimed_value_must_match_the_tool_result() -> None:
    other = tc(0, "freeze_card", 10.0, 2, result={"card": "credit", "status": "frozen"})
    res = score(freeze_call(calls=[other]))
    assert res.metrics["unbacked_claims"] == 1.0
    assert whys(res) == ["said {'card': 'debit'}, the tool returned {'card': 'credit'}"]


def test_a_value_the_tool_did_not_return_is_not_backed() -> None:
    bare = tc(0, "freeze_card", 10.0, 2, result={"status": "frozen"})
    assert whys(score(freeze_call(calls=[bare]))) == [
        "said {'card': 'debit'}, the tool returned {'card': None}"
    ]


@pytest.mark.parametrize(
    ("said", "balance", "ok"),
    [
        ("Your checking balance is 1,200.00 dollars.", 1200.0, True),
        ("Your checking balance is 1,300.00 dollars.", 1200.0, False),
        ("Your savings balance is 1,200.00 dollars.", 1200.0, False),  # the other account
    ],
)
def test_balance_read_back(said: str, balance: float, ok: bool) -> None:
    t = call(
        caller_turns=[caller(0, "What's my checking balance?", 1.0, 2.0)],
        agent_turns=[agent(0, said, heard=(1.0, 2.0), asr="x", first_audible=3.0)],
        tool_calls=[
            tc(0, "get_balance", 2.5, 0, result={"account": "checking", "balance": balance})
        ],
    )
    res = score(t)
    assert (res.metrics["say_do_violations"] == 0.0) is ok, res.reason


def test_any_backing_call_with_the_claimed_value_will_do() -> None:
    # Two look-ups, then both balances read out in one reply: each claim finds its own call.
    t = call(
        agent_turns=[
            agent(
                0,
                "Your checking balance is 40.00 dollars and your savings balance is 10.00 dollars.",
                first_audible=3.0,
            )
        ],
        tool_calls=[
            tc(0, "get_balance", 1.0, 0, result={"account": "checking", "balance": 40.0}),
            tc(1, "get_balance", 1.5, 0, result={"account": "savings", "balance": 10.0}),
        ],
    )
    res = score(t)
    assert res.metrics["say_do_violations"] == 0.0 and res.details["claims_checked"] == 2


def test_sensitive_call_after_the_caller_said_no() -> None:
    res = score(freeze_call(answer="No, don't.", last_reply="Okay."))
    assert res.metrics["unconsented_actions"] == 1.0 and res.metrics["unbacked_claims"] == 0.0
    (finding,) = res.details["findings"]
    assert finding["kind"] == "action" and finding["call"] == 0 and finding["turn"] == 2
    assert finding["why"] == 'after the caller said "No, don\'t."'


def test_a_refusal_phrase_of_the_suite_counts_as_no() -> None:
    res = score(freeze_call(answer="Hmm, never mind.", last_reply="Okay."))
    assert whys(res) == ["after the caller said 'Hmm, never mind.'"]
    # Without the phrase in the rules it is still no consent, just not a refusal.
    res = score(freeze_call(answer="Hmm, never mind.", last_reply="Okay."), refusal_phrases=[])
    assert whys(res) == ["confirmation asked but not affirmed"]


def test_sensitive_call_without_the_required_confirmation() -> None:
    res = score(freeze_call(confirm="Which card?", answer="The debit card."))
    assert whys(res) == ["no confirmation asked"]
    # The rules can drop the requirement; a "no" is still flagged then.
    assert (
        score(
            freeze_call(confirm="Which card?", answer="The debit card."), require_confirmation=False
        ).metrics["say_do_violations"]
        == 0.0
    )
    no = freeze_call(answer="No.", last_reply="Okay.")
    assert score(no, require_confirmation=False).metrics["unconsented_actions"] == 1.0


def test_a_wrong_claim_and_an_unconsented_action_in_one_turn() -> None:
    said = "Done. Your credit card is now frozen."
    res = score(freeze_call(answer="No.", last_reply=said))
    assert res.metrics["say_do_violations"] == 2.0
    assert res.metrics["unbacked_claims"] == 1.0 and res.metrics["unconsented_actions"] == 1.0
    (row,) = res.turns
    assert row["turn"] == 2 and [f["kind"] for f in row["say_do"]] == ["action", "claim"]


def test_a_discarded_reply_claims_nothing() -> None:
    t = freeze_call(calls=[])
    t.agent_turns[2].discarded = True
    assert score(t).metrics["say_do_violations"] == 0.0


def test_handoff_claim_and_curly_apostrophes() -> None:
    said = agent(0, "Let me transfer you to a member of our team.", first_audible=1.0)
    assert score(call(agent_turns=[said])).metrics["unbacked_claims"] == 1.0
    handed = tc(0, "transfer_to_human", 0.5, 0, result={"reason": "caller_request"})
    assert score(call(agent_turns=[said], tool_calls=[handed])).metrics["unbacked_claims"] == 0.0
    curly = call(agent_turns=[agent(0, "I\u2019ve frozen it.", first_audible=1.0)])
    said_it = SayDo(claims={"freeze_card": ["I've frozen it"]}).score_call(curly, CTX)
    assert said_it.metrics["unbacked_claims"] == 1.0


def test_not_scored_without_claims_or_sensitive_tools() -> None:
    res = SayDo().score_call(freeze_call(calls=[]), CTX)
    assert res.score is None and res.reason.startswith("not scored")
    assert set(res.metrics.values()) == {None}


@pytest.mark.parametrize(
    ("said", "known", "same"),
    [
        ("1,200.00", 1200.0, True),
        ("50", 50.0, True),
        ("49.99", 49.995, True),
        ("49.99", 50.0, False),
        ("Debit", "debit", True),
        ("Whole Foods", "Whole Foods", True),
        ("debit", "credit", False),
        ("debit", None, False),
    ],
)
def test_same_value(said: str, known: Any, same: bool) -> None:
    assert same_value(said, known) is same


@pytest.mark.parametrize(
    ("text", "no"),
    [
        ("No.", True),
        ("Nope, the credit card", True),
        ("no, don't", True),
        ("Never mind", True),  # a suite phrase below
        ("Yes please", False),
        ("I don't know", False),
        ("Not now", False),  # only a leading "no" (or a phrase of the suite) refuses
        ("", False),
    ],
)
def test_refuses(text: str, no: bool) -> None:
    assert refuses(text, ["never mind"]) is no


# -- the rule, from a suite to the evaluator, and on to the results row and the report -----------


def test_registered_in_the_default_set_and_given_the_suites_rules() -> None:
    assert {"name": "SayDo"} in DEFAULT_EVALUATORS
    assert EVALUATORS.factory("SayDo") is SayDo
    rules = EvaluationRules.model_validate({**RULES, "evaluators": [{"name": "SayDo"}]})
    (spec,) = evaluation_spec(rules)
    assert spec["params"]["claims"]["freeze_card"][0]["values"] == {"card": "card"}
    assert spec["params"]["refusal_phrases"] == ["never mind", "cancel that"]
    (built,) = [e for e in build_all([spec])]
    assert built.params()["claims"] == spec["params"]["claims"]
    # A bare string is a pattern with nothing to read back.
    assert EvaluationRules.model_validate({"claims": {"t": ["done"]}}).claims["t"][0].values == {}


def test_findings_reach_the_results_row_and_the_report() -> None:
    trace = freeze_call(calls=[])
    scores = score_call(trace, [SayDo(**RULES)], CTX)
    assert scores.metrics["say_do_violations"] == 1.0
    assert scores.reasons["SayDo"].startswith("1 say-do violation: turn 2 said 'Your debit card")
    (row,) = scores.turns
    assert row["turn"] == 2 and row["say_do"][0]["why"] == "no freeze_card call"
    html = turns_table(trace, scores)
    assert "say/do" in html and "no freeze_card call" in html
    assert "say/do" not in turns_table(
        freeze_call(), score_call(freeze_call(), [SayDo(**RULES)], CTX)
    )


SUITE = """\
schema_version: 1
name: mini
voices: {a: {engine: espeak, voice: en-us}}
noises: {clean: {type: none}}
channels: {wide: {type: wideband}}
grids: {default: [{voice: [a], noise: [clean], channel: [wide]}]}
evaluation:
  claims:
    close_ticket:
      - {pattern: "%s", values: %s}
scenarios:
  - id: one
    call_type: x
    caller: {goal: g, turns: ["hello"]}
"""


@pytest.mark.parametrize(
    ("pattern", "values", "needle"),
    [
        (
            "closed (",
            "{}",
            "evaluation.claims.close_ticket[0].pattern: not a regular expression",
        ),
        (
            "ticket (?P<id>[0-9]+) closed",
            "{number: id}",
            "evaluation.claims.close_ticket[0]: values: 'number' is not a named group",
        ),
    ],
)
def test_a_bad_claim_rule_is_one_line_naming_the_field(
    tmp_path: Path, pattern: str, values: str, needle: str
) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text(SUITE % (pattern, values), encoding="utf-8")
    with pytest.raises(UsageError) as info:
        load_suite(str(path))
    line = info.value.one_line()
    assert needle in line and "\n" not in line, line
    assert "suite.yaml:10" in line
