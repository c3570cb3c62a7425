"""The text core: normaliser decisions, WER/CER and alignments, entities, agreement with jiwer."""

from __future__ import annotations

import random

import jiwer
import pytest

from callgate.evaluators import text
from callgate.evaluators.text import (
    STEPS,
    AlignOp,
    char_errors,
    corpus_wer,
    corpus_word_errors,
    entity_accuracy,
    entity_hits,
    normalize,
    remove_punctuation,
    tokens,
    wer_cer_only,
    word_edits,
    word_errors,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # money
        ("$50", "fifty dollars"),
        ("50 dollars", "fifty dollars"),
        ("50.00 dollars", "fifty dollars"),
        ("$50.00", "fifty dollars"),
        ("$50 dollars", "fifty dollars"),
        ("$1", "one dollar"),
        ("1 dollar", "one dollar"),
        ("$1,200.50", "one thousand two hundred dollars fifty cents"),
        ("$49.99", "forty nine dollars ninety nine cents"),
        ("$1.01", "one dollar one cent"),
        ("$5.5", "five dollars fifty cents"),
        ("$0.50", "fifty cents"),
        ("$0", "zero dollars"),
        ("$05", "five dollars"),
        ("$1.05", "one dollar five cents"),
        ("$1.999", "one point nine nine nine dollars"),
        ("pay $ 20 now", "pay twenty dollars now"),
        ("€5.50 or £3", "five euros fifty cents or three pounds"),
        # decimals, percent, ordinals
        ("49.99", "forty nine point nine nine"),
        ("0.5", "zero point five"),
        ("5%", "five percent"),
        ("2.5 %", "two point five percent"),
        ("1st 2nd 3rd 4th", "first second third fourth"),
        ("21st 12th 20th 100th", "twenty first twelfth twentieth one hundredth"),
        ("1,000th", "one thousandth"),
        # integers and commas
        ("0", "zero"),
        ("13 40 99", "thirteen forty ninety nine"),
        ("101", "one hundred one"),
        ("1,200", "one thousand two hundred"),
        (
            "12,345,678",
            "twelve million three hundred forty five thousand six hundred seventy eight",
        ),
        (
            "999,999,999",
            "nine hundred ninety nine million nine hundred ninety nine thousand "
            "nine hundred ninety nine",
        ),
        ("1000000", "one million"),
        ("1,2", "one two"),
        ("007", "zero zero seven"),
        ("4111111111111111", "four one one one one one one one one one one one one one one one"),
        ("at 4pm", "at four pm"),
        ("10:30", "ten thirty"),
        # contractions
        ("What's my balance?", "what is my balance"),
        ("It's frozen. That's fine, there's more", "it is frozen that is fine there is more"),
        ("I'm sure I don't", "i am sure i do not"),
        ("can't won't shan't", "cannot will not shall not"),
        ("I'd say I'll go", "i would say i will go"),
        ("you're, we're, they've, let's", "you are we are they have let us"),
        ("isn't aren't wasn't doesn't didn't", "is not are not was not does not did not"),
        ("I\u2019M SURE it\u2019s", "i am sure it is"),
        # hyphens, symbols, punctuation, possessives
        ("twenty-five", "twenty five"),
        ("25-year-old", "twenty five year old"),
        ("Q&A and B & B", "q and a and b and b"),
        ('Hello, world! (Yes.) "quoted" -- ok...', "hello world yes quoted ok"),
        ("Amazon's fees", "amazon fees"),
        ("the customers' cards", "the customers cards"),
        ("five o'clock", "five oclock"),
        ("U.S. bank, 10 a.m.", "us bank ten am"),
        ("snake_case", "snake case"),
        # unicode and whitespace
        ("\uff15\uff10 dollars", "fifty dollars"),  # full-width digits
        ("ﬁne\u00a0card", "fine card"),  # ligature, no-break space
        ("Café  AU\tlait\n", "café au lait"),
        ("", ""),
        ("  ...  ", ""),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected
    assert normalize(expected) == expected  # idempotent
    assert tokens(raw) == expected.split()


def test_very_long_digit_runs_are_read_digit_by_digit() -> None:
    # int() refuses to parse more than 4,300 digits; the normaliser must not depend on it.
    assert normalize("9" * 5000).split() == ["nine"] * 5000
    assert normalize("$" + "1" * 5000).split() == ["one"] * 5000 + ["dollars"]


def test_steps_compose_to_normalize() -> None:
    names = [step.__name__ for step in STEPS]
    assert names[0] == "nfkc" and names[-1] == "collapse_whitespace"
    raw = "What's the $1,200.50 fee on Amazon's card (twenty-five & more)?"
    out = raw
    for step in STEPS:
        out = step(out)
    assert out == normalize(raw)


@pytest.mark.parametrize(
    ("ref", "hyp", "counts", "wer"),
    [
        # counts are (hits, substitutions, deletions, insertions)
        ("freeze my card", "freeze my card", (3, 0, 0, 0), 0.0),
        ("freeze my card", "fees my card", (2, 1, 0, 0), 1 / 3),
        ("freeze my card", "", (0, 0, 3, 0), 1.0),
        ("", "freeze my card", (0, 0, 0, 3), None),
        ("", "", (0, 0, 0, 0), None),
        ("freeze card", "freeze my card now", (2, 0, 0, 2), 1.0),
        ("transfer $50", "transfer fifty dollars", (3, 0, 0, 0), 0.0),
        ("What's my balance?", "what is my balance", (4, 0, 0, 0), 0.0),
        ("the the the", "the", (1, 0, 2, 0), 2 / 3),
    ],
)
def test_word_errors(
    ref: str, hyp: str, counts: tuple[int, int, int, int], wer: float | None
) -> None:
    result = word_errors(ref, hyp)
    assert (result.hits, result.substitutions, result.deletions, result.insertions) == counts
    assert result.ref_len == len(tokens(ref)) and result.hyp_len == len(tokens(hyp))
    assert result.wer == pytest.approx(wer) if wer is not None else result.wer is None
    assert len(result.alignment) == sum(counts)
    assert wer_cer_only(ref, hyp)[0] == result.wer


def test_alignment_and_substitution_pairs() -> None:
    result = word_errors("Freeze my debit card", "fees my card")
    assert result.substitution_pairs() == [("freeze", "fees")]
    assert result.alignment == (
        AlignOp("substitute", "freeze", "fees"),
        AlignOp("equal", "my", "my"),
        AlignOp("delete", "debit", None),
        AlignOp("equal", "card", "card"),
    )
    assert result.errors == 2
    inserted = word_errors("freeze card", "uh freeze my card")
    assert [a.op for a in inserted.alignment] == ["insert", "equal", "insert", "equal"]
    assert inserted.alignment[0] == AlignOp("insert", None, "uh")
    assert inserted.substitution_pairs() == []


def test_char_errors() -> None:
    result = char_errors("Fees!", "fee")
    assert (result.hits, result.deletions, result.ref_len, result.hyp_len) == (3, 1, 4, 3)
    assert result.cer == pytest.approx(0.25)
    assert result.alignment[-1] == AlignOp("delete", "s", None)
    assert char_errors("", "abc").cer is None
    assert char_errors("a b", "ab").alignment[1] == AlignOp("delete", " ", None)  # spaces count


def test_normalized_flag_skips_normalization() -> None:
    assert word_errors("$50", "fifty dollars").wer == 0.0
    assert word_errors("$50", "fifty dollars", normalized=True).wer == 2.0  # 1 sub + 1 ins
    assert wer_cer_only(" a b ", "a b", normalized=True) == (0.0, 0.0)


def test_corpus() -> None:
    pairs = [("freeze my card", "fees my card"), ("", "uh"), ("send $50", "send fifty dollars")]
    results = corpus_word_errors(pairs)
    assert [r.wer for r in results] == [pytest.approx(1 / 3), None, 0.0]
    assert corpus_wer(pairs) == pytest.approx(2 / 6)  # the empty reference's insertion counts
    assert corpus_wer([("", "uh")]) is None
    assert corpus_wer([]) is None


@pytest.mark.parametrize(
    ("entities", "ref", "hyp", "expected", "accuracy"),
    [
        # expected: (in_reference, recognized) per entity
        (["freeze"], "freeze my card", "fees my card", [(True, False)], 0.0),
        (
            ["debit card", "credit card"],
            "my Debit-Card",
            "my debit card",
            [(True, True), (False, False)],
            1.0,
        ),
        (["debit card"], "debit card", "debit the card", [(True, False)], 0.0),
        (
            ["50", "$50"],
            "send $50 now",
            "send fifty dollars now",
            [(True, True), (True, True)],
            1.0,
        ),
        (["50"], "send $50 now", "send fifteen dollars now", [(True, False)], 0.0),
        (["Amazon"], "Amazon's charge", "amazon charge", [(True, True)], 1.0),
        (["card"], "my cards", "my cards", [(False, False)], None),  # whole tokens only
        (["", "?"], "anything", "anything", [(False, False), (False, False)], None),
    ],
)
def test_entity_hits(
    entities: list[str],
    ref: str,
    hyp: str,
    expected: list[tuple[bool, bool]],
    accuracy: float | None,
) -> None:
    hits = entity_hits(entities, ref, hyp)
    assert [h.entity for h in hits] == entities
    assert [(h.in_reference, h.recognized) for h in hits] == expected
    assert entity_accuracy(hits) == accuracy
    hit = entity_hits(["50"], "$50", "fifty")[0]
    assert vars(hit) == {
        "entity": "50",
        "normalized": "fifty",
        "in_reference": True,
        "recognized": True,
    }


_VOCAB = [
    "freeze", "fees", "my", "card", "debit", "the", "the", "a", "", "", "$50", "fifty", "dollars",
    "I'm", "what's", "twenty-five", "Amazon's", "49.99", "3rd", "5%", "yes", "no", "no", "é",
]  # fmt: skip


def _random_pair(rng: random.Random) -> tuple[str, str]:
    ref = [rng.choice(_VOCAB) for _ in range(rng.randint(0, 10))]
    if rng.random() < 0.1:
        return " ".join(ref), " ".join(rng.choice(_VOCAB) for _ in range(rng.randint(0, 10)))
    hyp = list(ref)
    for _ in range(rng.randint(0, 4)):
        kind, at = rng.random(), rng.randint(0, len(hyp))
        if kind < 0.4 and at < len(hyp):
            hyp[at] = rng.choice(_VOCAB)
        elif kind < 0.7 and at < len(hyp):
            del hyp[at]
        else:
            hyp.insert(at, rng.choice(_VOCAB))
    return " ".join(ref), " ".join(hyp)


def test_agrees_with_jiwer_on_random_pairs() -> None:
    rng = random.Random(20240611)
    scored = []
    for _ in range(3000):
        ref, hyp = (normalize(t) for t in _random_pair(rng))
        words, chars = word_errors(ref, hyp), char_errors(ref, hyp)
        fast = wer_cer_only(ref, hyp, normalized=True)
        if not ref:  # jiwer raises (3.x) or returns a raw count (4.x): not scored here
            assert words.wer is None and chars.cer is None and fast == (None, None)
            assert words.insertions == len(hyp.split())
            continue
        scored.append((ref, hyp))
        assert words.wer == pytest.approx(jiwer.wer(ref, hyp), abs=1e-9)
        assert chars.cer == pytest.approx(jiwer.cer(ref, hyp), abs=1e-9)
        assert fast == (words.wer, chars.cer)
        w, c = jiwer.process_words(ref, hyp), jiwer.process_characters(ref, hyp)
        ours = (words.hits, words.substitutions, words.deletions, words.insertions)
        assert ours == (w.hits, w.substitutions, w.deletions, w.insertions)
        ours = (chars.hits, chars.substitutions, chars.deletions, chars.insertions)
        assert ours == (c.hits, c.substitutions, c.deletions, c.insertions)
    assert len(scored) > 2000
    refs, hyps = zip(*scored, strict=True)
    assert corpus_wer(scored) == pytest.approx(jiwer.wer(list(refs), list(hyps)), abs=1e-9)


def test_word_map_falls_back_per_pair_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text, "_VOCAB_MAX", 0)
    result = word_errors("zyzzyva quokka card", "zyzzyvas quokka card extra")
    assert (result.substitutions, result.insertions, result.hits) == (1, 1, 2)
    assert "zyzzyvas" not in text._VOCAB


