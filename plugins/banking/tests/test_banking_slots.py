"""Slot extraction from ASR-style text: amounts, cards, accounts, merchants."""

from __future__ import annotations

import pytest
from callgate_banking.slots import (
    extract_account,
    extract_amount,
    extract_card,
    extract_merchant,
    extract_transfer_accounts,
    merchant_phrase,
)

MERCHANTS = ["Amazon", "Uber", "Netflix", "Walmart", "Starbucks", "Whole Foods"]


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("$50", 50.0),
        ("transfer $1,200.50 please", 1200.5),
        ("50 dollars", 50.0),
        ("49.99", 49.99),
        ("move 50 to savings", 50.0),
        ("20 bucks", 20.0),
        ("5 hundred dollars", 500.0),
        ("fifty dollars", 50.0),
        ("twenty-five bucks", 25.0),
        ("two hundred and fifty", 250.0),
        ("a hundred", 100.0),
        ("a grand", 1000.0),
        ("one thousand two hundred", 1200.0),
        ("two thousand five hundred and five", 2505.0),
        ("nineteen hundred", 1900.0),
        ("forty nine point nine nine", 49.99),
        ("forty nine dollars and ninety nine cents", 49.99),
        ("49 dollars and 99 cents", 49.99),
        ("fifty cents", 0.5),
        # Prices are read as two numbers.
        ("forty nine ninety nine", 49.99),
        ("twenty five fifty", 25.5),
        ("i want to transfer one dollar", 1.0),
        # A number with a currency word beats an earlier bare one.
        ("on the 3rd send 20 dollars", 20.0),
        ("card ending in 4821 send 30", 30.0),
        # Not amounts.
        ("the debit one", None),
        ("one", None),
        ("move it on the 20th", None),
        ("no amount here", None),
        ("", None),
    ],
)
def test_amount(text: str, amount: float | None) -> None:
    assert extract_amount(text) == amount


@pytest.mark.parametrize(
    ("text", "card"),
    [
        ("freeze my debit card", "debit"),
        ("Freeze my CREDIT card.", "credit"),
        ("debbie card", "debit"),  # an ASR slip
        ("my atm card", "debit"),
        ("my visa", "credit"),
        ("visa debit", "debit"),
        ("not the credit card the debit card", "debit"),
        ("no, credit", "credit"),  # "no" corrects, it does not negate
        ("my debit card, the credit card is at home", "debit"),
        ("debit and credit", None),
        ("either the credit or the debit", None),
        ("my card", None),
    ],
)
def test_card(text: str, card: str | None) -> None:
    assert extract_card(text) == card


@pytest.mark.parametrize(
    ("text", "account"),
    [
        ("savings", "savings"),
        ("what's in my checking account", "checking"),
        ("the saving one", "savings"),
        ("my current balance", None),
        ("checking and savings", None),
        ("not savings", None),
    ],
)
def test_account(text: str, account: str | None) -> None:
    assert extract_account(text) == account


@pytest.mark.parametrize(
    ("text", "accounts"),
    [
        ("from checking to savings", ("checking", "savings")),
        ("transfer 50 dollars from my checking account into savings", ("checking", "savings")),
        ("savings to checking", ("savings", "checking")),
        ("into my savings", ("checking", "savings")),
        ("move 50 to savings", ("checking", "savings")),
        ("transfer from my savings account", ("savings", "checking")),
        ("put it in my checking account", ("savings", "checking")),
        ("take 200 out of savings and put it in checking", ("savings", "checking")),
        ("not from savings from checking", ("checking", "savings")),
        ("checking", (None, None)),
        ("savings and checking", (None, None)),
    ],
)
def test_transfer_accounts(text: str, accounts: tuple[str | None, str | None]) -> None:
    assert extract_transfer_accounts(text) == accounts


@pytest.mark.parametrize(
    ("text", "merchant"),
    [
        ("amazon", "Amazon"),
        ("dispute the amazons charge", "Amazon"),
        ("the Amazon.com order", "Amazon"),
        ("ubers", "Uber"),
        ("net flicks", "Netflix"),
        ("wall mart", "Walmart"),
        ("star bucks", "Starbucks"),
        ("whole food", "Whole Foods"),
        # Near misses must not match.
        ("user", None),
        ("amazing", None),
        ("dispute a charge from last week", None),
        ("", None),
    ],
)
def test_merchant(text: str, merchant: str | None) -> None:
    assert extract_merchant(text, MERCHANTS) == merchant


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("it was delta airlines", "Delta Airlines"),
        ("uh the charge from last week", None),
        ("i don't know", None),
    ],
)
def test_merchant_phrase(text: str, phrase: str | None) -> None:
    assert merchant_phrase(text) == phrase
