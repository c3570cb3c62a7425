"""Numbers said in words, as digits: what redaction patterns match on.

ASR text spells what callers read out ("four eight two one", "nineteen eighty"), and a pattern
written for digits misses it. :func:`digits_view` rewrites every run of numbers (words or digits,
separated only by spaces, hyphens or commas) as one digit string, and keeps, for every character
of the new text, the span of the original it came from, so a match on the view redacts the
original words:

* ``four eight two one`` -> ``4821``; ``four-eight-two-one`` and ``4 8 2 1`` too;
* ``nineteen eighty`` -> ``1980``; ``two thousand and five`` -> ``2005``;
* ``two hundred fifty`` -> ``250``; ``twenty one`` -> ``21``;
* an ordinal ends its run: ``march third nineteen eighty`` -> ``march 3 1980``;
* ``oh`` is a zero only inside a run (``four oh two`` -> ``402``, "oh, sorry" stays).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4,
    "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
}  # fmt: skip
TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
ORDINAL_UNITS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5,
    "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9,
}  # fmt: skip
ORDINALS = {
    **ORDINAL_UNITS,
    "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
    "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19,
    "twentieth": 20, "thirtieth": 30,
}  # fmt: skip
_TOKEN = re.compile(r"[A-Za-z]+|\d+")
_JOINER = re.compile(r"[\s,-]*")
_CONNECTORS = ("oh", "and", "hundred", "thousand")


@dataclass(frozen=True)
class DigitsView:
    """The text with numbers as digits; ``starts[i]``/``ends[i]``: the original span of char i."""

    text: str
    starts: list[int]
    ends: list[int]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that view span [start, end) came from."""
        return self.starts[start], self.ends[end - 1]


@dataclass(frozen=True)
class _Token:
    word: str  # lower-cased
    start: int
    end: int


def _numeric(word: str) -> bool:
    return word.isdigit() or word in UNITS or word in TEENS or word in TENS or word in ORDINALS


class _Run:
    """Reads one run of number tokens into a digit string."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self, offset: int = 0) -> str | None:
        i = self.pos + offset
        return self.tokens[i].word if i < len(self.tokens) else None

    def small(self) -> tuple[int, bool] | None:
        """A number below 100 (and whether it was an ordinal), or None."""
        word = self.peek()
        if word is None:
            return None
        if word in ORDINALS:
            self.pos += 1
            return ORDINALS[word], True
        if word in TENS:
            self.pos += 1
            after = self.peek()
            if after in UNITS and after != "zero":
                self.pos += 1
                return TENS[word] + UNITS[after], False
            if after in ORDINAL_UNITS:
                self.pos += 1
                return TENS[word] + ORDINAL_UNITS[after], True
            return TENS[word], False
        for table in (UNITS, TEENS):
            if word in table:
                self.pos += 1
                return table[word], False
        return None

    def chunk(self) -> tuple[str, bool] | None:
        """One spoken number ("two thousand and five", "forty eight", "4821")."""
        word = self.peek()
        if word is None:
            return None
        if word.isdigit():
            self.pos += 1
            return word, False
        if word == "oh":
            self.pos += 1
            return "0", False
        first = self.small()
        if first is None:
            return None
        value, ordinal = first
        for scale, factor in (("hundred", 100), ("thousand", 1000)):
            if not ordinal and self.peek() == scale:
                self.pos += 1
                value *= factor
                self._skip_and()
                rest = self._below(factor)
                if rest is not None:
                    value += rest[0]
                    ordinal = rest[1]
        return str(value), ordinal

    def _skip_and(self) -> None:
        after = self.peek(1)
        if self.peek() == "and" and after is not None and _numeric(after):
            self.pos += 1

    def _below(self, factor: int) -> tuple[int, bool] | None:
        start = self.pos
        part = self.small()
        if part is None:
            return None
        if factor == 1000 and not part[1] and self.peek() == "hundred":
            self.pos += 1
            value = part[0] * 100
            self._skip_and()
            tail = self.small()
            return (value + tail[0], tail[1]) if tail else (value, False)
        if part[0] >= factor:
            self.pos = start
            return None
        return part


def _tokens(text: str) -> list[_Token]:
    return [_Token(m.group(0).lower(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def _runs(text: str, tokens: list[_Token]) -> list[list[_Token]]:
    """Maximal runs of number tokens joined only by spaces, hyphens or commas. The connectors
    ("oh", "and", "hundred", "thousand") count inside a run, never as its start; a trailing
    "and" is left out."""
    runs: list[list[_Token]] = []
    current: list[_Token] = []
    for tok in tokens:
        if current and _JOINER.fullmatch(text[current[-1].end : tok.start]) is None:
            runs.append(current)
            current = []
        if _numeric(tok.word) or (current and tok.word in _CONNECTORS):
            current.append(tok)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    for run in runs:
        while run[-1].word == "and":
            run.pop()
    return runs


def digits_view(text: str) -> DigitsView:
    """``text`` with each run of numbers as one digit string, and the map back (module doc)."""
    pieces: list[tuple[str, int, int]] = []  # (view text, original start, original end)
    cursor = 0
    for run in _runs(text, _tokens(text)):
        reader = _Run(run)
        groups: list[tuple[str, int, int]] = []  # digit strings joined until an ordinal
        digits, start = "", run[0].start
        while reader.pos < len(run):
            begin = reader.pos
            got = reader.chunk()
            if got is None:  # "and" with nothing after it: leave the rest as it is
                break
            if not digits:
                start = run[begin].start
            digits += got[0]
            if got[1]:
                groups.append((digits, start, run[reader.pos - 1].end))
                digits = ""
        if digits:
            groups.append((digits, start, run[reader.pos - 1].end))
        for value, a, b in groups:
            if text[a:b] == value:
                continue
            pieces += [(text[i], i, i + 1) for i in range(cursor, a)]
            pieces.append((value, a, b))
            cursor = b
    pieces += [(text[i], i, i + 1) for i in range(cursor, len(text))]
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for piece, a, b in pieces:
        out.append(piece)
        starts += [a] * len(piece)
        ends += [b] * len(piece)
    return DigitsView("".join(out), starts, ends)
