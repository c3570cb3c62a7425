"""Several short utterances in one Whisper window: one encoder pass instead of one each.

Whisper pads every clip to a 30 s window, so a 3 s utterance pays for 30 s of encoder: on this
machine about 0.32 s of tiny.en's 0.42 s per turn. Packing lays the clips end to end with a short
gap of digital silence, up to one window, decodes the window once with word timings, and gives each
clip the words whose middle falls nearest to it.

What it changes. The decoder reads a clip after the clips before it in the window, so a transcript
can differ from the clip's own (docs/scaling.md measures how often on the demo suite); a call's
result stays reproducible because its packs are built from that call alone
(:mod:`callgate.agents.lookahead`). Confidence is the geometric mean of the clip's word
probabilities times the window's speech probability, where one clip alone uses the segment's mean
token log-probability: close, not equal.

Packing across calls was left out on purpose: a call's transcripts would then depend on which other
calls a worker happened to run beside it. Batching separate 30 s windows through the encoder was
measured too and gains nothing on CPU (0.32 s per window alone, 0.35-0.39 s per window in batches
of 4-8), so only packing pays.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from callgate.speech.audio import SAMPLE_RATE, Audio
from callgate.speech.protocols import ASRHints, ASRResult, WordTiming

WINDOW_S = 29.0  # a little under Whisper's 30 s, so rounding never spills into a second window
GAP_S = 0.6  # silence between packed clips: long enough for Whisper to end a sentence there
# Below this peak a clip is digital silence: skip the model, which may hallucinate on it.
SILENCE_PEAK = 1e-4
REPETITIVE = 2.4  # whisper's own compression-ratio threshold for a repetitive transcript


class Decoder(Protocol):
    def decode(
        self,
        samples: np.ndarray,
        hints: ASRHints,
        *,
        clips: int = 1,
        word_timestamps: bool | None = None,
    ) -> list[Any]: ...

    def transcribe(self, audio: Audio, hints: ASRHints = ...) -> ASRResult: ...


def is_silent(samples: np.ndarray) -> bool:
    return len(samples) == 0 or float(np.max(np.abs(samples))) < SILENCE_PEAK


def bounded_confidence(confidence: float, compression_ratio: float) -> float:
    if compression_ratio > REPETITIVE:
        # A looping transcript ("like me, like me, ...") scores high per token; distrust it.
        confidence *= 0.5
    return min(1.0, max(0.0, confidence))


@dataclass(frozen=True)
class Placed:
    clip: int  # index into the clips given
    start: float  # seconds into its window
    end: float


def layout(durations: Sequence[float]) -> list[list[Placed]]:
    """Windows of clips in the order given, each clip whole inside one window; a clip too long
    for a window is left out (transcribed on its own)."""
    windows: list[list[Placed]] = []
    current: list[Placed] = []
    t = 0.0
    for i, d in enumerate(durations):
        if d > WINDOW_S:
            continue
        start = t + GAP_S if current else 0.0
        if start + d > WINDOW_S:
            windows.append(current)
            current, start = [], 0.0
        current.append(Placed(i, start, start + d))
        t = start + d
    if current:
        windows.append(current)
    return windows


def transcribe_packed(engine: Decoder, audios: list[Audio], hints: ASRHints) -> list[ASRResult]:
    """One result per clip, in order; clips that are silent give an empty result unheard."""
    clips = [a.resample(SAMPLE_RATE).samples for a in audios]
    results = [ASRResult("", 0.0) for _ in clips]
    live = [i for i, x in enumerate(clips) if not is_silent(x)]
    windows = layout([len(clips[i]) / SAMPLE_RATE for i in live])
    packed = {live[p.clip] for w in windows for p in w}
    for i in live:
        if i not in packed:
            results[i] = engine.transcribe(Audio(clips[i]), hints)
    for window in windows:
        placed = [Placed(live[p.clip], p.start, p.end) for p in window]
        if len(placed) == 1:  # alone in its window: exactly what one at a time gives
            results[placed[0].clip] = engine.transcribe(Audio(clips[placed[0].clip]), hints)
            continue
        for p, result in zip(placed, _decode_window(engine, clips, placed, hints), strict=True):
            results[p.clip] = result
    return results


def _decode_window(
    engine: Decoder, clips: list[np.ndarray], placed: list[Placed], hints: ASRHints
) -> list[ASRResult]:
    end = placed[-1].end
    window = np.zeros(round(end * SAMPLE_RATE) + 1, dtype=np.float32)
    for p in placed:
        at = round(p.start * SAMPLE_RATE)
        window[at : at + len(clips[p.clip])] = clips[p.clip]
    segments = engine.decode(window, hints, clips=len(placed), word_timestamps=True)
    words: list[list[tuple[Any, float]]] = [[] for _ in placed]
    for seg in segments:
        speech = 1.0 - float(seg.no_speech_prob)
        for w in seg.words or ():
            if not any(c.isalnum() for c in str(w.word)):
                continue  # stray punctuation the decoder adds at a window's end, at low odds
            words[_nearest(placed, (float(w.start) + float(w.end)) / 2.0)].append((w, speech))
    return [_result(ws, p) for ws, p in zip(words, placed, strict=True)]


def _nearest(placed: list[Placed], t: float) -> int:
    """The clip a word at ``t`` belongs to: the one it is inside, else the closest."""
    gaps = [0.0 if p.start <= t <= p.end else min(abs(t - p.start), abs(t - p.end)) for p in placed]
    return int(np.argmin(gaps))


def _result(words: list[tuple[Any, float]], p: Placed) -> ASRResult:
    text = "".join(str(w.word) for w, _ in words).strip()
    if not text:
        return ASRResult("", 0.0)
    logp = [math.log(max(float(w.probability), 1e-9)) for w, _ in words]
    speech = float(np.mean([s for _, s in words]))
    confidence = math.exp(float(np.mean(logp))) * speech
    timings = tuple(
        WordTiming(
            str(w.word).strip(),
            max(0.0, float(w.start) - p.start),
            max(0.0, float(w.end) - p.start),
            float(w.probability),
        )
        for w, _ in words
    )
    return ASRResult(text, bounded_confidence(confidence, _compression_ratio(text)), timings)


def _compression_ratio(text: str) -> float:
    data = text.encode()
    return len(data) / len(zlib.compress(data))
