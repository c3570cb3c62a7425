"""TaskCompletion: did the call leave the world the way the scenario expected?

On a trace the check is deterministic: the final tool state satisfies every outcome predicate of the
scenario and the call was (or was not) handed to a human as expected. No judge model is involved, so
the same trace always gets the same verdict.

Standalone, ``evaluate(response=..., expected_response=...)`` is a text-level match for quick
checks outside a simulation. From the expected response (a goal such as "Refill my inhaler") it
takes the key items: amounts, the domain's entities and its intents, both given by the suite's
``evaluation:`` rules (``entities``, ``intents``). The score is the share of those items found in
the response, both sides normalised by :func:`callgate.evaluators.text.normalize`:

- an intent is found through any of its words ("renewed" can confirm a refill);
- an amount is found when the response names the same value, however written ("$50", "50.00
  dollars" and "fifty dollars" are all 50; "150 dollars" is not 50). In the goal, amounts written
  in digits always count; amounts in words count only with a currency word ("fifty dollars"), so a
  pronoun "one" or a spoken price like "eighty nine ninety nine" is not taken for an amount.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from pydantic import ValidationError

from callgate.errors import UsageError
from callgate.evaluators.base import (
    BatchMixin,
    EvalContext,
    EvalResult,
    Metric,
    result,
)
from callgate.evaluators.expectations import check_predicate
from callgate.evaluators.text import normalize
from callgate.scenarios.model import Expectation
from callgate.traces.model import CallTrace

COMPLETION = Metric(
    "task_completion", "higher", "bool",
    "1 when the final tool state meets every expected outcome and the handoff is as expected",
    1.0, "binary",
)  # fmt: skip
PREDICATES = Metric(
    "outcome_predicates_passed", "higher", "fraction",
    "share of the scenario's outcome predicates the final tool state satisfies", 1.0, "rate",
)  # fmt: skip
SAYS = Metric(
    "expected_responses_said", "higher", "fraction",
    "share of the scenario's agent_says phrases found in some agent reply", 1.0, "rate",
)  # fmt: skip
TEXT_MATCH = Metric(
    "task_text_match", "higher", "fraction",
    "standalone text mode: share of the goal's key items (amounts, the suite's entities and "
    "intents) found "
    "in the response; passes at the evaluator's threshold (default 0.8)", 0.8, "rate",
)  # fmt: skip

# A number in the raw goal, with its currency, as normalize() reads it ("$1,200.00", "50 dollars").
_DIGITS = re.compile(r"[$€£]?\d[\d,]*(?:\.\d+)?(?:\s?(?:dollars?|euros?|%))?")

_ONE_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
)
_TEN_WORDS = "twenty thirty forty fifty sixty seventy eighty ninety"
_ONES = {w: i for i, w in enumerate(_ONE_WORDS.split())}
_TENS = {w: 10 * i for i, w in enumerate(_TEN_WORDS.split(), 2)}
_SCALES = {"thousand": 1_000, "million": 1_000_000}
_MONEY = {"dollar", "dollars", "euro", "euros"}
_CENTS = {"cent", "cents"}


def _cardinal(words: list[str], i: int) -> tuple[int, int]:
    """Read one cardinal number from ``words[i]`` on; returns (value, next index).

    "one hundred twenty three" is one number; "four eight two one" (digits said one by one) and
    "eighty nine ninety nine" are several, because a word that cannot extend the number ends it.
    """
    total = current = 0
    last = ""
    while i < len(words):
        w = words[i]
        if w in _ONES and last not in ("ones", "teens") and not (last == "tens" and _ONES[w] >= 10):
            current += _ONES[w]
            last = "teens" if _ONES[w] >= 10 else "ones"
        elif w in _TENS and last not in ("ones", "teens", "tens"):
            current += _TENS[w]
            last = "tens"
        elif w == "hundred" and last in ("ones", "teens", "tens") and current < 100:
            current *= 100
            last = "hundred"
        elif w in _SCALES and last and last != "scale":
            total, current, last = total + current * _SCALES[w], 0, "scale"
        else:
            break
        i += 1
    return total + current, i


def amounts(text: str) -> list[tuple[float, bool]]:
    """Every number in the normalised text as ``(value, is_money)``: normalize() writes digits as
    words ("$49.99" -> "forty nine dollars ninety nine cents"), so this reads them back."""
    words = normalize(text).split()
    out: list[tuple[float, bool]] = []
    i = 0
    while i < len(words):
        if words[i] not in _ONES and words[i] not in _TENS:
            i += 1
            continue
        whole, i = _cardinal(words, i)
        value, money = float(whole), False
        if i + 1 < len(words) and words[i] == "point" and words[i + 1] in _ONES:
            digits = ""
            while i + 1 < len(words) and _ONES.get(words[i + 1], 10) < 10:
                digits, i = digits + str(_ONES[words[i + 1]]), i + 1
            value, i = float(f"{whole}.{digits}"), i + 1
        if i < len(words) and words[i] in _CENTS:
            value, money, i = value / 100, True, i + 1
        elif i < len(words) and words[i] in _MONEY:
            money, i = True, i + 1
            if i < len(words) and (words[i] in _ONES or words[i] in _TENS):
                cents, after = _cardinal(words, i)
                if after < len(words) and words[after] in _CENTS:
                    value, i = value + cents / 100, after + 1
        out.append((value, money))
    return out


def _words(text: str) -> list[str]:
    return normalize(text).split()


def key_items(
    goal: str, entities: frozenset[str], intents: dict[str, frozenset[str]]
) -> list[tuple[str, str]]:
    """The goal's key items as ``(kind, item)``, in order of kind, without repeats."""
    items: list[tuple[str, str]] = []
    from_digits = [v for span in _DIGITS.findall(goal) for v, _ in amounts(span)]
    in_words = [v for v, money in amounts(goal) if money]
    for value in [*from_digits, *in_words]:
        items.append(("amount", f"{value:.2f}".rstrip("0").rstrip(".")))  # 1200.5, not 1.2e+03
    for word in _words(goal):
        if word in entities:
            items.append(("entity", word))
        for intent, synonyms in intents.items():
            if word in synonyms:
                items.append(("intent", intent))
    return list(dict.fromkeys(items))


