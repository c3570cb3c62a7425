"""The continuous line: the room's noise between the caller's words too, at the cohort's SNR, the
same for every variant of a call."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from callgate.agents.env import CallEnv
from callgate.scenarios.model import ChannelSpec, NoiseSpec, VoiceSpec
from callgate.simulation.line import Line, voice_power
from callgate.speech.audio import SAMPLE_RATE, Audio

VOICE = VoiceSpec(engine="espeak", voice="en-us")
WIDE = ChannelSpec()
PHONE = ChannelSpec(type="telephony", codec="mulaw", sample_rate=8000)


@pytest.fixture()
def env(tmp_path: Path) -> CallEnv:
    return CallEnv.at(tmp_path)


def words(seconds: float = 1.5) -> Audio:
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return Audio((0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32))


def power(x: np.ndarray) -> float:
    return float(np.mean(np.square(x.astype(np.float64))))


def test_a_clean_line_is_silent_between_words(env: CallEnv) -> None:
    line = Line(NoiseSpec(type="none"), PHONE, VOICE, 1, env)
    assert not np.any(line.background(0.0, 2.0).samples)


@pytest.mark.parametrize("snr", [20.0, 5.0])
def test_the_room_sits_snr_below_the_callers_voice(env: CallEnv, snr: float) -> None:
    line = Line(NoiseSpec(type="white", snr_db=snr), WIDE, VOICE, 1, env)
    noise = line.background(0.0, 10.0).samples
    measured = 10 * np.log10(voice_power(VOICE, env) / power(noise))
    assert measured == pytest.approx(snr, abs=0.3)


def test_the_line_after_the_words_runs_on_from_the_noise_under_them(env: CallEnv) -> None:
    # Silent "words" show the noise itself: the background after them continues the same bed.
    line = Line(NoiseSpec(type="pink", snr_db=10), WIDE, VOICE, 3, env)
    silent = Audio(np.zeros(SAMPLE_RATE, dtype=np.float32))
    under = line.utterance(silent, 2.0, "hello", 0).audio.samples
    after = line.background(3.0, 3.5).samples
    joined = np.concatenate([under, after])
    assert np.any(under)
    # Pink noise is smooth sample to sample; a splice at the join would jump.
    step = np.abs(np.diff(joined))
    assert step[len(under) - 1] < 6 * float(np.median(step)) + 1e-6


def test_every_variant_hears_the_same_noise_under_the_same_words(env: CallEnv) -> None:
    a = Line(NoiseSpec(type="babble", snr_db=10), PHONE, VOICE, 7, env)
    b = Line(NoiseSpec(type="babble", snr_db=10), PHONE, VOICE, 7, env)
    # Variant b answers later, so the caller's words land later on its line.
    ua = a.utterance(words(), 4.0, "freeze my card", 0).audio
    ub = b.utterance(words(), 5.3, "freeze my card", 0).audio
    assert np.array_equal(ua.samples, ub.samples)
    ta = a.background(4.0 + ua.duration, 4.0 + ua.duration + 1.0)
    tb = b.background(5.3 + ub.duration, 5.3 + ub.duration + 1.0)
    assert np.array_equal(ta.samples, tb.samples)
    # So does the second before them, where an agent's VAD measures the room.
    assert np.array_equal(a.background(3.0, 4.0).samples, b.background(4.3, 5.3).samples)
    # A repeat of the words gets fresh noise.
    again = a.utterance(words(), 9.0, "freeze my card", 1).audio
    assert not np.array_equal(again.samples, ua.samples)


def test_a_louder_caller_is_louder_against_the_same_room(env: CallEnv) -> None:
    line = Line(NoiseSpec(type="white", snr_db=10), WIDE, VOICE, 1, env)
    quiet = line.utterance(words(), 1.0, "a", 0).audio.samples - words().samples
    loud_words = Audio(words().samples * 2.0)
    loud = line.utterance(loud_words, 3.0, "b", 0).audio.samples - loud_words.samples
    assert power(loud) == pytest.approx(power(quiet), rel=0.1)
