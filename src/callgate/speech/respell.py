"""Respelling banking terms so the offline TTS voices say them the way a caller would.

Both engines mangle acronyms: piper spells "PIN" as letters and says "HELOC" as "hell of luck",
espeak says "PIN" as "BIM". The caller keeps the intended text (the transcript a perfect ASR
should return) and sends only the respelled text to the TTS.

Letter-by-letter acronyms are respelled with hyphens ("A-T-M"), not spaces: with spaces both
voices read a lone "A" as the article "uh" (piper + whisper tiny.en heard "A T M" as "at TM" and
"A C H" as "the CH", but "A-T-M", "A-C-H", "A-P-R", "C-V-V" came back right).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

BANKING_LEXICON: Mapping[str, str] = {
    # Said as words.
    "PIN": "pin",
    "PINs": "pins",
    "HELOC": "hee lock",
    "HELOCs": "hee locks",
    "heloc": "hee lock",
    "FICO": "Fyco",
    # Said letter by letter.
    "ACH": "A-C-H",
    "APR": "A-P-R",
    "APY": "A-P-Y",
    "ATM": "A-T-M",
    "ATMs": "A-T-Ms",
    "CD": "C-D",
    "CDs": "C-Ds",
    "CVC": "C-V-C",
    "CVV": "C-V-V",
    "EMV": "E-M-V",
    "FDIC": "F-D-I-C",
    "IRA": "I-R-A",
    "IRAs": "I-R-As",
    "KYC": "K-Y-C",
    "OTP": "O-T-P",
    "SSN": "S-S-N",
}


def _is_acronym(word: str) -> bool:
    stem = word[:-1] if word.endswith("s") and len(word) > 2 else word
    return stem.isupper()


@lru_cache(maxsize=32)
def _compile(items: tuple[tuple[str, str], ...]) -> tuple[re.Pattern[str] | None, dict[str, str]]:
    table = dict(items)

    def alternation(words: list[str]) -> str:
        # Longest first so "PINs" wins over "PIN"; \b keeps "SPINE" and "PIN2" untouched.
        return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))

    exact = [w for w in table if _is_acronym(w)]
    loose = [w for w in table if not _is_acronym(w)]
    parts = []
    if exact:
        parts.append(rf"\b(?:{alternation(exact)})\b")
    if loose:
        parts.append(rf"\b(?i:{alternation(loose)})\b")
    lookup = {w: r for w, r in table.items() if _is_acronym(w)}
    lookup.update({w.lower(): r for w, r in table.items() if not _is_acronym(w)})
    return (re.compile("|".join(parts)) if parts else None), lookup


def respell_for_tts(text: str, extra: Mapping[str, str] | None = None) -> str:
    """Return ``text`` with known terms respelled for speech synthesis.

    All-caps acronyms match case-sensitively ("PIN" changes, "pin" and "Pin" do not); other
    entries match in any case. ``extra`` adds to (or overrides) :data:`BANKING_LEXICON`.
    """
    table = dict(BANKING_LEXICON)
    if extra:
        table.update(extra)
    pattern, lookup = _compile(tuple(sorted(table.items())))
    if pattern is None:
        return text

    def replace(match: re.Match[str]) -> str:
        word = match.group(0)
        return lookup.get(word, lookup.get(word.lower(), word))

    return pattern.sub(replace, text)
