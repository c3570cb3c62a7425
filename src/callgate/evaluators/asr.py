"""ASRAccuracy: the agent's ASR against what the caller really said (reference-based).

Per call, WER and CER pool every recognised turn (total errors / total reference words, not an
average of per-turn rates). Key-entity accuracy asks whether the words the scenario marks as
critical (amounts, names, product or account types, domain terms) survived recognition.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from callgate.evaluators.base import (
    BatchMixin,
    EvalContext,
    EvalResult,
    Metric,
    result,
)
from callgate.evaluators.text import (
    Spellings,
    char_errors,
    entity_accuracy,
    entity_hits,
    word_errors,
)
from callgate.evaluators.turn_text import compare_turn
from callgate.traces.model import CallTrace

ACCURACY = Metric(
    "asr_accuracy", "higher", "fraction", "1 - WER of the agent's ASR, floored at 0", 0.85, "rate"
)
WER = Metric("asr_wer", "lower", "fraction", "word error rate over the call's turns", 0.15, "rate")
CER = Metric(
    "asr_cer", "lower", "fraction", "character error rate over the call's turns", 0.10, "rate"
)
ENTITY = Metric(
    "asr_entity_accuracy",
    "higher",
    "fraction",
    "share of critical entities in the reference that the ASR got right",
    0.9,
    "rate",
)


def _accuracy(wer: float | None) -> float | None:
    return None if wer is None else max(0.0, 1.0 - wer)


class ASRAccuracy(BatchMixin):
    name: ClassVar[str] = "ASRAccuracy"
    metrics: ClassVar[list[Metric]] = [ACCURACY, WER, CER, ENTITY]

    # The suite's evaluation rules this evaluator takes as parameters (docs/scenarios.md).
    rules: ClassVar[tuple[str, ...]] = ("spellings",)

    def __init__(
        self,
        engine: str = "whisper",
        engine_params: dict[str, Any] | None = None,
        spellings: Mapping[str, str] | None = None,
    ) -> None:
        # The ASR used only in standalone mode (audio_path=...); in a call the agent's own output is
        # scored, since that is what the agent acted on.
        self.engine = engine
        self.engine_params = engine_params or {"model": "tiny.en", "beam_size": 1}
        self.spellings = dict(spellings or {})
        self._canon = Spellings(self.spellings)

    def params(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "engine_params": self.engine_params,
            "spellings": self.spellings,
        }

    def _entities(self, entities: list[str]) -> list[str]:
        # An entity is compared in the suite's spelling too; without spellings it stays as named.
        return [self._canon(e) for e in entities] if self.spellings else entities

    # -- in a call -------------------------------------------------------------------------------

    def score_call(self, call: CallTrace, ctx: EvalContext) -> EvalResult:
        turns = [t for t in call.agent_turns if t.asr is not None and t.reference_text]
        if not turns:
            return EvalResult.not_scored(
                self.name, "no recognised caller turn with a reference", self.metrics
            )
        rows: list[dict[str, Any]] = []
        errs = ref_words = 0
        cerrs = ref_chars = 0
        hits_all = []
        spellings = self._canon if self.spellings else None  # entities in the suite's spelling
        for t in turns:
            assert t.asr is not None and t.reference_text is not None
            entities = _turn_entities(call, t.heard_start, t.heard_end)
            tt = compare_turn(
                t.reference_text, t.asr.text, entities, spellings=spellings, chars=True
            )
            hits_all += tt.entities
            errs += tt.words.errors
            ref_words += tt.words.ref_len
            cerrs += tt.char_errors or 0  # always counted with chars=True
            ref_chars += len(tt.reference)
            rows.append(
                {
                    "turn": t.index,
                    "reference": t.reference_text,
                    "hypothesis": t.asr.text,
                    "confidence": t.asr.confidence,
                    "asr_wer": tt.wer,
                    "substitutions": [list(p) for p in tt.words.substituted],
                    "deletions": tt.words.deleted,
                    "insertions": tt.words.inserted,
                    "entities_missed": tt.entities_missed(),
                }
            )
        wer = errs / ref_words if ref_words else None
        cer = cerrs / ref_chars if ref_chars else None
        ent = entity_accuracy(hits_all)
        metrics = {ACCURACY.name: _accuracy(wer), WER.name: wer, CER.name: cer, ENTITY.name: ent}
        subs = [tuple(p) for r in rows for p in r["substitutions"]]
        reason = (
            f"WER {wer:.3f} over {len(rows)} turns" if wer is not None else "no reference words"
        )
        if subs:
            reason += "; substitutions: " + ", ".join(f"{a}->{b}" for a, b in subs[:5])
        return result(
            self.name, ACCURACY, metrics, reason, turns=rows, details={"substitutions": subs}
        )

    # -- standalone --------------------------------------------------------------------------------

    def evaluate(
        self,
        *,
        ground_truth: str,
        audio_path: str | Path | None = None,
        hypothesis: str | None = None,
        entities: list[str] | None = None,
    ) -> EvalResult:
        """Score one recording (recognised with the default offline ASR) or one transcript."""
        if hypothesis is None:
            if audio_path is None:
                raise ValueError("give audio_path or hypothesis")
            hypothesis = self._recognise(Path(audio_path))
        ref, hyp = self._canon(ground_truth), self._canon(hypothesis)
        we = word_errors(ref, hyp, normalized=True)
        if we.wer is None:
            return EvalResult.not_scored(self.name, "empty reference", self.metrics)
        ce = char_errors(ref, hyp, normalized=True)
        hits = entity_hits(self._entities(entities or []), ref, hyp, normalized=True)
        metrics = {
            ACCURACY.name: _accuracy(we.wer),
            WER.name: we.wer,
            CER.name: ce.cer,
            ENTITY.name: entity_accuracy(hits),
        }
        details = {
            "hypothesis": hypothesis,
            "hits": we.hits,
            "substitutions": we.substitutions,
            "deletions": we.deletions,
            "insertions": we.insertions,
            "substitution_pairs": we.substitution_pairs(),
            "alignment": [(op.op, op.ref, op.hyp) for op in we.alignment],
            "entities": [h.__dict__ for h in hits],
        }
        return result(self.name, ACCURACY, metrics, f"WER {we.wer:.3f}", details=details)

    def _recognise(self, path: Path) -> str:
        from callgate.speech.audio import read_audio
        from callgate.speech.engines import get_asr

        asr = get_asr(self.engine, **self.engine_params)
        return asr.transcribe(read_audio(path).resample(16_000)).text


def _turn_entities(call: CallTrace, start: float | None, end: float | None) -> list[str]:
    """Critical entities for one turn: the scenario's list plus those of the utterances heard."""
    out = list(call.critical_entities)
    if start is not None and end is not None:
        for u in call.caller_turns:
            if any(p.start < end + 0.05 and p.end > start - 0.05 for p in u.pieces):
                out += [e for e in u.entities if e not in out]
    return out
