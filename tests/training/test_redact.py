"""Redaction: the suite's personal-data rules and the built-in ones, on digits and on numbers said
in words; the digits view that lets one rule catch both."""

from __future__ import annotations

import pytest

from callgate.training.numbers import digits_view
from callgate.training.redact import BUILT_IN, Hits, Redactor
from training.calls import PERSONAL_DATA


@pytest.mark.parametrize(
    ("said", "view"),
    [
        ("my pin is four eight two one", "my pin is 4821"),
        ("four-eight-two-one", "4821"),
        ("4 8 2 1", "4821"),
        ("forty eight twenty one", "4821"),
        ("nineteen eighty", "1980"),
        ("two thousand and five", "2005"),
        ("two hundred fifty dollars", "250 dollars"),
        ("one thousand two hundred and fifty and then", "1250 and then"),
        ("March third, nineteen eighty", "March 3, 1980"),
        ("the thirty first of may", "the 31 of may"),
        ("four oh two", "402"),
        ("oh, sorry", "oh, sorry"),  # "oh" starts no number
        ("1,200.00 dollars", "1200.00 dollars"),  # a decimal point ends a run
        ("", ""),
        ("no numbers here", "no numbers here"),
    ],
)
def test_digits_view(said: str, view: str) -> None:
    got = digits_view(said)
    assert got.text == view
    assert len(got.starts) == len(got.ends) == len(got.text)


def test_a_match_on_the_view_maps_back_to_the_words() -> None:
    text = "my pin is four eight two one, thanks"
    view = digits_view(text)
    start = view.text.index("4821")
    a, b = view.original_span(start, start + 4)
    assert text[a:b] == "four eight two one"


SUITE = Redactor.for_rules(PERSONAL_DATA)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the suite's rules, on digits and on words
        ("My PIN is 4821.", "My [PIN]."),
        ("my pin is four eight two one", "my [PIN]"),
        ("It's 4556 7375 8689 9855.", "It's [CARD_NUMBER]."),
        (
            "card four five five six seven three seven five eight six eight nine nine eight five "
            "five please",
            "card [CARD_NUMBER] please",
        ),
        # built-in rules
        ("I was born on March third, nineteen eighty.", "I was born on [DATE_OF_BIRTH]."),
        ("march 3rd 1980", "[DATE_OF_BIRTH]"),
        ("the third of march nineteen eighty", "[DATE_OF_BIRTH]"),
        ("dob 1980-03-03", "dob [DATE_OF_BIRTH]"),
        ("born on 12/05/2021", "born on [DATE_OF_BIRTH]"),  # any year after "born"
        ("my passcode is 123456", "my passcode is [SECRET_CODE]"),
        ("it's four eight two one", "it's [DIGIT_SEQUENCE]"),
        ("it's 4-8-2-1", "it's [DIGIT_SEQUENCE]"),
        # left alone: amounts, a card's last four, recent dates, months as words
        ("Your balance is 1,200.00 dollars.", "Your balance is 1,200.00 dollars."),
        ("Your debit card ending in 4821 is now frozen.", None),
        ("Move two hundred fifty dollars to savings.", None),
        ("the charge on 2026-11-20", None),
        ("May I help you with anything else?", None),
        ("one two three", None),
    ],
)
def test_redaction(text: str, expected: str | None) -> None:
    assert SUITE.text(text) == (text if expected is None else expected)


def test_hits_count_spans_by_rule_and_fields() -> None:
    hits = Hits()
    SUITE.text("My PIN is 4821 and I was born on 03/03/1980.", hits)
    SUITE.text("nothing here", hits)
    assert hits.spans == {"pin": 1, "date_of_birth": 1}
    assert hits.fields == 1


def test_json_values_redact_strings_and_whole_numbers() -> None:
    value = {"dob": "1980-03-03", "card": 4556737586899855, "amount": 150.0, "ok": True}
    assert SUITE.value(value) == {
        "dob": "[DATE_OF_BIRTH]",
        "card": "[CARD_NUMBER]",
        "amount": 150.0,
        "ok": True,
    }
    assert SUITE.value(["My PIN is 4821"]) == ["My [PIN]"]


def test_the_suites_rules_come_first_and_built_in_ones_are_always_there() -> None:
    names = [r.name for r in SUITE.rules]
    assert names[:2] == list(PERSONAL_DATA)
    assert set(BUILT_IN) <= set(names)
    bare = Redactor.for_rules({})
    assert [r.name for r in bare.rules] == list(BUILT_IN)
    assert bare.text("It's 4556 7375 8689 9855.") == "It's [CARD_NUMBER]."


def test_no_rules_change_nothing() -> None:
    off = Redactor([])
    assert not off.enabled
    text = "My PIN is 4821, card 4556 7375 8689 9855, born 03/03/1980"
    assert off.text(text) == text
    assert off.matches(text) == []


def test_a_rule_with_a_pii_group_replaces_only_the_group() -> None:
    r = Redactor.for_rules({"member": r"member number (?P<pii>\d+)"}, built_in=False)
    assert r.text("my member number 77") == "my member number [MEMBER]"
