"""TTSAccuracy: does the agent's audio say what the agent meant?

Each reply's synthesised audio is recognised by a *judge* ASR configuration that is not the agent's
own (by default Whisper with beam search 5 and no domain hints) and compared with the text the agent
sent to TTS: WER and critical-entity accuracy. The audio is also checked for truncation, long
internal silences and clipping. Recognition results are cached by audio content, and agents repeat
themselves a lot, so scoring a run recognises each distinct reply once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from callgate.evaluators.base import EvalContext, EvalResult, Metric, result
from callgate.evaluators.text import (
    Spellings,
    entity_accuracy,
    entity_hits,
    tokens,
    word_errors,
)
from callgate.speech.audio import Audio
from callgate.speech.protocols import ASREngine
from callgate.traces.model import CallTrace

ACCURACY = Metric(
    "tts_accuracy",
    "higher",
    "fraction",
    "1 - WER of the judge ASR on the agent's audio",
    0.85,
    "rate",
)
WER = Metric(
    "tts_wer", "lower", "fraction", "judge-ASR word error rate on the agent's audio", 0.15, "rate"
)
ENTITY = Metric(
    "tts_entity_accuracy",
    "higher",
    "fraction",
    "share of critical entities in the agent's text that are audible in its audio",
    0.9,
    "rate",
)
ISSUES = Metric(
    "tts_audio_issues",
    "lower",
    "count",
    "replies with truncated audio, a long internal silence or clipping",
    0.0,
)

_AMOUNT = re.compile(r"\d[\d,]*(?:\.\d+)?(?:\s+dollars?)?")
FRAME_S = 0.02
SILENCE_DBFS = -45.0


def audio_issues(audio: Audio, text: str, *, max_gap_s: float = 1.0) -> list[str]:
    """Flags for one reply's audio: too short for its words, a long silence inside, clipping."""
    flags: list[str] = []
    x = audio.samples
    hop = max(1, round(FRAME_S * audio.sample_rate))
    n = len(x) // hop
    if n == 0:
        return ["empty audio"]
    frames = x[: n * hop].reshape(n, hop).astype(np.float64)
    loud = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12) > SILENCE_DBFS
    idx = np.flatnonzero(loud)
    if len(idx) == 0:
        return ["silent audio"]
    gaps = np.diff(idx) * FRAME_S
    if len(gaps) and float(gaps.max()) > max_gap_s:
        flags.append(f"internal silence {float(gaps.max()):.2f}s")
    speech_s = (idx[-1] - idx[0] + 1) * FRAME_S
    words = max(1, len(tokens(text)))
    # Fast human speech is about 4 words per second; far less audio than that means cut-off text.
    if speech_s < words / 6.0:
        flags.append(f"truncated: {speech_s:.2f}s of speech for {words} words")
    clipped = float(np.mean(np.abs(x) >= 0.999))
    if clipped > 0.001:
        flags.append(f"clipping {100 * clipped:.2f}% of samples")
    return flags


class TTSAccuracy:
    name: ClassVar[str] = "TTSAccuracy"
    metrics: ClassVar[list[Metric]] = [ACCURACY, WER, ENTITY, ISSUES]

    # The suite's evaluation rules this evaluator takes as parameters (docs/scenarios.md).
    rules: ClassVar[tuple[str, ...]] = ("spellings",)

    def __init__(
        self,
        engine: str = "whisper",
        engine_params: dict[str, Any] | None = None,
        spellings: Mapping[str, str] | None = None,
    ) -> None:
        self.engine = engine
        self.engine_params = engine_params or {"model": "tiny.en", "beam_size": 5, "cpu_threads": 1}
        self.spellings = dict(spellings or {})
        self._canon = Spellings(self.spellings)

    def params(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "engine_params": self.engine_params,
            "spellings": self.spellings,
        }

    def _judge(self) -> ASREngine:
        from callgate.speech.engines import get_asr

        return get_asr(self.engine, **self.engine_params)

    def score_call(self, call: CallTrace, ctx: EvalContext) -> EvalResult:
        replies = [
            t for t in call.agent_turns if t.reply_audio is not None and t.reply_text.strip()
        ]
        if not replies:
            return EvalResult.not_scored(self.name, "no agent audio", self.metrics)
        if ctx.load_audio is None:
            return EvalResult.not_scored(self.name, "audio store not available", self.metrics)
        judge = self._judge()
        errs = ref_words = issues = 0
        hits_all = []
        rows: list[dict[str, Any]] = []
        for t in replies:
            assert t.reply_audio is not None
            audio = ctx.load_audio(t.reply_audio.sha256)
            heard = _transcribe(ctx, judge, audio)
            said, judged = self._canon(t.reply_text), self._canon(heard)
            we = word_errors(said, judged, normalized=True)
            flags = audio_issues(audio, t.reply_text)
            entities = _reply_entities(call, t.reply_text)
            if self.spellings:
                entities = [self._canon(e) for e in entities]
            hits = entity_hits(entities, said, judged, normalized=True)
            hits_all += hits
            errs += we.substitutions + we.deletions + we.insertions
            ref_words += we.ref_len
            issues += bool(flags)
            rows.append(
                {
                    "turn": t.index,
                    "intended": t.reply_text,
                    "heard": heard,
                    "tts_wer": we.wer,
                    "tts_substitutions": [list(p) for p in we.substitution_pairs()],
                    "flags": flags,
                }
            )
        wer = errs / ref_words if ref_words else None
        metrics = {
            ACCURACY.name: None if wer is None else max(0.0, 1.0 - wer),
            WER.name: wer,
            ENTITY.name: entity_accuracy(hits_all),
            ISSUES.name: float(issues),
        }
        reason = f"judge WER {wer:.3f} over {len(rows)} replies" if wer is not None else "no words"
        if issues:
            reason += f"; {issues} replies with audio issues"
        return result(self.name, ACCURACY, metrics, reason, turns=rows)


def _transcribe(ctx: EvalContext, judge: Any, audio: Audio) -> str:
    cache = ctx.options.get("speech_cache")
    if cache is not None:
        from callgate.speech.protocols import ASRHints

        res, _hit = cache.transcribe(judge, audio, ASRHints())
        return str(res.text)
    return str(judge.transcribe(audio).text)


def _reply_entities(call: CallTrace, text: str) -> list[str]:
    """Critical entities the agent says: the scenario's list plus amounts and numbers it spoke."""
    out = list(call.critical_entities)
    out += [m.group(0) for m in _AMOUNT.finditer(text)]
    return out
