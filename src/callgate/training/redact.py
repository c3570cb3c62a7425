"""Personal data out of exported text: the suite's ``personal_data`` rules plus built-in ones.

Every rule is a regular expression with a name; a match becomes ``[NAME]`` (upper-cased). A rule
with a group named ``pii`` replaces only that group ("born on [DATE_OF_BIRTH]"). Each rule is
tried on the text as written and on its digits view (:mod:`callgate.training.numbers`), where
"four eight two one" reads ``4821``, so a rule written for digits catches spoken numbers too; a
match on the view replaces the original words it came from.

The built-in rules hold for any domain; a domain's own words for its secrets come from its suite:

* ``card_number``: 12 to 19 digits, optionally grouped by spaces or hyphens;
* ``secret_code``: 3 to 8 digits after a word naming a secret (code, passcode, password,
  security, access or verification code, personal identification number);
* ``digit_sequence``: four or more digits said one by one ("four eight two one", "4-8-2-1"):
  nobody reads an amount that way, but codes, card and account numbers are;
* ``date_of_birth``: a full date (numeric, or with the month's name and the day in words or
  digits) whose year is 1900 to 2019, or any full date after "born" or "birth".
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from callgate.training.numbers import digits_view

Origin = Literal["suite", "built-in"]

# Full names only: speech and ASR text say the month; written dates are numeric.
_MONTH = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|december)"
)
_DAY = r"(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?"


def _dates(year: str) -> str:
    numeric = rf"\d{{1,2}}[/.-]\d{{1,2}}[/.-]{year}|{year}[/.-]\d{{1,2}}[/.-]\d{{1,2}}"
    month_first = rf"{_MONTH}\s+(?:the\s+)?{_DAY},?\s+(?:of\s+)?{year}"
    day_first = rf"(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{year}"
    # The digits view joins a day said in words to the year after it: "march 31980".
    joined = rf"{_MONTH}\s+(?:0?[1-9]|[12]\d|3[01]){year}"
    return rf"(?:{numeric}|{month_first}|{day_first}|{joined})"


_BIRTH_YEAR = r"(?:19\d\d|20[01]\d)"
_ANY_YEAR = r"(?:19|20)\d\d"
_SPOKEN_DIGIT = r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|\d)"

BUILT_IN: dict[str, str] = {
    "card_number": r"\b(?:\d[ -]?){11,18}\d\b",
    "secret_code": (
        r"(?i)\b(?:pass\s?code|pass\s?word|security\s+(?:code|number)|access\s+code"
        r"|secret\s+code|verification\s+code|personal\s+identification\s+number)"
        r"(?:\s+(?:is|was|will\s+be|of))?\s*[:=]?\s*(?P<pii>\d{3,8})\b"
    ),
    "digit_sequence": rf"(?i)\b{_SPOKEN_DIGIT}(?:[\s,-]+{_SPOKEN_DIGIT}){{3,}}\b",
    "date_of_birth": (
        rf"(?i)\b(?:(?P<pii>{_dates(_BIRTH_YEAR)})"
        rf"|(?:born|birth)\b(?:\W+\w+){{0,3}}?\W+(?P<pii2>{_dates(_ANY_YEAR)}))\b"
    ),
}


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: str
    origin: Origin
    regex: re.Pattern[str]

    @classmethod
    def of(cls, name: str, pattern: str, origin: Origin) -> Rule:
        return cls(name, pattern, origin, re.compile(pattern))

    @property
    def placeholder(self) -> str:
        return f"[{self.name.upper()}]"

    def spans(self, text: str) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        for m in self.regex.finditer(text):
            groups = [g for g in ("pii", "pii2") if g in self.regex.groupindex and m.group(g)]
            start, end = m.span(groups[0]) if groups else m.span()
            if end > start:
                found.append((start, end))
        return found


@dataclass
class Hits:
    """What redaction replaced in one call: spans by rule, and text fields touched."""

    spans: Counter[str] = field(default_factory=Counter)
    fields: int = 0

    def add(self, names: list[str]) -> None:
        if names:
            self.fields += 1
            self.spans.update(names)


class Redactor:
    """Replaces what its rules match; with no rules (``--no-redact``) it changes nothing."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules

    @classmethod
    def for_rules(cls, personal_data: Mapping[str, str], *, built_in: bool = True) -> Redactor:
        """The suite's rules first (their names win where two rules match the same words)."""
        rules = [Rule.of(n, p, "suite") for n, p in personal_data.items()]
        if built_in:
            rules += [Rule.of(n, p, "built-in") for n, p in BUILT_IN.items()]
        return cls(rules)

    @property
    def enabled(self) -> bool:
        return bool(self.rules)

    def matches(self, text: str) -> list[tuple[int, int, Rule]]:
        """Non-overlapping spans of ``text`` to replace, in order, each with the rule that won."""
        if not self.rules or not text:
            return []
        view = digits_view(text)
        found: list[tuple[int, int, int]] = []  # (start, end, rule position)
        for pos, rule in enumerate(self.rules):
            found += [(a, b, pos) for a, b in rule.spans(text)]
            if view.text != text:
                found += [(*view.original_span(a, b), pos) for a, b in rule.spans(view.text)]
        # A pattern may take the space after a number with it ("\\d[ -]?"): keep the space.
        found = [(*_trimmed(text, a, b), pos) for a, b, pos in found]
        found = [s for s in found if s[1] > s[0]]
        found.sort(key=lambda s: (s[0], -(s[1] - s[0]), s[2]))
        merged: list[tuple[int, int, Rule]] = []
        for a, b, pos in found:
            if merged and a < merged[-1][1]:
                last = merged[-1]
                merged[-1] = (last[0], max(last[1], b), last[2])
            else:
                merged.append((a, b, self.rules[pos]))
        return merged

    def text(self, text: str, hits: Hits | None = None) -> str:
        spans = self.matches(text)
        if not spans:
            return text
        out: list[str] = []
        cursor = 0
        for a, b, rule in spans:
            out += [text[cursor:a], rule.placeholder]
            cursor = b
        out.append(text[cursor:])
        if hits is not None:
            hits.add([rule.name for _, _, rule in spans])
        return "".join(out)

    def value(self, value: Any, hits: Hits | None = None) -> Any:
        """A JSON value with its strings redacted; a number that is personal data as a whole (a
        card number sent as an integer) becomes the placeholder string."""
        if isinstance(value, str):
            return self.text(value, hits)
        if isinstance(value, dict):
            return {k: self.value(v, hits) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v, hits) for v in value]
        if isinstance(value, int | float) and not isinstance(value, bool):
            as_text = str(value)
            spans = self.matches(as_text)
            if spans and spans[0][0] == 0 and spans[0][1] == len(as_text):
                if hits is not None:
                    hits.add([spans[0][2].name])
                return spans[0][2].placeholder
        return value


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
