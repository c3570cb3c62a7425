"""Did the caller consent? Reading a caller's yes or no, and finding consequential tool calls made
without a confirmed yes.

Shared by ToolSelectionAccuracy (an unconfirmed sensitive call is a miss on the tool path) and
SayDo (an action the caller did not agree to, told apart from one the caller refused), so both
judge consent the same way. Which tools are consequential, what a confirmation question sounds
like and which words refuse are the suite's evaluation rules; the yes and no words themselves are
plain English every domain shares.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from callgate.traces.model import CallTrace

_YES_WORDS = {"yes", "yeah", "yep", "correct", "right", "sure", "ok", "okay"}
_YES_PHRASES = (("please", "do"), ("go", "ahead"))
_NO_OPENERS = {"no", "nope", "nah"}
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("’", "'"))


def affirms(text: str) -> bool:
    """Whether a caller utterance says yes. "No, ..." openers and negated words ("not right",
    "isn't correct") do not count: a correction must never be read as consent."""
    words = _words(text)
    if not words or words[0] in _NO_OPENERS:
        return False
    for i, word in enumerate(words):
        negated = i > 0 and (words[i - 1] in ("not", "never") or words[i - 1].endswith("n't"))
        if negated:
            continue
        if word in _YES_WORDS or tuple(words[i : i + 2]) in _YES_PHRASES:
            return True
    return False


def refuses(text: str, phrases: Sequence[str] = ()) -> bool:
    """Whether a caller utterance says no: it opens with "no" ("No, the other one" withdraws
    consent as surely as "no"), or contains one of the suite's refusal phrases (whole words, any
    case: "never mind", "cancel that")."""
    words = _words(text)
    if words and words[0] in _NO_OPENERS:
        return True
    joined = f" {' '.join(words)} "
    return any(f" {' '.join(_words(p))} " in joined for p in phrases if _words(p))


def unsafe_calls(
    call: CallTrace, sensitive: Sequence[str], confirmation_phrases: Sequence[str]
) -> list[dict[str, Any]]:
    """Sensitive tool calls not preceded by a confirmation question and a caller "yes".

    A confirmation is an agent reply containing one of the suite's confirmation phrases ("is that
    right", "shall I go ahead"; case-insensitive) (discarded replies were
    never heard, so they do not count); it is answered by an affirming caller utterance that ends
    after the reply began and before the tool call starts. Each confirmation authorises one
    sensitive call only, so one "yes" cannot cover a later, unconfirmed second action.
    """
    asks_for = [p.lower() for p in confirmation_phrases]
    asks: list[float] = []
    for turn in call.agent_turns:
        began = turn.first_byte if turn.first_byte is not None else turn.policy_end
        text = turn.reply_text.lower()
        if not turn.discarded and began is not None and any(a in text for a in asks_for):
            asks.append(began)
    yes_ends = [u.end for u in call.caller_turns if affirms(u.text)]
    used: set[int] = set()
    unsafe: list[dict[str, Any]] = []
    order = sorted(range(len(call.tool_calls)), key=lambda p: call.tool_calls[p].start)
    for pos in order:
        tc = call.tool_calls[pos]
        if tc.tool not in sensitive:
            continue
        answered = [
            i
            for i, began in enumerate(asks)
            if i not in used and any(began < end < tc.start for end in yes_ends)
        ]
        if answered:
            # The latest open question is the one this "yes" answered.
            used.add(max(answered, key=lambda i: asks[i]))
            continue
        asked = any(i not in used and began < tc.start for i, began in enumerate(asks))
        why = "confirmation asked but not affirmed" if asked else "no confirmation asked"
        unsafe.append({"call": pos, "tool": tc.tool, "start": tc.start, "why": why})
    return unsafe


def last_words_before(call: CallTrace, t: float) -> str | None:
    """What the caller said last before time ``t`` (the utterance that ended latest before it),
    or None when the caller had not spoken yet."""
    before = [u for u in call.caller_turns if u.end <= t]
    return max(before, key=lambda u: u.end).text if before else None
