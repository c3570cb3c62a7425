"""Reading what the agent heard: intents by keyword, and medication, store, day and date of birth.

The input is ASR output: lower-case or not, unpunctuated, with drug names bent out of shape
("lysinopril", "a tor vastatin", "lake view"). Names are therefore matched on a spelling-free form
with :mod:`difflib`, over windows of one to three words, and every extractor returns ``None``
when a slot is absent or ambiguous, so the dialogue asks instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from callgate.errors import UsageError

from callgate_pharmacy.dates import WEEKDAYS, parse_date_of_birth

# The session cannot see the call's tool state, so names are matched against known lists; an
# unknown medication still works as a free-text answer to "which medication?" (the tool matches
# it against the patient's own prescriptions).
DEFAULT_MEDICATIONS = (
    "Lisinopril", "Metformin", "Atorvastatin", "Albuterol", "Amoxicillin", "Sertraline",
    "Levothyroxine", "Omeprazole", "Amlodipine", "Simvastatin", "Losartan", "Gabapentin",
    "Hydrochlorothiazide", "Prednisone", "Warfarin", "Montelukast", "Escitalopram",
    "Pantoprazole",
)  # fmt: skip
DEFAULT_STORES = ("Downtown", "Riverside", "Lakeview")

_TOKEN = re.compile(r"\d+(?:st|nd|rd|th)?|[a-z]+(?:'[a-z]+)?")

# Checked in this order: "cancel my refill" is a cancellation, "is my refill ready" a status
# question and "deliver my refill" a delivery, though all three say "refill". Some entries are how
# Whisper tiny.en heard these words in real calls: "can sell" and "reveal" in espeak's Caribbean
# voice, "ours" in piper's.
_TASK_PHRASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cancel", ("call off", "can sell")),
    ("delivery", ("send it", "send them", "send me", "bring it", "drop it off")),
    ("status", ("where is my", "where's my", "been filled", "been refilled", "check on")),
    ("hours", ("what time",)),
    ("refill", ("ran out", "run out", "running out", "running low", "more of my")),
)
_TASK_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cancel", ("cancel", "cancelled", "canceled", "cancellation")),
    ("delivery", ("deliver", "delivered", "delivery", "mail", "mailed", "ship", "shipped")),
    ("status", ("status", "ready")),
    ("hours", ("hours", "ours", "open", "opens", "close", "closes", "closing")),
    ("refill", ("refill", "refills", "refilled", "renew", "renewal", "reorder", "fill", "reveal")),
)
_PERSON = {"pharmacist", "pharmacists", "human", "person", "someone", "somebody", "representative"}
_PERSON |= {"operator", "agent"}
_ASK_FOR = {"speak", "talk", "connect", "transfer", "get", "want", "need", "put"}
_MEDICAL = {
    "effect", "effects", "interact", "interacts", "interaction", "interactions", "dose",
    "dosage", "overdose", "alcohol", "drink", "pregnant", "pregnancy", "allergic", "allergy",
    "dizzy", "rash", "safe",
}  # fmt: skip
_MEDICAL_PHRASES = ("can i take", "should i take", "okay to take", "ok to take", "missed a dose")
_OUT_OF_SCOPE = {
    "insurance", "copay", "price", "cost", "costs", "pay", "bill", "billing", "vaccine",
    "vaccines", "vaccination", "flu", "shot", "appointment", "covid", "coupon", "job",
}  # fmt: skip
_GOODBYE_PHRASES = ("that's all", "that is all", "that's it", "nothing else", "all set")
_GOODBYE_WORDS = {"bye", "goodbye"}
_YES = {"yes", "yeah", "yep", "yup", "yea", "correct", "right", "sure", "okay", "ok"}
_YES |= {"absolutely", "please"}
_YES_PAIRS = {("go", "ahead"), ("do", "it"), ("that's", "right"), ("that's", "correct")}
_YES_PAIRS |= {("sounds", "good"), ("please", "do")}
_NO = {"no", "nope", "nah", "wrong", "incorrect"}
_FILLERS = {"uh", "um", "oh", "well", "wait", "sorry", "actually", "so", "hmm", "erm"}
_NEGATIONS = {"not", "don't", "dont", "isn't", "never", "without"}


def names_param(value: Any, field: str, default: tuple[str, ...]) -> list[str]:
    """A policy parameter listing names, checked: the defaults when it is not given."""
    if value is None:
        return list(default)
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise UsageError("must be a list of non-empty names", field=field)
    return [v.strip() for v in value]


def tokens(text: str) -> list[str]:
    """Lower-case words and numbers; hyphens and slashes split."""
    cleaned = text.lower().replace("’", "'").replace("-", " ").replace("/", " ")
    return _TOKEN.findall(cleaned)


def squash(text: str) -> str:
    """A spelling-free form, so "lysinopril" and "Lisinopril", "lake view" and "Lakeview" meet."""
    text = re.sub(r"[^a-z0-9]", "", text.lower())
    return text.replace("ph", "f").replace("y", "i").replace("ck", "k")


def similarity(heard: str, name: str) -> float:
    return SequenceMatcher(None, squash(heard), squash(name)).ratio()


def _threshold(name: str, cutoff: float) -> float:
    # Short names need near-exact matches: one wrong letter in five is already a different word.
    return max(cutoff, 0.88) if len(squash(name)) <= 5 else cutoff


def best_match(heard: str, names: Sequence[str], cutoff: float = 0.8) -> str | None:
    """The name a short phrase matches best, if close enough and not tied with another name."""
    scored = sorted(((similarity(heard, n), n) for n in names), reverse=True)
    scored = [(s, n) for s, n in scored if s >= _threshold(n, cutoff)]
    if not scored or (len(scored) > 1 and scored[1][0] == scored[0][0]):
        return None
    return scored[0][1]


_DETERMINERS = {"the", "my", "a", "an", "on", "at", "for", "that", "this"}


def _negated(toks: list[str], i: int) -> bool:
    """Whether the mention at ``toks[i]`` is ruled out: "not (the) Friday", "instead of Friday"."""
    j = i - 1
    while j >= 0 and toks[j] in _DETERMINERS:
        j -= 1
    if j < 0:
        return False
    instead_of = toks[j] == "of" and j > 0 and toks[j - 1] == "instead"
    return toks[j] in _NEGATIONS or toks[j] == "than" or instead_of


def find_name(text: str, names: Sequence[str], cutoff: float = 0.8) -> str | None:
    """The one name of ``names`` said in ``text`` (fuzzily); ``None`` if none, or several."""
    toks = [t for t in tokens(text) if t.isalpha()]
    best: dict[str, tuple[float, int]] = {}
    for name in names:
        width = len(name.split())
        for size in sorted({max(1, width - 1), width, width + 1, width + 2}):
            for i in range(len(toks) - size + 1):
                score = similarity(" ".join(toks[i : i + size]), name)
                if score >= _threshold(name, cutoff) and score > best.get(name, (0.0, 0))[0]:
                    best[name] = (score, i)
    said = {n: si for n, si in best.items() if not _negated(toks, si[1])}
    if len(said) > 1:
        # Overlapping near-misses of one word ("atorvastatin" also looks like "rosuvastatin"):
        # the clearly better match wins; two names said apart are ambiguous.
        ranked = sorted(said.items(), key=lambda kv: kv[1][0], reverse=True)
        (top, (s1, i1)), (_, (s2, i2)) = ranked[0], ranked[1]
        return top if abs(i1 - i2) <= 2 and s1 > s2 else None
    return next(iter(said), None)


_NOT_A_DRUG = {
    "i", "it", "its", "it's", "the", "a", "an", "my", "for", "is", "was", "this", "that", "one",
    "medication", "medicine", "prescription", "pills", "pill", "tablets", "refill", "please",
    "uh", "um", "yes", "yeah", "no", "oh", "well", "called", "think", "me", "of", "and", "to",
    "need", "want", "like", "i'd", "i'm", "some", "more", "thanks", "thank", "you", "again",
    "mg", "milligrams", "inhaler", "cream", "drops", "on", "know", "remember", "sure", "not",
    "what", "which", "hmm", "just", "so", "sorry",
}  # fmt: skip


def drug_phrase(text: str) -> str | None:
    """The content words of an answer to "which medication?", for drugs the policy does not know.

    The tool matches this against the patient's own prescriptions, so a drug missing from the
    policy's list still works.
    """
    words = [t for t in tokens(text) if t.isalpha() and t not in _NOT_A_DRUG]
    return " ".join(words[:2]).title() if 0 < len(words) <= 2 else None


def extract_day(text: str) -> str | None:
    """``today``, ``tomorrow`` or a weekday; ``None`` if none or several are meant."""
    toks = tokens(text)
    if "after tomorrow" in " ".join(toks):
        return None  # not a day the tools take; asking again beats picking tomorrow
    found: list[str] = []
    for i, tok in enumerate(toks):
        word = tok[:-1] if tok.endswith("s") and tok[:-1] in WEEKDAYS else tok
        if word in ("tonight", "today") or toks[i : i + 2] in (["this", "afternoon"],):
            word = "today"
        if word in (*WEEKDAYS, "today", "tomorrow") and not _negated(toks, i):
            found.append(word)
    distinct = list(dict.fromkeys(found))
    return distinct[0] if len(distinct) == 1 else None


def lead(text: str) -> str | None:
    """``affirm``/``deny`` from how the reply opens, where callers put their yes or no."""
    words = [t for t in tokens(text) if t not in _FILLERS]
    if not words:
        return None
    if words[0] in _NO:
        return "deny"
    if words[0] in _YES or tuple(words[:2]) in _YES_PAIRS:
        return "affirm"
    return None


def strip_lead(text: str) -> str:
    """What follows a leading yes/no: "no, make it Saturday" -> "make it saturday"."""
    words = tokens(text)
    while words and words[0] in _YES | _NO | _FILLERS:
        words.pop(0)
    return " ".join(words)


@dataclass(frozen=True)
class Meaning:
    """Everything one utterance says that the dialogue can act on."""

    task: str | None = None
    handoff: str | None = None  # caller_request or medical_question
    lead: str | None = None
    goodbye: bool = False
    out_of_scope: bool = False
    drug: str | None = None
    pharmacy: str | None = None
    day: str | None = None
    date_of_birth: str | None = None

    @property
    def intent(self) -> str | None:
        """The label a trace shows for what was heard."""
        if self.handoff or self.task or self.lead:
            return self.handoff or self.task or self.lead
        return "goodbye" if self.goodbye else "out_of_scope" if self.out_of_scope else None

    def slots(self) -> dict[str, str]:
        found = {"drug": self.drug, "pharmacy": self.pharmacy, "day": self.day}
        return {k: v for k, v in found.items() if v is not None}


def _task(toks: list[str]) -> str | None:
    joined = " ".join(toks)
    for task, phrases in _TASK_PHRASES:
        if any(f" {p} " in f" {joined} " for p in phrases):
            return task
    for task, words in _TASK_WORDS:
        for tok in toks:
            if tok in words or (len(tok) >= 5 and best_match(tok, words, 0.85)):
                return task
    return None


def _handoff(toks: list[str]) -> str | None:
    joined = f" {' '.join(toks)} "
    if _MEDICAL & set(toks) or any(f" {p} " in joined for p in _MEDICAL_PHRASES):
        return "medical_question"
    content = [t for t in toks if t not in _FILLERS and t not in ("a", "the", "please", "now")]
    if _PERSON & set(toks) and (_ASK_FOR & set(toks) or len(content) <= 3):
        return "caller_request"
    return None


def understand(
    text: str, drugs: Sequence[str], stores: Sequence[str], cutoff: float = 0.8
) -> Meaning:
    toks = tokens(text)
    joined = f" {' '.join(toks)} "
    task = _task(toks)
    return Meaning(
        task=task,
        handoff=_handoff(toks),
        lead=lead(text),
        goodbye=bool(_GOODBYE_WORDS & set(toks))
        or any(f" {p} " in joined for p in _GOODBYE_PHRASES),
        out_of_scope=task is None and bool(_OUT_OF_SCOPE & set(toks)),
        drug=find_name(text, drugs, cutoff),
        pharmacy=find_name(text, stores, 0.8),
        day=extract_day(text),
        date_of_birth=parse_date_of_birth(text),
    )
