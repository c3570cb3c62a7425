"""Packing several clips into one Whisper window: the layout, the words' way back to their clip,
and the real model on piper speech."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from callgate.speech.asr_whisper import WhisperASR
from callgate.speech.audio import SAMPLE_RATE, Audio
from callgate.speech.engines import get_tts
from callgate.speech.packing import GAP_S, WINDOW_S, layout, transcribe_packed
from callgate.speech.protocols import ASRHints, ASRResult


def test_layout_fills_windows_in_order_with_gaps() -> None:
    windows = layout([10.0, 10.0, 10.0, 3.0])
    assert [[p.clip for p in w] for w in windows] == [[0, 1], [2, 3]]
    assert windows[0][1].start == pytest.approx(10.0 + GAP_S)
    assert all(p.end <= WINDOW_S for w in windows for p in w)


def test_layout_leaves_out_a_clip_longer_than_a_window() -> None:
    assert [[p.clip for p in w] for w in layout([2.0, WINDOW_S + 1, 2.0])] == [[0, 2]]


_NO_HINTS = ASRHints()


@dataclass
class _Word:
    word: str
    start: float
    end: float
    probability: float


@dataclass
class _Segment:
    words: list[_Word]
    no_speech_prob: float = 0.1


class _FakeWhisper:
    """Says one word in the middle of each clip of a window; counts decodes and lone clips."""

    def __init__(self) -> None:
        self.windows: list[int] = []
        self.alone = 0

    def decode(
        self, samples: np.ndarray, hints: ASRHints, *, clips: int = 1, word_timestamps: Any = None
    ) -> list[Any]:
        self.windows.append(clips)
        loud = np.abs(samples) > 0
        edges = np.flatnonzero(np.diff(loud.astype(int))) + 1
        spans = np.split(np.arange(len(samples)), edges)
        words = [
            _Word(f" w{i}", s[0] / SAMPLE_RATE, s[-1] / SAMPLE_RATE, 0.5)
            for i, s in enumerate(sp for sp in spans if loud[sp[0]])
        ]
        return [_Segment(words)]

    def transcribe(self, audio: Audio, hints: ASRHints = _NO_HINTS) -> ASRResult:
        self.alone += 1
        return ASRResult("alone", 0.9)


def _tone(seconds: float) -> Audio:
    return Audio(np.full(round(seconds * SAMPLE_RATE), 0.1, dtype=np.float32))


def test_each_clip_gets_the_words_inside_it() -> None:
    fake = _FakeWhisper()
    clips = [_tone(2.0), Audio.silence(1.0), _tone(3.0), _tone(1.0)]
    results = transcribe_packed(fake, clips, ASRHints())
    assert fake.windows == [3]  # the silent clip is not packed, the three others share a window
    assert [r.text for r in results] == ["w0", "", "w1", "w2"]
    assert results[0].confidence == pytest.approx(0.5 * 0.9)
    assert results[2].words[0].start == pytest.approx(0.0, abs=1e-3)  # in the clip's own time


def test_a_clip_alone_in_its_window_is_transcribed_as_usual() -> None:
    fake = _FakeWhisper()
    results = transcribe_packed(fake, [_tone(20.0), _tone(20.0)], ASRHints())
    assert fake.windows == [] and fake.alone == 2
    assert [r.text for r in results] == ["alone", "alone"]


@pytest.mark.slow
def test_packed_piper_sentences_read_as_one_at_a_time() -> None:
    sentences = [
        "I would like to freeze my debit card.",
        "What is my checking balance?",
        "Transfer two hundred dollars to savings.",
    ]
    clips = [get_tts("piper").synthesize(s, "joe") for s in sentences]
    single = WhisperASR()
    packed = WhisperASR(pack_utterances=True)
    alone = single.transcribe_many(clips)
    together = packed.transcribe_many(clips)

    def words(text: str) -> list[str]:
        return [w.strip(".,?!").lower() for w in text.split()]

    for a, b in zip(alone, together, strict=True):
        assert words(a.text) == words(b.text)
        assert 0.3 < b.confidence <= 1.0
