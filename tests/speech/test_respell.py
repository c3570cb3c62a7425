from __future__ import annotations

import pytest

from callgate.speech.respell import BANKING_LEXICON, respell_for_tts


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("I forgot my PIN.", "I forgot my pin."),
        ("Reset both PINs", "Reset both pins"),
        ("What is the CVV?", "What is the C-V-V?"),
        ("Send an ACH transfer", "Send an A-C-H transfer"),
        ("My HELOC rate", "My hee lock rate"),
        ("my heloc rate", "my hee lock rate"),
        ("Find an ATM, or two ATMs.", "Find an A-T-M, or two A-T-Ms."),
        ("Is it FDIC insured?", "Is it F-D-I-C insured?"),
        ("The PIN's digits", "The pin's digits"),
        ("PIN-based login", "pin-based login"),
    ],
)
def test_respells_banking_terms(text: str, spoken: str) -> None:
    assert respell_for_tts(text) == spoken


@pytest.mark.parametrize(
    "text",
    ["a pin in the map", "Pin it", "SPINE and PIN2 and ATMOSPHERE", "Hello there", ""],
)
def test_leaves_other_words_alone(text: str) -> None:
    assert respell_for_tts(text) == text


def test_extra_entries_add_and_override() -> None:
    assert respell_for_tts("Pay with Zelle", {"Zelle": "zell"}) == "Pay with zell"
    assert respell_for_tts("My PIN", {"PIN": "P-I-N"}) == "My P-I-N"
    assert respell_for_tts("My PIN") == "My pin"  # the override did not stick


def test_lexicon_covers_the_known_troublemakers() -> None:
    assert {"PIN", "CVV", "ACH", "HELOC", "ATM"} <= set(BANKING_LEXICON)
