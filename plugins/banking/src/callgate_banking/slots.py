"""Slot extraction from what the agent heard: amounts, cards, accounts and merchants.

The input is ASR output, so it may be lower-case, unpunctuated, spelled out ("two hundred and
fifty") or slightly misrecognised ("debbie card", "amazons"). Every function here is pure and
returns ``None`` when the slot is absent or ambiguous, so the dialogue asks instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher

ACCOUNTS = ("checking", "savings")
CARDS = ("debit", "credit")

_TOKEN = re.compile(
    r"\$|\d+(?:st|nd|rd|th)\b|\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|[a-z]+(?:'[a-z]+)?"
)
_NEGATIONS = {"not", "don't", "dont", "isn't", "never"}  # not "no": "no, debit" corrects

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9,
}  # fmt: skip
_TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_BIG = {"thousand": 1000, "grand": 1000}
_CURRENCY_AFTER = {"dollar", "dollars", "buck", "bucks", "usd"}
_CENTS = {"cent", "cents"}

# Spoken aliases and common ASR confusions; brand names count as credit cards because the
# reference bank's debit card is called "debit card" and nothing else.
_CARD_WORDS = {
    "debit": "debit", "debbit": "debit", "debt": "debit", "debut": "debit", "debbie": "debit",
    "atm": "debit", "credit": "credit", "credits": "credit", "visa": "credit",
    "mastercard": "credit", "amex": "credit",
}  # fmt: skip
_ACCOUNT_WORDS = {
    "checking": "checking", "checkings": "checking", "chequing": "checking",
    "savings": "savings", "saving": "savings",
}  # fmt: skip
_FILLERS = {"my", "the", "our", "your", "a", "account", "over", "uh", "um"}
_FROM_WORDS = {"from", "of"}  # "of" as in "out of savings"
_TO_WORDS = {"to", "into", "in", "towards", "onto"}


def tokens(text: str) -> list[str]:
    """Lower-case word, number and ``$`` tokens; hyphens split ("twenty-five")."""
    return _TOKEN.findall(text.lower().replace("-", " ").replace("’", "'"))


def _negated(toks: list[str], i: int) -> bool:
    return any(t in _NEGATIONS for t in toks[max(0, i - 2) : i])


# --------------------------------------------------------------------------- amounts


def _digit_value(tok: str) -> float | None:
    if tok[0].isdigit() and tok[-1].isdigit():  # not an ordinal ("the 20th")
        return float(tok.replace(",", ""))
    return None


def _words_number(toks: list[str], i: int) -> tuple[float, int] | None:
    """Parse a spelled-out number starting at ``toks[i]``; returns (value, next index)."""
    total, current, last = 0, 0, ""
    j = i
    while j < len(toks):
        tok = toks[j]
        nxt = toks[j + 1] if j + 1 < len(toks) else ""
        if tok == "a" and j == i and nxt in ("hundred", *_BIG):
            current, last = 1, "unit"
        elif tok == "and" and last in ("hundred", "big") and nxt in (*_UNITS, *_TEENS, *_TENS):
            pass
        elif tok in _UNITS and last not in ("unit", "teen"):
            current, last = current + _UNITS[tok], "unit"
        elif tok in _TEENS and last not in ("unit", "teen", "tens"):
            current, last = current + _TEENS[tok], "teen"
        elif tok in _TENS and last not in ("unit", "teen", "tens"):
            current, last = current + _TENS[tok], "tens"
        elif tok == "hundred" and last in ("", "unit", "teen"):
            current, last = max(current, 1) * 100, "hundred"
        elif tok in _BIG and last:
            total, current, last = total + current * _BIG[tok], 0, "big"
        else:
            break
        j += 1
    if j == i:
        return None
    return float(total + current), j


def _decimals(toks: list[str], j: int) -> tuple[float, int]:
    """Digits spoken after "point" ("point nine nine")."""
    digits = ""
    while j < len(toks) and (toks[j] in _UNITS or toks[j] == "oh"):
        digits += str(_UNITS.get(toks[j], 0))
        j += 1
    return (float("0." + digits) if digits else 0.0), j


def _number_at(toks: list[str], i: int) -> tuple[float, int, bool] | None:
    """A number at ``toks[i]`` as (value, next index, spoken in words)."""
    value = _digit_value(toks[i])
    if value is not None:
        j = i + 1
        if j < len(toks) and toks[j] in ("hundred", *_BIG):
            value *= 100 if toks[j] == "hundred" else 1000
            j += 1
        return value, j, False
    parsed = _words_number(toks, i)
    if parsed is None:
        return None
    value, j = parsed
    if j + 1 < len(toks) and toks[j] == "point":
        fraction, j = _decimals(toks, j + 1)
        value += fraction
    return value, j, True


def amounts(text: str) -> list[tuple[float, bool]]:
    """Every amount in the text as (dollars, said with a currency word or sign)."""
    toks = tokens(text)
    found: list[tuple[float, bool]] = []
    i = 0
    while i < len(toks):
        number = _number_at(toks, i)
        if number is None:
            i += 1
            continue
        value, j, spoken = number
        currency = i > 0 and toks[i - 1] == "$"
        nxt = toks[j] if j < len(toks) else ""
        if nxt in _CENTS:
            value, currency, j = value / 100, True, j + 1
        elif nxt in _CURRENCY_AFTER:
            currency, j = True, j + 1
            j_and = j + 1 if j < len(toks) and toks[j] == "and" else j
            cents = _number_at(toks, j_and) if j_and < len(toks) else None
            if cents and cents[0] < 100 and (cents[1] >= len(toks) or toks[cents[1]] in _CENTS):
                value += cents[0] / 100
                j = cents[1] + (1 if cents[1] < len(toks) else 0)
        elif spoken and 0 < value < 100 and value == int(value):
            # Prices are read as two numbers: "forty nine ninety nine" is 49.99.
            cents = _number_at(toks, j) if j < len(toks) else None
            if cents and cents[2] and 10 <= cents[0] < 100 and cents[0] == int(cents[0]):
                value, j = value + cents[0] / 100, cents[1]
                currency = currency or (cents[1] < len(toks) and toks[cents[1]] in _CURRENCY_AFTER)
        before = toks[max(0, i - 2) : i]
        # "one" alone is a pronoun far more often than an amount; "ending in 4821" is a card.
        lone_one = spoken and value == 1 and not currency and toks[i] == "one"
        card_digits = any(t in ("ending", "ends", "last") for t in before)
        if not lone_one and not card_digits:
            found.append((round(value, 2), currency))
        i = max(j, i + 1)
    return found


def extract_amount(text: str) -> float | None:
    """The amount the caller means: the first one with a currency word, else the first number."""
    found = amounts(text)
    with_currency = [value for value, currency in found if currency]
    if with_currency:
        return with_currency[0]
    return found[0][0] if found else None


# --------------------------------------------------------------------------- cards and accounts


def _mentions(text: str, table: dict[str, str]) -> list[tuple[int, str]]:
    toks = tokens(text)
    return [(i, table[t]) for i, t in enumerate(toks) if t in table and not _negated(toks, i)]


def extract_card(text: str) -> str | None:
    """``debit`` or ``credit``; a negated mention ("not the credit card") does not count.

    With both named, the first one is the answer ("my debit card, the credit card is at home")
    unless they are listed together ("debit and credit"), which is ambiguous.
    """
    toks = tokens(text)
    mentions = _mentions(text, _CARD_WORDS)
    kinds = {kind for _, kind in mentions}
    if len(kinds) < 2:
        return next(iter(kinds)) if kinds else None
    words = {toks[i] for i, kind in mentions if kind == "credit"}
    if words <= {"visa", "mastercard"}:
        return "debit"  # "visa debit" is a debit card
    first, second = mentions[0][0], next(i for i, k in mentions if k != mentions[0][1])
    if any(t in ("and", "or", "both", "either") for t in toks[first:second]):
        return None
    return mentions[0][1]


def extract_account(text: str) -> str | None:
    """The one account mentioned (not negated), or ``None`` if none or both."""
    kinds = {kind for _, kind in _mentions(text, _ACCOUNT_WORDS)}
    return next(iter(kinds)) if len(kinds) == 1 else None


def other_account(account: str) -> str:
    return ACCOUNTS[1] if account == ACCOUNTS[0] else ACCOUNTS[0]


def _direction(toks: list[str], i: int) -> str | None:
    """``from``/``to`` by the preposition before an account word, skipping fillers."""
    j = i - 1
    while j >= 0 and toks[j] in _FILLERS:
        j -= 1
    if j < 0:
        return None
    if toks[j] in _FROM_WORDS:
        return "from" if toks[j] == "from" or (j > 0 and toks[j - 1] == "out") else None
    return "to" if toks[j] in _TO_WORDS else None


def extract_transfer_accounts(text: str) -> tuple[str | None, str | None]:
    """(from_account, to_account) of a transfer.

    With only two accounts, naming one side names the other: "move 50 to savings" is from
    checking. "checking to savings" without "from" reads in speaking order.
    """
    toks = tokens(text)
    mentions = _mentions(text, _ACCOUNT_WORDS)
    source: str | None = None
    target: str | None = None
    for i, account in mentions:
        side = _direction(toks, i)
        if side == "from" and source is None:
            source = account
        elif side == "to" and target is None:
            target = account
    if source is None and target is None and len(mentions) >= 2:
        (i, first), (k, second) = mentions[0], mentions[1]
        if first != second and any(t in _TO_WORDS for t in toks[i + 1 : k]):
            source, target = first, second
    if source is not None and target is None:
        target = other_account(source)
    elif target is not None and source is None:
        source = other_account(target)
    return source, target


# --------------------------------------------------------------------------- merchants


def _squash(text: str) -> str:
    """Spelling-free form, so "net flicks" and "Netflix" compare equal."""
    text = re.sub(r"[^a-z0-9]", "", text.lower())
    return text.replace("cks", "x").replace("ks", "x").replace("ph", "f")


def merchant_score(heard: str, merchant: str) -> float:
    return SequenceMatcher(None, _squash(heard), _squash(merchant)).ratio()


def _threshold(merchant: str) -> float:
    # Short names need near-exact matches: "uber" vs "user" is already 0.75.
    return 0.85 if len(_squash(merchant)) <= 4 else 0.8


def best_merchant(heard: str, merchants: Sequence[str]) -> str | None:
    """The merchant whose name ``heard`` (a short phrase) matches best, if close enough."""
    scored = [(merchant_score(heard, m), m) for m in merchants]
    scored = [(s, m) for s, m in scored if s >= _threshold(m)]
    return max(scored, key=lambda sm: sm[0])[1] if scored else None


def extract_merchant(text: str, merchants: Sequence[str]) -> str | None:
    """The merchant named anywhere in the text, fuzzily ("amazons" -> "Amazon")."""
    toks = [t for t in tokens(text) if not t[0].isdigit() and t != "$"]
    best: tuple[float, str] | None = None
    for merchant in merchants:
        width = max(1, len(merchant.split()))
        for size in {width, width + 1, max(1, width - 1)}:
            for i in range(len(toks) - size + 1):
                score = merchant_score(" ".join(toks[i : i + size]), merchant)
                if score >= _threshold(merchant) and (best is None or score > best[0]):
                    best = (score, merchant)
    return best[1] if best else None


_NOT_MERCHANT = {
    "i", "it", "its", "it's", "was", "the", "a", "an", "my", "from", "at", "by", "to", "with",
    "charge", "charges", "charged", "transaction", "purchase", "payment", "one", "that", "this",
    "uh", "um", "yeah", "yes", "no", "think", "guess", "called", "store", "place", "please",
    "dispute", "and", "of", "on", "for", "in", "thing", "some", "company", "merchant", "me",
    "dollar", "dollars", "card", "account", "like", "so", "well", "oh", "okay", "ok", "is",
    "last", "week", "month", "yesterday", "today", "ago", "recent", "recently", "wrong", "weird",
    "don't", "know", "remember", "sure", "not", "there", "what", "who", "which", "about",
}  # fmt: skip


def merchant_phrase(text: str) -> str | None:
    """The content words of an answer to "which merchant?", for merchants we do not know.

    The tool matches this against the call's own transactions, so an unlisted merchant
    ("it was delta airlines") still works.
    """
    words = [t for t in tokens(text) if t not in _NOT_MERCHANT and t.isalpha()]
    words = [w for w in words if w not in _UNITS and w not in _TENS and w not in _TEENS]
    return " ".join(words[:3]).title() if words else None