def _found(
    kind: str,
    item: str,
    words: set[str],
    values: list[float],
    intents: dict[str, frozenset[str]],
) -> bool:
    if kind == "amount":
        return any(abs(v - float(item)) < 1e-6 for v in values)
    if kind == "intent":
        return bool(intents[item] & words)
    return item in words


class TaskCompletion(BatchMixin):
    name: ClassVar[str] = "TaskCompletion"
    metrics: ClassVar[list[Metric]] = [COMPLETION, PREDICATES, SAYS, TEXT_MATCH]

    # The suite's evaluation rules this evaluator takes as parameters (docs/scenarios.md).
    rules: ClassVar[tuple[str, ...]] = ("entities", "intents")

    def __init__(
        self,
        threshold: float = 0.8,
        entities: Sequence[str] = (),
        intents: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.threshold = float(threshold)  # text mode only; the trace check is all-or-nothing
        # Text mode reads the domain from these: the words a response must echo exactly (which
        # account, which store) and, per intent, the words that express it ("renewed" confirms a
        # refill), since a caller asks in one word and the agent answers in another.
        self.entities = frozenset(normalize(e) for e in entities)
        self.intents = {
            name: frozenset(normalize(w) for w in words) for name, words in (intents or {}).items()
        }

    def params(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "entities": sorted(self.entities),
            "intents": {k: sorted(v) for k, v in sorted(self.intents.items())},
        }

    def score_call(self, call: CallTrace, ctx: EvalContext) -> EvalResult:
        if call.expectation is None:
            resolved = call.imported.resolved if call.imported is not None else None
            if resolved is not None:
                # A production call without labels: its log's own disposition is all there is.
                why = "resolved" if resolved else "not resolved"
                return EvalResult(
                    self.name,
                    float(resolved),
                    resolved,
                    f"task {'completed' if resolved else 'not completed'}: the log says {why}",
                    {m.name: None for m in self.metrics} | {COMPLETION.name: float(resolved)},
                )
            return EvalResult.not_scored(self.name, "no expectation in the trace", self.metrics)
        try:
            expectation = Expectation.model_validate(call.expectation)
        except ValidationError as exc:
            reason = f"expectation does not validate ({exc.error_count()} errors)"
            return EvalResult.not_scored(self.name, reason, self.metrics)
        if call.source == "imported" and not call.final_state and expectation.outcome:
            # An imported log without tool state cannot show the outcome; failing it would blame
            # the agent for a gap in the log.
            return EvalResult.not_scored(self.name, "no final tool state in the log", self.metrics)

        checks: list[dict[str, Any]] = []
        for pred in expectation.outcome:
            ok, why = check_predicate(pred, call.final_state)
            check = pred.model_dump(exclude_defaults=True)
            checks.append({"path": pred.path, "check": check, "passed": ok, "reason": why})
        passed = sum(bool(c["passed"]) for c in checks)
        handoff_ok = call.transferred == expectation.transferred
        said = _phrases_said(expectation.agent_says, call)
        done = passed == len(checks) and handoff_ok and all(said.values())

        problems = [f"{c['path']}: {c['reason']}" for c in checks if not c["passed"]]
        problems += [f"agent never said {p!r}" for p, ok in said.items() if not ok]
        if not handoff_ok:
            problems.append(
                f"transferred: expected {expectation.transferred}, got {call.transferred}"
            )
        summary = f"{passed}/{len(checks)} outcome checks passed"
        if done:
            reason = f"task completed: {summary}, transferred={call.transferred} as expected"
        else:
            reason = f"task not completed: {summary}; " + "; ".join(problems)
        metrics: dict[str, float | None] = {
            COMPLETION.name: 1.0 if done else 0.0,
            PREDICATES.name: passed / len(checks) if checks else None,
            SAYS.name: sum(said.values()) / len(said) if said else None,
        }
        details = {
            "predicates": checks,
            "transferred": {
                "expected": expectation.transferred,
                "actual": call.transferred,
                "ok": handoff_ok,
            },
            "label": expectation.label,
            "agent_says": said,
        }
        return result(self.name, COMPLETION, metrics, reason, details=details)

    def evaluate(
        self,
        *,
        response: str | None = None,
        expected_response: str | None = None,
        call: CallTrace | None = None,
        ctx: EvalContext | None = None,
    ) -> EvalResult:
        """Score a trace (``call=``) or, standalone, a response against the expected response."""
        if call is not None:
            return self.score_call(call, ctx or EvalContext())
        if response is None or expected_response is None:
            raise UsageError(
                "TaskCompletion.evaluate needs call=, or response= and expected_response="
            )
        return self._text_match(response, expected_response)

    def _text_match(self, response: str, goal: str) -> EvalResult:
        items = key_items(goal, self.entities, self.intents)
        if not items:
            reason = "no key items (amounts, entities, intents) in the expected response"
            return EvalResult.not_scored(self.name, reason, self.metrics)
        words, values = set(_words(response)), [v for v, _ in amounts(response)]
        hits = {(k, i): _found(k, i, words, values, self.intents) for k, i in items}
        found = [item for (_, item), ok in hits.items() if ok]
        missing = [item for (_, item), ok in hits.items() if not ok]
        score = len(found) / len(items)
        reason = f"{len(found)}/{len(items)} key items found"
        if missing:
            reason += "; missing: " + ", ".join(missing)
        details = {
            "items": [{"kind": kind, "item": item} for kind, item in items],
            "found": found,
            "missing": missing,
            "threshold": self.threshold,
        }
        # The threshold is a parameter here, so ``passed`` is not left to the metric's default.
        return EvalResult(
            self.name, score, score >= self.threshold, reason, {TEXT_MATCH.name: score}, details
        )


def _phrases_said(phrases: list[str], call: CallTrace) -> dict[str, bool]:
    """Which expected phrases occur (normalised, as whole words) in some spoken agent reply."""
    replies = [f" {normalize(t.reply_text)} " for t in call.agent_turns if not t.discarded]
    return {p: any(f" {normalize(p)} " in r for r in replies) for p in phrases}