def test_word_edits_are_word_errors_without_hits() -> None:
    edits = word_edits("Freeze my debit card", "fees my card")
    assert edits.substituted == [("freeze", "fees")] and edits.deleted == ["debit"]
    assert edits.inserted == [] and (edits.ref_len, edits.hyp_len, edits.errors) == (4, 3, 2)
    assert edits.wer == pytest.approx(0.5)
    assert word_edits("freeze card", "uh freeze my card").inserted == ["uh", "my"]
    assert word_edits("$50", "fifty dollars", normalized=True).errors == 2  # 1 sub + 1 ins
    empty = word_edits("", "uh huh")
    assert empty.wer is None and empty.inserted == ["uh", "huh"]
    rng = random.Random(7)
    for _ in range(1000):
        ref, hyp = _random_pair(rng)
        full, edits = word_errors(ref, hyp), word_edits(ref, hyp)
        assert edits.substituted == full.substitution_pairs() and edits.wer == full.wer
        assert edits.deleted == [a.ref for a in full.alignment if a.op == "delete"]
        assert edits.inserted == [a.hyp for a in full.alignment if a.op == "insert"]
        assert (edits.ref_len, edits.hyp_len) == (full.ref_len, full.hyp_len)


def test_ascii_fast_paths_match_the_regexes() -> None:
    for c in map(chr, range(128)):  # the byte table is the regex's rule, character by character
        assert remove_punctuation(f"a{c}b") == text._PUNCT_RE.sub(" ", f"a{c}b")
    assert remove_punctuation("café, naïve_é!") == "café  naïve é "  # not ASCII: the regex
    assert normalize("no numbers here, none") == "no numbers here none"
    assert normalize("٥ items, ５ items") == "five items five items"  # Arabic-Indic, full-width
