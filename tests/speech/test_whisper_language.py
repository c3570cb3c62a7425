"""Whisper's decoding language: English by default, another language only on a multilingual model
(fast: no model is loaded)."""

from __future__ import annotations

import pytest

from callgate.errors import UsageError
from callgate.speech.asr_whisper import WhisperASR


def test_english_only_model_refuses_another_language_in_one_line() -> None:
    with pytest.raises(UsageError, match="knows only English") as err:
        WhisperASR(model="tiny.en", language="es")
    assert "base" in str(err.value) and "\n" not in str(err.value)


def test_unknown_language_code_is_refused() -> None:
    with pytest.raises(UsageError, match="no language 'xx'"):
        WhisperASR(model="base", language="xx")


def test_language_is_part_of_the_identity_but_english_keeps_the_old_one() -> None:
    english = WhisperASR(model="base").identity()
    assert "lang=" not in english  # caches keyed on identities from before stay valid
    assert WhisperASR(model="base", language="en").identity() == english
    spanish = WhisperASR(model="base", language="es").identity()
    assert spanish == english + "|lang=es"
