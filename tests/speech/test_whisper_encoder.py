"""Whisper's encoder output shared between variants in one process: same transcripts, less work."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from callgate.speech import whisper_encoder
from callgate.speech.asr_whisper import WhisperASR
from callgate.speech.audio import Audio, concat
from callgate.speech.engines import get_tts
from callgate.speech.protocols import ASRHints

HINTS = ASRHints(vocabulary=("freeze", "debit"), prompt="Phone banking: freeze my debit card.")


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    whisper_encoder.clear()
    yield
    whisper_encoder.CAPACITY = whisper_encoder.DEFAULT_CAPACITY
    whisper_encoder.clear()


def test_output_is_kept_per_model_and_features() -> None:
    calls: list[str] = []

    def encode(features: np.ndarray) -> str:
        calls.append("x")
        return f"out{len(calls)}"

    a = np.ones((80, 30), dtype=np.float32)
    b = a.copy()
    b[0, 0] = 2.0
    assert whisper_encoder.encoded("m", a, encode) == "out1"
    assert whisper_encoder.encoded("m", a.copy(), encode) == "out1"  # same features: kept
    assert whisper_encoder.encoded("m", b, encode) == "out2"
    assert whisper_encoder.encoded("other", a, encode) == "out3"  # another model: its own
    assert len(calls) == 3


def test_capacity_bounds_what_is_kept() -> None:
    whisper_encoder.CAPACITY = 2
    n = [0]

    def encode(features: np.ndarray) -> int:
        n[0] += 1
        return n[0]

    feats = [np.full((2, 2), float(i), dtype=np.float32) for i in range(3)]
    for f in feats:
        whisper_encoder.encoded("m", f, encode)
    whisper_encoder.encoded("m", feats[0], encode)  # the oldest was dropped: encoded again
    assert n[0] == 4
    whisper_encoder.CAPACITY = 0
    whisper_encoder.encoded("m", feats[1], encode)
    whisper_encoder.encoded("m", feats[1], encode)
    assert n[0] == 6  # capacity 0 keeps nothing


@pytest.mark.slow
def test_a_second_variant_only_decodes_and_hears_the_same() -> None:
    speech = get_tts("piper").synthesize("I would like to freeze my debit card.", "joe")
    clip = concat([Audio.silence(0.3), speech, Audio.silence(0.3)])
    whisper_encoder.CAPACITY = 0
    alone_plain = WhisperASR().transcribe(clip)
    alone_hinted = WhisperASR().transcribe(clip, HINTS)
    whisper_encoder.CAPACITY = whisper_encoder.DEFAULT_CAPACITY
    engine = WhisperASR()
    before = dict(whisper_encoder.stats)
    plain = engine.transcribe(clip)
    hinted = engine.transcribe(clip, HINTS)  # another variant's hints, the same audio
    assert whisper_encoder.stats["misses"] - before["misses"] == 1
    assert whisper_encoder.stats["hits"] - before["hits"] == 1
    assert (plain.text, plain.confidence) == (alone_plain.text, alone_plain.confidence)
    assert (hinted.text, hinted.confidence) == (alone_hinted.text, alone_hinted.confidence)
