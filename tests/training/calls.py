"""Hand-built calls for the training-export tests: a card freeze that goes right, goes wrong in
three ways, or carries personal data, with the banking suite's personal-data rules."""

from __future__ import annotations

from typing import Any

import numpy as np

from callgate.speech.audio import Audio
from callgate.traces.model import (
    AgentTurnTrace,
    CallerUtteranceTrace,
    CallTrace,
    PolicyTrace,
    ToolCallTrace,
)
from factories import BANK_RULES, agent, call, caller

PERSONAL_DATA: dict[str, str] = BANK_RULES["personal_data"]
HANDOFF = ["transfer_to_human"]
FREEZE_DEBIT = {"tools": [{"tool": "freeze_card", "args": {"card": "debit"}}]}

# Planted personal data, said as callers say it and as an ASR writes it.
CARD_SPOKEN = "four five five six seven three seven five eight six eight nine nine eight five five"
CARD_DIGITS = "4556 7375 8689 9855"
PIN_SPOKEN = "four eight two one"
DOB_SPOKEN = "March third nineteen eighty"
DOB_NUMERIC = "03/03/1980"


def tool_call(
    index: int, turn: int, name: str, args: dict[str, Any], start: float, **kw: Any
) -> ToolCallTrace:
    result = kw.pop("result", {"ok": True})
    return ToolCallTrace(
        index=index,
        turn=turn,
        tool=name,
        args=args,
        ok=kw.pop("ok", True),
        result=result,
        start=start,
        end=start + 0.1,
        **kw,
    )


def say(
    index: int, text: str, start: float, why: str = "script", **kw: Any
) -> CallerUtteranceTrace:
    u = caller(index, text, start, start + 1.5, why=why)
    return u.model_copy(update=kw)


def hear(
    index: int, heard: str, start: float, reply: str, action: str = "reply", **kw: Any
) -> AgentTurnTrace:
    """An agent turn answering the caller's words at ``start`` (what the ASR made of them)."""
    reference = kw.pop("reference", heard)
    return agent(
        index,
        reply,
        heard=(start, start + 1.5),
        asr=heard,
        reference=reference,
        policy=PolicyTrace(action=action),
        **kw,
    )


def greet() -> AgentTurnTrace:
    return agent(0, "Hello, how can I help?", trigger="start", policy=PolicyTrace(action="greet"))


def freeze_call(card: str = "debit", *, made: bool = True, **kw: Any) -> CallTrace:
    """Greeting; the caller is misheard once (a repair), repeats while the agent talks (an
    interruption), goes quiet (silence), says yes; the agent freezes ``card`` (or, with
    ``made=False``, says goodbye without calling anything)."""
    calls = [tool_call(0, 4, "freeze_card", {"card": card}, 12.2)] if made else []
    turns = [
        greet(),
        hear(1, "fees my debit card", 2.0, "Sorry, I didn't catch that.", "repair"),
        hear(
            2,
            "freeze my debit card",
            5.0,
            "Freeze your debit card, is that right?",
            "confirm",
            interrupted=True,
        ),
        agent(3, "Are you still there?", trigger="silence", policy=PolicyTrace(action="reprompt")),
        hear(
            4,
            "yes",
            11.0,
            "Done." if made else "Goodbye!",
            "execute",
            tool_calls=[0] if made else [],
        ),
    ]
    callers = [
        say(0, "freeze my debit card", 2.0),
        say(1, "freeze my debit card", 5.0, why="repeat", interrupting=True),
        say(2, "yes", 11.0, why="reaction:0"),
    ]
    base: dict[str, Any] = {
        "agent_turns": turns,
        "caller_turns": callers,
        "tool_calls": calls,
        "expectation": FREEZE_DEBIT,
    }
    base.update(kw)
    return call(**base)


def personal_call(**kw: Any) -> CallTrace:
    """A caller reading out a card number, a PIN and a birth date; a tool takes the birth date and
    answers with the card number."""
    turns = [
        greet(),
        hear(1, f"my card number is {CARD_SPOKEN}", 2.0, "Thanks. And your PIN?"),
        hear(2, f"my pin is {PIN_SPOKEN}", 5.0, "And your date of birth?"),
        hear(
            3,
            f"I was born on {DOB_SPOKEN}",
            8.0,
            "Thank you, you are verified.",
            tool_calls=[0],
        ),
        hear(4, "what's my balance", 11.0, "Your balance is 1,200.00 dollars."),
    ]
    callers = [
        say(0, f"My card number is {CARD_DIGITS}.", 2.0),
        say(1, f"My PIN is {PIN_SPOKEN}.", 5.0),
        say(2, f"I was born on {DOB_SPOKEN}.", 8.0),
        say(3, "What's my balance?", 11.0),
    ]
    check = tool_call(
        0,
        3,
        "verify_identity",
        {"date_of_birth": DOB_NUMERIC},
        9.7,
        result={"verified": True, "card_number": CARD_DIGITS},
    )
    base: dict[str, Any] = {
        "agent_turns": turns,
        "caller_turns": callers,
        "tool_calls": [check],
        "expectation": {
            "tools": [{"tool": "verify_identity", "args": {"date_of_birth": {"any": True}}}]
        },
    }
    base.update(kw)
    return call(**base)


def tone(seconds: float, seed: int = 0) -> Audio:
    rng = np.random.default_rng(seed)
    return Audio((rng.standard_normal(int(seconds * 16000)) * 0.05).astype(np.float32), 16000)
