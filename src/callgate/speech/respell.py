"""Respelling domain terms so the offline TTS voices say them the way a person would.

Both engines mangle acronyms (one spells a four-letter word as letters, the other reads it as a
different word), so a domain brings a lexicon: the suite's ``evaluation.lexicon`` for the caller's
voices, the pipeline variant's ``tts.lexicon`` for the agent's. The speaker keeps the intended text
(the transcript a perfect ASR should return) and sends only the respelled text to the TTS.

Letter-by-letter acronyms are best respelled with hyphens ("A-T-M"), not spaces: with spaces both
voices read a lone "A" as the article "uh" (piper + whisper tiny.en heard "A T M" as "at TM" and
"A C H" as "the CH", but "A-T-M", "A-C-H", "A-P-R", "C-V-V" came back right).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache


def _is_acronym(word: str) -> bool:
    stem = word[:-1] if word.endswith("s") and len(word) > 2 else word
    return stem.isupper()


@lru_cache(maxsize=32)
def _compile(items: tuple[tuple[str, str], ...]) -> tuple[re.Pattern[str] | None, dict[str, str]]:
    table = dict(items)

    def alternation(words: list[str]) -> str:
        # Longest first so "GPs" wins over "GP"; \b keeps "GPU" and "GP2" untouched.
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


def respell_for_tts(text: str, lexicon: Mapping[str, str]) -> str:
    """Return ``text`` with the lexicon's terms respelled for speech synthesis.

    All-caps acronyms match case-sensitively ("NHS" changes, "nhs" and "Nhs" do not); other
    entries match in any case.
    """
    if not lexicon:
        return text
    pattern, lookup = _compile(tuple(sorted(lexicon.items())))
    if pattern is None:
        return text

    def replace(match: re.Match[str]) -> str:
        word = match.group(0)
        return lookup.get(word, lookup.get(word.lower(), word))

    return pattern.sub(replace, text)
