"""Dates as callers say them and as the tools store them.

Two kinds of date cross the phone line. A date of birth is read out in full ("March twelfth,
nineteen eighty four", "12/03/1984" from an ASR that writes digits) and must become the ISO date
the pharmacy has on file. A pickup or delivery day is relative ("tomorrow", "Friday"): the policy
keeps the caller's word and the tool resolves it against the pharmacy's ``today``, because only
the tool state knows what today is.
"""

from __future__ import annotations

import datetime as dt
import re

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
RELATIVE_DAYS = ("today", "tomorrow")

MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
    "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12,
    "dec": 12,
}  # fmt: skip
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip

_UNITS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9,
}  # fmt: skip
_UNIT_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9,
}  # fmt: skip
_TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "tenth": 10, "eleventh": 11,
    "twelfth": 12, "thirteenth": 13, "fourteenth": 14, "fifteenth": 15, "sixteenth": 16,
    "seventeenth": 17, "eighteenth": 18, "nineteenth": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90, "twentieth": 20, "thirtieth": 30,
}  # fmt: skip
_ORDINAL_DIGITS = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?$")
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})\b")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_WORD = re.compile(r"\d+(?:st|nd|rd|th)?|[a-z]+")
_SKIP = {"the", "of", "on", "and", "born", "its", "it's", "is", "my", "birthday", "date"}


def _small(toks: list[str], i: int) -> tuple[int, int] | None:
    """A number from 1 to 99 at ``toks[i]`` (digits, words or ordinals): (value, next index)."""
    if i >= len(toks):
        return None
    m = _ORDINAL_DIGITS.match(toks[i])
    if m:
        return int(m.group(1)), i + 1
    tok = toks[i]
    if tok in _TEENS:
        return _TEENS[tok], i + 1
    if tok in _UNITS or tok in _UNIT_ORDINALS:
        return _UNITS.get(tok) or _UNIT_ORDINALS[tok], i + 1
    if tok in _TENS:
        value = _TENS[tok]
        nxt = toks[i + 1] if i + 1 < len(toks) else ""
        if not tok.endswith("ieth") and (nxt in _UNITS or nxt in _UNIT_ORDINALS):
            return value + (_UNITS.get(nxt) or _UNIT_ORDINALS[nxt]), i + 2
        return value, i + 1
    return None


def _year(toks: list[str], i: int) -> int | None:
    """A year at ``toks[i]``: "1984", "nineteen eighty four", "two thousand and three"."""
    if i >= len(toks):
        return None
    if toks[i].isdigit() and len(toks[i]) == 4:
        return int(toks[i])
    if toks[i : i + 2] == ["two", "thousand"]:
        j = i + 2 + (1 if i + 2 < len(toks) and toks[i + 2] == "and" else 0)
        rest = _small(toks, j)
        return 2000 + (rest[0] if rest else 0)
    century = _small(toks, i)
    if century is None or not 10 <= century[0] <= 20:
        return None
    j = century[1]
    if j < len(toks) and toks[j] in ("oh", "o", "zero"):
        unit = _small(toks, j + 1)
        return century[0] * 100 + unit[0] if unit and unit[0] < 10 else None
    rest = _small(toks, j)
    return century[0] * 100 + rest[0] if rest and rest[0] >= 10 else None


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def _two_digit_year(value: str) -> int:
    year = int(value)
    if len(value) == 4:
        return year
    # A fixed pivot, not today's year, so the same words always give the same date.
    return 1900 + year if year > 30 else 2000 + year


def parse_date_of_birth(text: str) -> str | None:
    """The ISO date of a spoken or written date of birth, or ``None`` if there is none."""
    lowered = text.lower()
    m = _ISO_DATE.search(lowered)
    if m:
        return _iso(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = _NUMERIC_DATE.search(lowered)
    if m:  # US order, month first: the pharmacy's callers write 03/12/1984 for March 12
        return _iso(_two_digit_year(m.group(3)), int(m.group(1)), int(m.group(2)))
    toks = _WORD.findall(lowered.replace("-", " "))
    for i, tok in enumerate(toks):
        month = MONTHS.get(tok)
        if month is None:
            continue
        # "March twelfth, 1984" or "the twelfth of March, 1984": the day after the month is
        # tried first, but "September nineteen fifty seven" has no day after it.
        for day, j in (_day_after(toks, i), _day_before(toks, i)):
            while j < len(toks) and toks[j] in _SKIP:
                j += 1
            year = _year(toks, j)
            if day is not None and year is not None:
                return _iso(year, month, day)
    return None


def _day_after(toks: list[str], i: int) -> tuple[int | None, int]:
    j = i + 1
    while j < len(toks) and toks[j] in _SKIP:
        j += 1
    day = _small(toks, j)
    return (day[0], day[1]) if day else (None, j)


def _day_before(toks: list[str], i: int) -> tuple[int | None, int]:
    k = i - 1
    while k >= 0 and toks[k] in _SKIP:
        k -= 1
    start = k - 1 if k >= 1 and toks[k - 1] in _TENS else k
    day = _small(toks, start) if start >= 0 else None
    return (day[0] if day and day[1] == k + 1 else None), i + 1


def resolve_day(today: dt.date, word: str) -> dt.date | None:
    """The date of a pickup or delivery day said relative to ``today`` (or an ISO date).

    A weekday means its next occurrence after today: callers who want today say "today".
    """
    word = word.strip().lower()
    if word == "today":
        return today
    if word == "tomorrow":
        return today + dt.timedelta(days=1)
    if word in WEEKDAYS:
        ahead = (WEEKDAYS.index(word) - today.weekday()) % 7 or 7
        return today + dt.timedelta(days=ahead)
    try:
        return dt.date.fromisoformat(word)
    except ValueError:
        return None


def spoken_date(iso: str) -> str:
    """ "Friday, November 27": never the ISO form, which reads like a date of birth."""
    day = dt.date.fromisoformat(iso)
    return f"{WEEKDAYS[day.weekday()].title()}, {_MONTH_NAMES[day.month - 1]} {day.day}"


def spoken_day(word: str) -> str:
    """The caller's day as the agent repeats it in a confirmation: "on Friday", "tomorrow"."""
    return word if word in RELATIVE_DAYS else f"on {word.title()}"
