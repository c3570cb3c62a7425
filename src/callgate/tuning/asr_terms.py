"""Mine the words ASR loses on failed dev calls, and the dev sentences that carry them.

A term is a word of what the caller really said that the agent's ASR substituted or dropped in a
failed call. Only the suite's domain vocabulary counts when it has one (its entities, intent
words, lexicon and spellings, and the critical entities of the dev calls): a miss on "the" is
not something a hint list can fix. Without any domain vocabulary, content words are taken.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from callgate.evaluators.text import Spellings, normalize, word_errors
from callgate.scenarios.evaluation import EvaluationRules
from callgate.traces.model import AgentTurnTrace, CallTrace

# Function words no hint should ever boost (used only when the suite names no domain words).
_FUNCTION_WORDS = frozenset(
    " ".join(
        [
            "a an and are as at be but by can could did do does for from had has have he her his",
            "how i i'd i'll i'm i've if in is it it's its just like me my no not of on or our",
            "please she so that the their them then there they this to uh um up us was we what",
            "when where which who will with would yes you your yeah okay ok hi hello thanks thank",
        ]
    ).split()
)


@dataclass(frozen=True)
class HeardTurn:
    """One agent turn that heard the caller: the reference, the ASR text and where the audio is."""

    call: CallTrace
    turn: AgentTurnTrace
    reference: str
    hypothesis: str


def heard_turns(calls: Iterable[CallTrace]) -> list[HeardTurn]:
    out = []
    for call in calls:
        for turn in call.agent_turns:
            if turn.asr is None or not (turn.reference_text or "").strip():
                continue
            out.append(HeardTurn(call, turn, turn.reference_text or "", turn.asr.text))
    return out


def domain_vocabulary(rules: EvaluationRules, calls: Iterable[CallTrace]) -> set[str]:
    words: set[str] = set()
    phrases: list[str] = [*rules.entities, *rules.lexicon, *rules.spellings]
    phrases += [w for ws in rules.intents.values() for w in ws]
    for call in calls:
        phrases += call.critical_entities
        phrases += [e for u in call.caller_turns for e in u.entities]
    for phrase in phrases:
        words.update(normalize(phrase).split())
    return {w for w in words if _is_word(w)}


def missed_terms(
    turns: Iterable[HeardTurn], vocabulary: set[str], spellings: Spellings
) -> Counter[str]:
    """How often each term of what the caller said was substituted or dropped by the ASR."""
    misses: Counter[str] = Counter()
    for t in turns:
        errors = word_errors(spellings(t.reference), spellings(t.hypothesis), normalized=True)
        for op in errors.alignment:
            if op.op in ("substitute", "delete") and op.ref is not None:
                word = op.ref
                if (word in vocabulary) if vocabulary else _is_content(word):
                    misses[word] += 1
    return misses


def priming_sentences(turns: Iterable[HeardTurn], terms: list[str], max_words: int) -> list[str]:
    """Caller sentences that together mention the most terms (greedy cover), within a budget.

    Whisper is primed best by text like what it is about to hear, so the prompt is made of the
    callers' own dev sentences rather than a bare word list.
    """
    pool = sorted({t.reference.strip() for t in turns})
    chosen: list[str] = []
    left = set(terms)
    words = 0
    while left and pool:
        covers = {s: len(left & set(normalize(s).split())) for s in pool}
        best = max(pool, key=lambda s: (covers[s], -len(s), s))
        size = len(best.split())
        if covers[best] == 0 or words + size > max_words:
            break
        chosen.append(best)
        words += size
        left -= set(normalize(best).split())
        pool.remove(best)
    return chosen


def contains_any(reference: str, terms: set[str]) -> bool:
    return bool(terms & set(normalize(reference).split()))


def _is_word(word: str) -> bool:
    return word.isalpha() or "'" in word


def _is_content(word: str) -> bool:
    return _is_word(word) and len(word) >= 3 and word not in _FUNCTION_WORDS
