"""Per-turn WER and CER speed: callgate's bulk-scoring path against jiwer, side by side.

Generates seeded (reference, hypothesis) turn pairs that look like ASR output on banking calls
(5-15 words, 10-30% of the words substituted, deleted or inserted, amounts written as digits on
one side and words on the other), normalises every text once with ``callgate.evaluators.text``
(timed and printed on its own: it is not part of the comparison), then times on the same
normalised pairs:

(a) jiwer alone, per pair: both ways jiwer gives a per-pair WER and CER are timed,
    ``jiwer.wer`` + ``jiwer.cer`` and ``jiwer.process_words`` + ``jiwer.process_characters``, and
    the cheaper one is the baseline (a jiwer call on lists gives only the corpus rate);
(b) callgate's ``wer_cer_only(ref, hyp, normalized=True)``, the path evaluators use in bulk;

and prints both times and the ratio callgate/jiwer (goal <= 1.5, lower is better), plus the time
of full word alignments (``word_errors``) and of word + character alignments. Every timing is the
best of ``--repeat`` runs; times are also scaled to 100k pairs. WER and CER from (a) and (b) are
checked to agree on every pair.

Usage: python benchmarks/wer.py [--pairs 100000] [--seed 7] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from collections.abc import Callable

import jiwer

from callgate.evaluators.text import char_errors, normalize, wer_cer_only, word_errors

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


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n, scale = args.pairs, 100_000 / args.pairs

    raw = make_pairs(n, args.seed)
    normalize.cache_clear()  # a cold cache: time the normaliser itself
    t0 = time.perf_counter()
    pairs = [(normalize(r), normalize(h)) for r, h in raw]
    t_norm = time.perf_counter() - t0

    def jiwer_wer_cer() -> list[tuple[float, float]]:
        return [(jiwer.wer(r, h), jiwer.cer(r, h)) for r, h in pairs]

    def jiwer_process() -> list[tuple[float, float]]:
        return [
            (jiwer.process_words(r, h).wer, jiwer.process_characters(r, h).cer) for r, h in pairs
        ]

    def callgate_fast() -> list[tuple[float | None, float | None]]:
        return [wer_cer_only(r, h, normalized=True) for r, h in pairs]

    def callgate_words() -> None:
        for r, h in pairs:
            word_errors(r, h, normalized=True)

    def callgate_both() -> None:
        for r, h in pairs:
            word_errors(r, h, normalized=True)
            char_errors(r, h, normalized=True)

    for (r, h), ours, theirs in zip(pairs, callgate_fast(), jiwer_wer_cer(), strict=True):
        if (
            ours[0] is None
            or ours[1] is None
            or abs(ours[0] - theirs[0]) > 1e-9
            or abs(ours[1] - theirs[1]) > 1e-9
        ):
            sys.exit(f"callgate {ours} and jiwer {theirs} disagree on {r!r} / {h!r}")

    t_jw = best_of(args.repeat, jiwer_wer_cer)
    t_jp = best_of(args.repeat, jiwer_process)
    t_cg = best_of(args.repeat, callgate_fast)
    t_words = best_of(args.repeat, callgate_words)
    t_both = best_of(args.repeat, callgate_both)
    baseline, name = min((t_jw, "jiwer.wer + jiwer.cer"), (t_jp, "process_words + _characters"))
    words = sum(len(r.split()) for r, _ in pairs) / n

    def row(label: str, seconds: float) -> None:
        us = seconds / n * 1e6
        print(f"  {label:<44} {seconds:8.3f} s  {seconds * scale:8.3f} s/100k  {us:7.2f} us/pair")

    print(f"{n:,} pairs, {words:.1f} reference words on average, seed {args.seed}, "
          f"best of {args.repeat}; WER/CER agree with jiwer on every pair")  # fmt: skip
    row("normalise both sides once (cold cache)", t_norm)
    print("(a) jiwer, per pair WER + CER")
    row("jiwer.wer + jiwer.cer", t_jw)
    row("jiwer.process_words + process_characters", t_jp)
    print("(b) callgate, per pair WER + CER")
    row("wer_cer_only(normalized=True)", t_cg)
    print(f"ratio callgate / jiwer ({name}): {t_cg / baseline:.3f}  (goal <= 1.5)")
    print("full alignments")
    row("word_errors", t_words)
    row("word_errors + char_errors", t_both)


if __name__ == "__main__":
    main()
