"""Respelling with a lexicon: acronyms match case-sensitively, other entries in any case."""

from __future__ import annotations

import pytest

from callgate.speech.respell import respell_for_tts

LEXICON = {
    "PIN": "pin",
    "PINs": "pins",
    "CVV": "C-V-V",
    "ACH": "A-C-H",
    "HELOC": "hee lock",
    "heloc": "hee lock",
    "ATM": "A-T-M",
    "ATMs": "A-T-Ms",
    "FDIC": "F-D-I-C",
}


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
def test_respells_lexicon_terms(text: str, spoken: str) -> None:
    assert respell_for_tts(text, LEXICON) == spoken


@pytest.mark.parametrize(
    "text",
    ["a pin in the map", "Pin it", "SPINE and PIN2 and ATMOSPHERE", "Hello there", ""],
)
def test_leaves_other_words_alone(text: str) -> None:
    assert respell_for_tts(text, LEXICON) == text


def test_no_lexicon_no_change() -> None:
    assert respell_for_tts("My PIN at the ATM", {}) == "My PIN at the ATM"


def test_each_lexicon_stands_alone() -> None:
    assert respell_for_tts("Pay with Zelle", {"Zelle": "zell"}) == "Pay with zell"
    assert respell_for_tts("My PIN", {"PIN": "P-I-N"}) == "My P-I-N"
    assert respell_for_tts("My PIN", LEXICON) == "My pin"  # the other table did not leak
