"""Scripted text conversations with the banking policy, through a recording fake of Tools."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from callgate_banking import BankingPolicy, BankingTools, default_state

from callgate.agents.policy import (
    POLICIES,
    DialoguePolicy,
    PolicyInput,
    PolicyReply,
    PolicySession,
    ToolResult,
)
from callgate.errors import UsageError

SILENCE = None  # a scripted turn where the caller says nothing


@dataclass
class RecordingTools:
    """What the agent hands a session: records every call, runs it on a real backend."""

    backend: BankingTools = field(default_factory=lambda: BankingTools(default_state()))
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def call(self, name: str, args: dict[str, Any]) -> ToolResult:
        self.calls.append((name, dict(args)))
        return self.backend.call(name, args)


def converse(
    lines: Sequence[str | None], **params: Any
) -> tuple[list[PolicyReply], RecordingTools]:
    session = BankingPolicy(**params).start()
    tools = RecordingTools()
    replies = [session.respond(PolicyInput(event="start"), tools)]
    for line in lines:
        assert not replies[-1].end_call, "the script goes on after the call ended"
        turn = PolicyInput(event="silence") if line is None else PolicyInput("utterance", line)
        replies.append(session.respond(turn, tools))
    return replies, tools


def said(replies: list[PolicyReply]) -> list[str]:
    return [r.text for r in replies]


def test_registered_and_protocols() -> None:
    policy = POLICIES.create("banking")
    assert isinstance(policy, DialoguePolicy)
    assert isinstance(policy.start(), PolicySession)


def test_greeting() -> None:
    (greeting,), _ = converse([])
    assert "How can I help you today?" in greeting.text
    assert greeting.action == "greet" and not greeting.end_call


def test_freeze_flow_with_confirmation() -> None:
    replies, tools = converse(["i lost my card", "the debit one", "yes", "no that's all thanks"])
    _, ask, confirm, done, bye = replies
    assert "which card" in ask.text.lower() and ask.action == "ask_slot"
    assert ask.intent == "freeze_card" and ask.intent_confidence is not None
    assert confirm.text == "Just to confirm, you want to freeze your debit card. Is that right?"
    assert confirm.slots == {"card": "debit"}
    assert done.action == "execute" and "anything else" in done.text
    assert "4821" in done.text  # the last four digits, and nothing more
    assert "Goodbye" in bye.text and bye.end_call and not bye.transferred
    assert tools.calls == [("freeze_card", {"card": "debit"})]
    assert tools.backend.state()["cards"]["debit"]["status"] == "frozen"


def test_transfer_flow_asks_for_amount() -> None:
    replies, tools = converse(["i want to move money to my savings", "fifty dollars", "yes"])
    assert "how much" in replies[1].text.lower()
    assert "transfer 50 dollars from checking to savings" in replies[2].text
    assert replies[2].slots == {"amount": 50.0, "from_account": "checking", "to_account": "savings"}
    assert "anything else" in replies[3].text
    args = {"amount": 50.0, "from_account": "checking", "to_account": "savings"}
    assert tools.calls == [("transfer_funds", args)]


def test_transfer_asks_which_account_and_takes_a_bare_answer() -> None:
    replies, tools = converse(["transfer two hundred dollars", "savings", "yep"])
    assert "which account" in replies[1].text.lower()
    assert "transfer 200 dollars from savings to checking" in replies[2].text
    assert tools.calls[0][1]["from_account"] == "savings"


def test_deny_with_correction_reconfirms() -> None:
    replies, tools = converse(["freeze my credit card", "no, I said freeze my debit card", "yeah"])
    assert "freeze your credit card" in replies[1].text
    assert "freeze your debit card" in replies[2].text and replies[2].action == "confirm"
    assert tools.calls == [("freeze_card", {"card": "debit"})]


def test_deny_with_a_new_request_switches_task() -> None:
    lines = ["reset the pin on my credit card", "no, freeze my debit card", "yes"]
    replies, tools = converse(lines)
    assert "freeze your debit card" in replies[2].text
    assert tools.calls == [("freeze_card", {"card": "debit"})]


@pytest.mark.parametrize("answer", ["Yes, thanks.", "yes the credit card", "right, credit"])
def test_leading_yes_confirms_even_when_the_model_reads_more(answer: str) -> None:
    replies, tools = converse(["reset the pin on my credit card", answer])
    assert replies[2].action == "execute"
    assert tools.calls == [("reset_pin", {"card": "credit"})]


def test_yes_with_a_different_slot_reconfirms() -> None:
    replies, tools = converse(["reset the pin on my credit card", "yes the debit card"])
    assert "reset the PIN on your debit card" in replies[2].text and tools.calls == []


def test_plain_deny_cancels_and_asks() -> None:
    replies, tools = converse(["freeze my credit card", "no"])
    assert replies[2].action == "cancel" and not replies[2].end_call
    assert tools.calls == []


def test_repeated_gibberish_transfers_to_a_human() -> None:
    replies, tools = converse(["blorf snarg wibble", "purple monkey dishwasher"])
    assert "didn't catch" in replies[1].text and replies[1].action == "repair"
    last = replies[2]
    assert "transfer you" in last.text and last.transferred and last.end_call
    assert tools.calls == [("transfer_to_human", {"reason": "repeated_failures"})]


def test_max_failures_is_a_parameter() -> None:
    replies, _ = converse(["blorf snarg wibble", "qwzx plonk", "zorp"], max_failures=3)
    assert [r.action for r in replies[1:]] == ["repair", "repair", "transfer"]


def test_failures_must_be_consecutive() -> None:
    replies, _ = converse(["blorf snarg wibble", "what's my balance", "zorp"])
    assert replies[3].action == "repair"
    assert "which account" in replies[3].text.lower()  # the repair repeats the question


def test_silence_twice_ends_the_call() -> None:
    replies, tools = converse([SILENCE, SILENCE])
    assert "still there" in replies[1].text and not replies[1].end_call
    assert "Goodbye" in replies[2].text and replies[2].end_call
    assert tools.calls == []


def test_hesitation_never_confirms() -> None:
    replies, tools = converse(["transfer 50 dollars to savings", "uh", "hmm"], max_failures=3)
    assert [r.action for r in replies[2:]] == ["repair", "repair"]
    assert "didn't catch" in replies[2].text and "Is that right?" in replies[2].text
    assert tools.calls == []


def test_silence_repeats_the_pending_question() -> None:
    replies, _ = converse(["freeze my card", SILENCE, "debit"])
    assert "still there" in replies[2].text and "which card" in replies[2].text.lower()
    assert "freeze your debit card" in replies[3].text


def test_request_human() -> None:
    replies, tools = converse(["can i talk to a real person"])
    assert "transfer you" in replies[1].text
    assert replies[1].transferred and replies[1].end_call and replies[1].action == "transfer"
    assert tools.calls == [("transfer_to_human", {"reason": "caller_request"})]
    assert tools.backend.state()["handoff"] == {"reason": "caller_request"}


def test_out_of_scope() -> None:
    replies, tools = converse(["what are your mortgage rates"])
    assert "can only help" in replies[1].text and not replies[1].end_call
    assert tools.calls == []


def test_balance_runs_without_confirmation() -> None:
    replies, tools = converse(["how much is in my checking account", "no thanks"])
    assert "1,200.00 dollars" in replies[1].text and "anything else" in replies[1].text
    assert tools.calls == [("get_balance", {"account": "checking"})]
    assert replies[2].end_call


def test_dispute_with_fuzzy_merchant() -> None:
    replies, tools = converse(["i want to dispute the amazons charge", "correct"])
    assert "dispute the charge from Amazon" in replies[1].text
    assert "89.99 dollar charge from Amazon" in replies[2].text
    assert tools.calls == [("dispute_charge", {"merchant": "Amazon"})]


def test_dispute_asks_for_merchant_and_takes_an_unknown_one() -> None:
    replies, _ = converse(["there's a charge i don't recognize", "it was delta airlines", "yes"])
    assert "which merchant" in replies[1].text.lower()
    assert "charge from Delta Airlines" in replies[2].text
    assert replies[3].action == "tool_failed" and "anything else" in replies[3].text


def test_failed_tool_is_reported_plainly() -> None:
    replies, _ = converse(["transfer 2000 dollars from checking to savings", "yes"])
    assert "insufficient funds in checking" in replies[2].text
    assert replies[2].action == "tool_failed" and "anything else" in replies[2].text


def test_confirm_sensitive_off_runs_at_once() -> None:
    replies, tools = converse(["freeze my debit card"], confirm_sensitive=False)
    assert replies[1].action == "execute" and tools.calls == [("freeze_card", {"card": "debit"})]


def test_two_tasks_in_one_call() -> None:
    lines = ["what's my savings balance", "yes", "freeze my credit card", "yes", "bye"]
    replies, tools = converse(lines)
    assert [name for name, _ in tools.calls] == ["get_balance", "freeze_card"]
    assert replies[-1].end_call


def test_every_reply_is_filled_and_never_says_a_card_number() -> None:
    lines = ["my card number is 4111111111111111 freeze it", "debit", "yes", None, "bye"]
    replies, _ = converse(lines)
    for reply in replies:
        assert reply.action and reply.intent is not None
        assert reply.intent_confidence is not None and isinstance(reply.slots, dict)
        assert "4111111111111111" not in reply.text and "9934" not in reply.text


def test_identity_changes_with_parameters() -> None:
    base = BankingPolicy().identity()
    assert base == BankingPolicy().identity()
    assert base != BankingPolicy(max_failures=3).identity()
    assert base != BankingPolicy(version="1.1").identity()
    assert '"model":' in base


@pytest.mark.parametrize(
    "params",
    [{"training": ["missing"]}, {"max_failures": 0}, {"min_intent_confidence": 2.0}],
)
def test_bad_parameters(params: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        BankingPolicy(**params)
