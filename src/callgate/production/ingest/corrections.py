"""Which caller turns repeat or correct what the caller said before, when a log does not say.

A live call has no script to tell a repeat from a new request, so this reads the words: a caller
turn is a correction when it opens by contradicting the agent ("no, I said ...", "that's not what I
said", "I said ...") or when it says much the same as the caller's previous turn (at least
:data:`SAME_WORDS` of its content words were in that turn, and it has at least two): the caller had
to say it again. Half, not more: a misheard turn shares only some words with its repeat ("fees my
card", then "freeze my card"), and each turn is compared both as heard and as really said when the
log has a reference. A short answer ("yes", "no") is neither. A log's own ``correction`` flag wins.
"""

from __future__ import annotations

import re

from callgate.evaluators.text import tokens

SAME_WORDS = 0.5
_OPENERS = re.compile(
    r"^(?:no[,.!]?\s+)?(?:i said|i did not say|i didn't say|that is not what i said|"
    r"that's not what i said|not \w+[,.]? i said|you misheard|wrong)\b",
    re.IGNORECASE,
)
# Words every request says: two turns sharing only these are not the same request.
_FILLER_WORDS = (
    "a an the i i'm my me to is it of for and please can could you your would like want uh um "
    "yes no yeah okay ok so just on in at this that"
)
_FILLER = frozenset(_FILLER_WORDS.split())


def content_words(text: str) -> set[str]:
    return {w for w in tokens(text) if w not in _FILLER}


def is_correction(texts: list[str], previous: list[str]) -> bool:
    """``texts``: the turn as heard and as said (when known); ``previous``: the turn before."""
    if any(_OPENERS.match(t.strip()) for t in texts):
        return True
    return any(_same(t, p) for t in texts for p in previous)


def _same(text: str, previous: str) -> bool:
    now, before = content_words(text), content_words(previous)
    if len(now) < 2 or not before:
        return False
    return len(now & before) / len(now) >= SAME_WORDS
