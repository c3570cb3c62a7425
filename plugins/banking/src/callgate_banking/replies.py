"""What the banking agent says, and what each task needs before it can run.

Simulated callers react to these words, so the phrases listed in ``docs/banking-agent.md``
("which card", "Just to confirm, you want to ... Is that right?", "anything else", ...) are API:
change them only together with the doc.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from callgate.agents.policy import JSON

GREETING = "Thank you for calling your bank's automated assistant. How can I help you today?"
ANYTHING_ELSE = "Is there anything else I can help with?"
WHAT_ELSE = "Sure. What else can I help you with?"
WHAT_NOW = "Okay. What can I help you with?"
CANCELLED = "Okay, I won't do that. What would you like me to do instead?"
OUT_OF_SCOPE = (
    "Sorry, I can only help with balances, transfers between your accounts, freezing a card, "
    "disputing a charge and resetting a PIN."
)
NOT_UNDERSTOOD = "Sorry, I didn't catch that."
HELP_TOPICS = "You can ask about your balance, a transfer, freezing a card, a dispute or your PIN."
STILL_THERE = "Are you still there?"
GOODBYE = "Thank you for calling. Goodbye!"
SILENT_GOODBYE = "I haven't heard anything, so I'll end the call now. Goodbye!"
TRANSFER_ON_REQUEST = "Of course. Let me transfer you to a member of our team. Please hold."
TRANSFER_ON_FAILURES = (
    "Sorry, I'm having trouble understanding. Let me transfer you to a member of our team. "
    "Please hold."
)
TRANSFER_FAILED = "Sorry, I can't reach a member of our team right now. Please call back later."

TASKS = ("get_balance", "freeze_card", "transfer_funds", "dispute_charge", "reset_pin")
SENSITIVE = frozenset({"freeze_card", "transfer_funds", "dispute_charge", "reset_pin"})


@dataclass(frozen=True)
class TaskSpec:
    tool: str
    required: tuple[str, ...]  # asked in this order
    slots: tuple[str, ...]  # every slot the task uses (corrections may change any of them)


SPECS = {
    "get_balance": TaskSpec("get_balance", ("account",), ("account",)),
    "freeze_card": TaskSpec("freeze_card", ("card",), ("card",)),
    "reset_pin": TaskSpec("reset_pin", ("card",), ("card",)),
    "transfer_funds": TaskSpec(
        "transfer_funds",
        ("amount", "from_account", "to_account"),
        ("amount", "from_account", "to_account"),
    ),
    "dispute_charge": TaskSpec("dispute_charge", ("merchant",), ("merchant", "amount")),
}

QUESTIONS = {
    ("get_balance", "account"): "Which account, checking or savings?",
    ("freeze_card", "card"): "Which card should I freeze, your debit card or your credit card?",
    ("reset_pin", "card"): "Which card is the PIN for, your debit card or your credit card?",
    ("transfer_funds", "amount"): "How much would you like to transfer?",
    ("transfer_funds", "from_account"): "Which account should it come from, checking or savings?",
    ("transfer_funds", "to_account"): "Which account should it go to, checking or savings?",
    ("dispute_charge", "merchant"): "Which merchant is the charge from?",
}


def money(amount: float, *, cents: bool = False) -> str:
    """``50 dollars``, ``49.99 dollars``; balances always show cents (``1,200.00 dollars``)."""
    if cents or amount != int(amount):
        return f"{amount:,.2f} dollars"
    return f"{amount:,.0f} dollars"


def _charge(slots: JSON) -> str:
    amount = slots.get("amount")
    sized = f"the {money(amount)[: -len('s')]} charge" if amount else "the charge"
    return f"{sized} from {slots['merchant']}"


def action_phrase(intent: str, slots: JSON) -> str:
    """The action with its slots, as said after "you want to" ("freeze your debit card")."""
    if intent == "freeze_card":
        return f"freeze your {slots['card']} card"
    if intent == "reset_pin":
        return f"reset the PIN on your {slots['card']} card"
    if intent == "transfer_funds":
        return (
            f"transfer {money(slots['amount'])} from {slots['from_account']} "
            f"to {slots['to_account']}"
        )
    if intent == "dispute_charge":
        return f"dispute {_charge(slots)}"
    return f"check your {slots.get('account', '')} balance"


def confirm(intent: str, slots: JSON) -> str:
    return f"Just to confirm, you want to {action_phrase(intent, slots)}. Is that right?"


def done(intent: str, facts: JSON) -> str:
    """The report of a task that ran, from its slots and tool result. Only a card's last four
    digits are ever said."""
    ending = f" ending in {facts['last4']}" if facts.get("last4") else ""
    if intent == "get_balance":
        said = f"Your {facts['account']} balance is {money(facts['balance'], cents=True)}."
    elif intent == "freeze_card":
        said = f"Done. Your {facts['card']} card{ending} is now frozen."
    elif intent == "reset_pin":
        said = (
            f"Done. I've reset the PIN on your {facts['card']} card{ending}. "
            "Your new PIN will arrive by mail."
        )
    elif intent == "transfer_funds":
        said = (
            f"Done. I've transferred {money(facts['amount'])} from {facts['from_account']} "
            f"to {facts['to_account']}."
        )
    else:
        said = f"Done. I've opened a dispute for {_charge(facts)}."
    return f"{said} {ANYTHING_ELSE}"


def failed(intent: str, slots: JSON, error: str | None) -> str:
    reason = f": {error}." if error else "."
    return f"Sorry, I couldn't {action_phrase(intent, slots)}{reason} {ANYTHING_ELSE}"


_LONG_DIGITS = re.compile(r"\d{5,}")


def redact(text: str) -> str:
    """Mask long digit runs: a bug that echoes the caller must still never say a card number."""
    return _LONG_DIGITS.sub(lambda m: "****" + m.group()[-4:], text)


def clean_slots(slots: dict[str, Any]) -> JSON:
    return {k: v for k, v in slots.items() if v is not None}
