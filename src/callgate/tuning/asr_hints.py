"""Tuning job ``asr-hints``: hint the agent's ASR with the domain terms it loses on dev calls.

1. Mine the terms the ASR substituted or dropped in failed dev calls (:mod:`asr_terms`).
2. Build two hint sets: the terms as a vocabulary (whisper's hotwords), and the vocabulary plus a
   priming prompt made of the callers' own dev sentences that mention them.
3. Re-transcribe a seeded sample of dev turns, from the audio the agent heard, with the current
   hints and with each new set. Accuracy must rise on turns that contain a hinted term, and must
   not fall (beyond ``tolerance``) on turns that contain none: hints that bias the ASR towards
   the domain at everyone else's expense are over-biased, and are not proposed. The sets are
   measured out of fold (:mod:`callgate.tuning.folds`): built from half the dev scenarios,
   heard on the other half's turns, both ways; the candidate's set is built from all of them.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from callgate.errors import UsageError
from callgate.evaluators.text import Spellings, corpus_wer
from callgate.speech.protocols import ASRHints
from callgate.tuning.asr_terms import (
    HeardTurn,
    contains_any,
    domain_vocabulary,
    heard_turns,
    missed_terms,
    priming_sentences,
)
from callgate.tuning.folds import two_folds
from callgate.tuning.jobs import Proposal, TuneCall, TuneContext, require_agent
from callgate.tuning.retranscribe import transcripts


class ASRHintsJob:
    def __init__(
        self,
        max_terms: int = 12,
        min_misses: int = 2,
        prompt_words: int = 40,
        sample: int = 160,
        tolerance: float = 0.01,
    ) -> None:
        if max_terms < 1 or min_misses < 1 or prompt_words < 0 or sample < 10:
            raise UsageError(
                "max_terms and min_misses must be at least 1, prompt_words at least 0, sample at "
                "least 10",
                field="--param",
            )
        if not 0.0 <= tolerance < 1.0:
            raise UsageError("tolerance must be in [0, 1)", field="--param")
        self.max_terms = max_terms
        self.min_misses = min_misses
        self.prompt_words = prompt_words
        self.sample = sample
        self.tolerance = tolerance

    def check(self, agent: dict[str, Any]) -> None:
        require_agent(agent, "asr-hints tunes the pipeline agent's asr.hints")

    def propose(self, ctx: TuneContext) -> Proposal:
        spellings = Spellings(ctx.rules.spellings)
        hints = ctx.agent.get("asr", {}).get("hints", {})
        old_vocabulary = list(hints.get("vocabulary", []))
        base = ASRHints(tuple(old_vocabulary), hints.get("prompt", ""))
        terms, prompt, misses = self._build(ctx, ctx.calls, old_vocabulary)
        figures: dict[str, Any] = {
            "failed_dev_calls": len(ctx.failed()),
            "missed_terms": dict(misses.most_common(30)),
        }
        if not terms:
            return Proposal(
                rationale=[
                    f"no domain term was lost at least {self.min_misses} times in "
                    f"{len(ctx.failed())} failed dev calls: nothing to hint"
                ],
                figures=figures,
            )
        measured = self._measure(ctx, base, old_vocabulary, spellings)
        figures.update({"terms": terms, "prompt": prompt, "wer": measured})
        options = {
            "vocabulary": ASRHints((*old_vocabulary, *terms), base.prompt),
            "vocabulary+prompt": ASRHints((*old_vocabulary, *terms), prompt or base.prompt),
        }
        return self._choose(terms, options, measured, figures)

    def _build(
        self, ctx: TuneContext, calls: list[TuneCall], old_vocabulary: list[str]
    ) -> tuple[list[str], str, Counter[str]]:
        """The terms lost in these calls' failures and a prompt of their callers' sentences."""
        traces = [c.trace for c in calls]
        failed = heard_turns(c.trace for c in calls if c.scores is not None and c.scores.failed)
        vocabulary = domain_vocabulary(ctx.rules, traces)
        misses = missed_terms(failed, vocabulary, Spellings(ctx.rules.spellings))
        known = {w.lower() for w in old_vocabulary}
        ranked = [w for w, n in misses.most_common() if n >= self.min_misses and w not in known]
        terms = ranked[: self.max_terms]
        prompt = " ".join(priming_sentences(heard_turns(traces), terms, self.prompt_words))
        return terms, prompt, misses

    def _measure(
        self,
        ctx: TuneContext,
        base: ASRHints,
        old_vocabulary: list[str],
        spellings: Spellings,
    ) -> dict[str, dict[str, Any]]:
        """WER of the current hints and of each new set, with and without a hinted term, out of
        fold: hints built from one half of the dev scenarios, heard on the other half's turns."""
        folds = two_folds((c.trace.scenario_id for c in ctx.calls), ctx.seed)
        pairs: dict[str, dict[bool, list[tuple[str, str]]]] = {}
        for k, test in enumerate(folds):
            train = [c for c in ctx.calls if c.trace.scenario_id not in test]
            terms, prompt, _ = self._build(ctx, train, old_vocabulary)
            configs = {
                "current": base,
                "vocabulary": ASRHints((*old_vocabulary, *terms), base.prompt),
                "vocabulary+prompt": ASRHints((*old_vocabulary, *terms), prompt or base.prompt),
            }
            tested = heard_turns(c.trace for c in ctx.calls if c.trace.scenario_id in test)
            sample = self._sample(tested, set(terms), ctx.seed + k, self.sample // 2)
            blocks = {
                name: {**ctx.agent.get("asr", {}), "hints": hints_spec(hints)}
                for name, hints in configs.items()
            }
            heard_by = transcripts(ctx, blocks, sample, f"asr-hints: fold {k + 1}/2")
            for name, heard in heard_by.items():
                for t, text in zip(sample, heard, strict=True):
                    if text is not None:
                        pair = (spellings(t.reference), spellings(text))
                        has = contains_any(t.reference, set(terms))
                        pairs.setdefault(name, {True: [], False: []})[has].append(pair)
        out: dict[str, dict[str, Any]] = {}
        for name, groups in pairs.items():
            out[name] = {
                "with_terms": corpus_wer(groups[True], normalized=True) if groups[True] else None,
                "without_terms": (
                    corpus_wer(groups[False], normalized=True) if groups[False] else None
                ),
                "turns_with_terms": len(groups[True]),
                "turns_without_terms": len(groups[False]),
            }
        return out

    def _sample(
        self, turns: list[HeardTurn], terms: set[str], seed: int, size: int
    ) -> list[HeardTurn]:
        """Up to half the sample from turns with a hinted term, the rest from turns without."""
        rng = np.random.default_rng([seed, 0xA5])
        with_terms = [t for t in turns if contains_any(t.reference, terms)]
        without = [t for t in turns if not contains_any(t.reference, terms)]
        take_with = min(len(with_terms), max(size // 2, size - len(without)))
        take_without = min(len(without), size - take_with)

        def pick(pool: list[HeardTurn], k: int) -> list[HeardTurn]:
            idx = sorted(rng.choice(len(pool), size=k, replace=False).tolist()) if k else []
            return [pool[i] for i in idx]

        return pick(with_terms, take_with) + pick(without, take_without)

    def _choose(
        self,
        terms: list[str],
        options: dict[str, ASRHints],
        measured: dict[str, dict[str, Any]],
        figures: dict[str, Any],
    ) -> Proposal:
        cur = measured["current"]
        verdicts: list[str] = []
        best: tuple[float, str] | None = None
        for name in options:
            m = measured[name]
            gain = _minus(cur["with_terms"], m["with_terms"])
            bias = _minus(m["without_terms"], cur["without_terms"])
            verdict = (
                f"{name}: WER with a hinted term {_f(cur['with_terms'])} -> {_f(m['with_terms'])}"
                f" ({m['turns_with_terms']} turns), without {_f(cur['without_terms'])} -> "
                f"{_f(m['without_terms'])} ({m['turns_without_terms']} turns)"
            )
            if bias is None:
                verdicts.append(verdict + ": over-biasing not measurable (no turn without a term)")
            elif bias > self.tolerance:
                verdicts.append(verdict + f": over-biased (+{bias:.3f} > {self.tolerance})")
            elif gain is None or gain <= 0:
                verdicts.append(verdict + ": no gain")
            else:
                verdicts.append(verdict + ": eligible")
                if best is None or gain > best[0]:
                    best = (gain, name)
        figures["verdicts"] = verdicts
        if best is None:
            return Proposal(
                rationale=[f"no hint set helped without over-biasing: {'; '.join(verdicts)}"],
                figures=figures,
            )
        chosen = options[best[1]]
        figures["chosen"] = best[1]
        return Proposal(
            patch={
                "asr": {"hints": {"vocabulary": list(chosen.vocabulary), "prompt": chosen.prompt}}
            },
            rationale=[
                f"hint {len(terms)} terms the ASR lost on failed dev calls ({', '.join(terms)})"
                f" as {best[1]}",
                *verdicts,
            ],
            figures=figures,
        )


def hints_spec(hints: ASRHints) -> dict[str, Any]:
    """The ``asr.hints`` block of a variant for these hints."""
    return {"vocabulary": list(hints.vocabulary), "prompt": hints.prompt}


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _f(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"
