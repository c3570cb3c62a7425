"""One turn's text scoring, the path ASRAccuracy and TTSAccuracy both run for every turn.

A reference (what the caller said, what the agent meant) and a hypothesis (what an ASR heard) are
put in the suite's spelling (:class:`~callgate.evaluators.text.Spellings`, which normalises), then
compared once: the word errors with the words involved, the character error count when asked (a
distance: the per-call CER pools counts, so no character alignment is built), and which critical
entities survived. ``benchmarks/wer.py`` times this function against jiwer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz.distance.Levenshtein import distance

from callgate.evaluators.text import (
    EntityHit,
    Spellings,
    WordEdits,
    entity_hits,
    normalize,
    word_edits,
)


@dataclass(frozen=True)
class TurnText:
    """One turn compared: the texts as compared, word errors, character errors, entity hits."""

    reference: str  # normalised, in the suite's spelling
    hypothesis: str
    words: WordEdits
    char_errors: int | None  # None unless asked for
    entities: list[EntityHit]

    @property
    def wer(self) -> float | None:
        return self.words.wer

    @property
    def cer(self) -> float | None:
        """Characters, spaces included, as :func:`~callgate.evaluators.text.char_errors` counts."""
        if self.char_errors is None or not self.reference:
            return None
        return self.char_errors / len(self.reference)

    def entities_missed(self) -> list[str]:
        return [h.entity for h in self.entities if h.in_reference and not h.recognized]


def compare_turn(
    reference: str,
    hypothesis: str,
    entities: Sequence[str] = (),
    *,
    spellings: Spellings | None = None,
    chars: bool = False,
) -> TurnText:
    """Score one turn's hypothesis against its reference.

    Without ``spellings`` the texts are only normalised and the entities are matched as named;
    with them, the entities are put in the suite's spelling too (as they are reported).
    """
    canon = normalize if spellings is None else spellings
    # Edges trimmed as the normalized=True paths trim them: a spelling may rewrite to nothing.
    ref, hyp = canon(reference).strip(), canon(hypothesis).strip()
    if spellings is not None:
        entities = [spellings(e) for e in entities]
    return TurnText(
        ref,
        hyp,
        word_edits(ref, hyp, normalized=True),
        distance(ref, hyp) if chars else None,
        entity_hits(entities, ref, hyp, normalized=True),
    )
