"""Per-turn text scoring speed: what ASRAccuracy and TTSAccuracy run, against jiwer, in one run.

Both evaluators score each turn with ``callgate.evaluators.turn_text.compare_turn``: normalise both
texts (``normalize``, with its cache), align the words (rapidfuzz opcodes over word ids) into the
substituted, deleted and inserted words, count character errors (ASR only: a distance) and check
the turn's critical entities. This times that function on seeded (reference, hypothesis) turn
pairs that look like ASR output on banking calls (5-15 words, 10-30% of the words substituted,
deleted or inserted, amounts written as digits on one side and words on the other; entities: two
scenario words plus the turn's amount), against jiwer doing the same work:

(a) callgate, ASRAccuracy's turn: ``compare_turn(ref, hyp, entities, chars=True)``, with the
    normaliser's caches cleared before every timed pass (cold: each distinct text is normalised
    once); also TTSAccuracy's turn (no characters), ASRAccuracy's turn with a warm cache, and
    the turn scored with the full alignments (``word_errors`` + ``char_errors`` +
    ``entity_hits``, what ``ASRAccuracy.evaluate`` runs on one recording);
(b) jiwer with its own normalisation (lower case, contractions, punctuation, spaces as a
    ``Compose`` chain): ``process_words`` and ``process_characters`` on the raw texts, with the
    substituted, deleted and inserted words read off its alignment;
(c) jiwer on text callgate normalised beforehand (not timed): the same calls, default transforms.

jiwer has no entity check, so (b) and (c) do a little less than (a). Prints each time per pass,
per 100k turns and per turn, the ratios callgate / jiwer, and whether the goal (a) <= (b) is met.
Before timing it checks, on every pair, that callgate's WER, CER and substituted, deleted and
inserted words equal jiwer's on the same normalised text, and equal those of the full
alignments, entity hits included. Every time is the best of ``--repeat`` passes.

Usage: python benchmarks/wer.py [--pairs 20000] [--seed 7] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from collections.abc import Callable

import jiwer

from callgate.evaluators import text
from callgate.evaluators.text import char_errors, entity_hits, normalize, word_errors
from callgate.evaluators.turn_text import TurnText, compare_turn

Pairs = list[tuple[str, str]]

WORDS = (  # noqa: SIM905 (a word list reads better as text)
    "i want to freeze my debit card credit account balance check savings checking transfer send "
    "money pay bill please the a to from for on it is was yes no thanks hello hi can you help me "
    "with lost stolen report fraud charge dispute transaction amazon walmart netflix uber "
    "starbucks last week yesterday today pin reset change limit overdraft fee fees statement "
    "deposit branch open close hold agent human representative speak talk again sorry what where "
    "when how much"
).split()
AMOUNTS = ("$50", "$1,200.50", "$49.99", "20 dollars", "5%", "3rd", "$300", "1st", "15")
# Plausible mishearings: ASR substitutions are mostly sound-alikes, not random words.
CONFUSIONS = {
    "freeze": ("fees", "free", "breeze"),
    "card": ("cart", "car", "cards"),
    "debit": ("debt", "that it"),
    "fees": ("freeze", "peas"),
    "send": ("sent", "spend"),
    "balance": ("balanced", "ballots"),
    "check": ("cheque", "chuck"),
    "pay": ("play", "pay a"),
    "transfer": ("transfers", "trans fur"),
    "fraud": ("frog", "fraught"),
}


def make_pairs(n: int, seed: int) -> Pairs:
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        ref = [rng.choice(WORDS) for _ in range(rng.randint(5, 15))]
        if rng.random() < 0.4:
            ref[rng.randrange(len(ref))] = rng.choice(AMOUNTS)
        rate, hyp = rng.uniform(0.10, 0.30), []
        for word in ref:
            roll = rng.random()
            if roll >= rate:
                hyp.append(word)
            elif roll < rate * 0.6:  # substitution: a sound-alike when we have one
                hyp.append(rng.choice(CONFUSIONS.get(word) or WORDS))
            elif roll < rate * 0.8:  # insertion after the word
                hyp += [word, rng.choice(WORDS)]
            # else: deletion
        pairs.append((" ".join(ref), " ".join(hyp)))
    return pairs


CRITICAL = ("freeze", "debit card")  # a scenario's critical entities, checked on every turn
Turns = list[tuple[str, str, list[str]]]  # (reference, hypothesis, entities)
Edits = tuple[list[tuple[str, str]], list[str], list[str]]  # substituted, deleted, inserted

_CLEANUP = [jiwer.ToLowerCase(), jiwer.ExpandCommonEnglishContractions(), jiwer.RemovePunctuation()]
_CLEANUP += [jiwer.RemoveMultipleSpaces(), jiwer.Strip()]
JIWER_WORDS = jiwer.Compose([*_CLEANUP, jiwer.ReduceToListOfListOfWords()])
JIWER_CHARS = jiwer.Compose([*_CLEANUP, jiwer.ReduceToListOfListOfChars()])


def with_entities(pairs: Pairs) -> Turns:
    """Each turn's entities: the scenario's plus the amount the caller said, if any."""
    return [(r, h, [*CRITICAL, *(a for a in AMOUNTS if a in r)]) for r, h in pairs]


def jiwer_edits(out: jiwer.WordOutput) -> Edits:
    ref, hyp = out.references[0], out.hypotheses[0]
    subs: list[tuple[str, str]] = []
    dels: list[str] = []
    ins: list[str] = []
    for c in out.alignments[0]:
        if c.type == "substitute":
            i, j = slice(c.ref_start_idx, c.ref_end_idx), slice(c.hyp_start_idx, c.hyp_end_idx)
            subs += zip(ref[i], hyp[j], strict=True)
        elif c.type == "delete":
            dels += ref[c.ref_start_idx : c.ref_end_idx]
        elif c.type == "insert":
            ins += hyp[c.hyp_start_idx : c.hyp_end_idx]
    return subs, dels, ins


def jiwer_turn(
    ref: str, hyp: str, words: jiwer.Compose = JIWER_WORDS, chars: jiwer.Compose = JIWER_CHARS
) -> tuple[float, float, Edits]:
    w = jiwer.process_words(ref, hyp, words, words)
    c = jiwer.process_characters(ref, hyp, chars, chars)
    return w.wer, c.cer, jiwer_edits(w)


def clear_caches() -> None:
    normalize.cache_clear()
    text._spoken.cache_clear()  # amounts read as words


def full_alignments(ref: str, hyp: str, entities: list[str]) -> tuple[object, ...]:
    """The same turn scored with the full word and character alignments (as ``evaluate`` does)."""
    we, ce = word_errors(ref, hyp), char_errors(ref, hyp)
    deleted = [a.ref for a in we.alignment if a.op == "delete"]
    inserted = [a.hyp for a in we.alignment if a.op == "insert"]
    edits = (we.substitution_pairs(), deleted, inserted)
    return we.wer, ce.cer, edits, entity_hits(entities, ref, hyp)


def check(turns: Turns) -> None:
    """Exit unless callgate agrees with jiwer and with the full alignments on every turn."""
    for r, h, ents in turns:
        ours = compare_turn(r, h, ents, chars=True)
        edits = (ours.words.substituted, ours.words.deleted, ours.words.inserted)
        theirs = jiwer_turn(normalize(r), normalize(h), jiwer.wer_default, jiwer.cer_default)
        if (
            ours.wer is None
            or ours.cer is None
            or abs(ours.wer - theirs[0]) > 1e-9
            or abs(ours.cer - theirs[1]) > 1e-9
            or edits != theirs[2]
        ):
            sys.exit(f"callgate {ours} and jiwer {theirs} disagree on {r!r} / {h!r}")
        full = full_alignments(r, h, ents)
        if (ours.wer, ours.cer, edits, ours.entities) != full:
            sys.exit(f"compare_turn {ours} and the full alignments {full} differ on {r!r} / {h!r}")


def best_of(repeat: int, fn: Callable[[], object], cold: bool = False) -> float:
    times = []
    for _ in range(repeat):
        if cold:
            clear_caches()
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n, scale = args.pairs, 100_000 / args.pairs

    turns = with_entities(make_pairs(n, args.seed))
    check(turns)
    normalised = [(normalize(r), normalize(h)) for r, h, _ in turns]

    def asr_turns() -> list[TurnText]:
        return [compare_turn(r, h, ents, chars=True) for r, h, ents in turns]

    def tts_turns() -> list[TurnText]:
        return [compare_turn(r, h, ents) for r, h, ents in turns]

    def full() -> list[tuple[object, ...]]:
        return [full_alignments(r, h, ents) for r, h, ents in turns]

    def jiwer_own() -> list[tuple[float, float, Edits]]:
        return [jiwer_turn(r, h) for r, h, _ in turns]

    def jiwer_prenormalised() -> list[tuple[float, float, Edits]]:
        return [jiwer_turn(r, h, jiwer.wer_default, jiwer.cer_default) for r, h in normalised]

    t_asr = best_of(args.repeat, asr_turns, cold=True)
    t_tts = best_of(args.repeat, tts_turns, cold=True)
    t_full = best_of(args.repeat, full, cold=True)
    asr_turns()  # fill the caches
    t_warm = best_of(args.repeat, asr_turns)
    t_own = best_of(args.repeat, jiwer_own)
    t_pre = best_of(args.repeat, jiwer_prenormalised)
    words = sum(len(r.split()) for r, _ in normalised) / n

    def row(label: str, seconds: float) -> None:
        us = seconds / n * 1e6
        print(f"  {label:<50} {seconds:7.3f} s  {seconds * scale:7.3f} s/100k  {us:6.2f} us/turn")

    print(f"{n:,} turns, {words:.1f} normalised reference words on average, seed {args.seed}, "
          f"best of {args.repeat}; WER, CER and edits agree with jiwer on every turn")  # fmt: skip
    print("(a) callgate, compare_turn (normalise, align, edits, entities)")
    row("ASRAccuracy's turn, chars=True, cold cache", t_asr)
    row("TTSAccuracy's turn, no chars, cold cache", t_tts)
    row("ASRAccuracy's turn, warm cache", t_warm)
    row("full alignments (word_ + char_errors), cold cache", t_full)
    print("(b) jiwer, own normalisation chain + process_words + process_characters")
    row("raw texts", t_own)
    print("(c) jiwer, process_words + process_characters")
    row("text callgate normalised beforehand (not timed)", t_pre)
    ratios = f"(a) ASR cold / (b) {t_asr / t_own:.3f}, (a) ASR cold / (c) {t_asr / t_pre:.3f}"
    print(f"ratio callgate / jiwer: {ratios}, (a) ASR warm / (c) {t_warm / t_pre:.3f}")
    verdict = "met" if t_asr <= t_own else "NOT met"
    print(f"goal, the evaluator path at or below jiwer's time ((a) ASR cold <= (b)): {verdict}")


if __name__ == "__main__":
    main()
