"""One turn's text scoring: the same results as the full alignments, in the suite's spelling."""

from __future__ import annotations

import random

import pytest

from callgate.evaluators.text import Spellings, char_errors, entity_hits, normalize, word_errors
from callgate.evaluators.turn_text import compare_turn


def test_scores_a_turn() -> None:
    tt = compare_turn(
        "I need to freeze my debit card, $50",
        "I need to fees my card fifty dollars please",
        ["freeze", "$50", "savings"],
        chars=True,
    )
    assert tt.reference == "i need to freeze my debit card fifty dollars"
    assert tt.words.substituted == [("freeze", "fees")]
    assert (tt.words.deleted, tt.words.inserted) == (["debit"], ["please"])
    assert tt.wer == pytest.approx(3 / 9)
    assert tt.cer == char_errors(tt.reference, tt.hypothesis).cer
    assert [(h.in_reference, h.recognized) for h in tt.entities] == [
        (True, False),
        (True, True),
        (False, False),
    ]
    assert tt.entities_missed() == ["freeze"]


def test_characters_only_when_asked() -> None:
    tt = compare_turn("freeze my card", "fees my card")
    assert tt.char_errors is None and tt.cer is None and tt.wer == pytest.approx(1 / 3)


def test_empty_reference_is_not_scored() -> None:
    tt = compare_turn("", "uh huh", chars=True)
    assert (tt.wer, tt.cer, tt.char_errors, tt.words.inserted) == (None, None, 6, ["uh", "huh"])


def test_spellings_apply_to_texts_and_entities() -> None:
    spellings = Spellings({"chequing": "checking", "um": ""})
    tt = compare_turn(
        "um my chequing account", "my checking account", ["Chequing"], spellings=spellings
    )
    assert tt.reference == "my checking account"  # the edge a spelling emptied is trimmed
    assert tt.wer == 0.0 and tt.entities[0].entity == "checking"
    assert tt.entities[0].recognized
    assert compare_turn("my chequing", "my checking", ["Chequing"]).entities[0].entity == "Chequing"


def test_same_as_the_full_alignments_on_random_turns() -> None:
    rng = random.Random(11)
    words = "freeze fees my card debit the a $50 fifty dollars what's 3rd é".split()  # noqa: SIM905
    for _ in range(500):
        ref = " ".join(rng.choice(words) for _ in range(rng.randint(0, 8)))
        hyp = " ".join(rng.choice(words) for _ in range(rng.randint(0, 8)))
        entities = rng.sample(words, 3)
        tt = compare_turn(ref, hyp, entities, chars=True)
        we, ce = word_errors(ref, hyp), char_errors(ref, hyp)
        assert (tt.wer, tt.cer, tt.words.errors, tt.char_errors) == (
            we.wer,
            ce.cer,
            we.errors,
            ce.errors,
        )
        assert tt.words.substituted == we.substitution_pairs()
        assert tt.entities == entity_hits(entities, ref, hyp)
        assert (tt.reference, tt.hypothesis) == (normalize(ref), normalize(hyp))
