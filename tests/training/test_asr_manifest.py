"""Caller turns as NeMo manifest lines: the span the ASR heard, the caller's real words
normalised, utterances holding personal data left out."""

from __future__ import annotations

import io
import wave
from collections import Counter

import pytest

from callgate.training.asr_manifest import clip_name, manifest_clips, normalise, wav_bytes
from callgate.training.redact import Hits, Redactor
from training.calls import PERSONAL_DATA, freeze_call, personal_call, tone


@pytest.mark.parametrize(
    ("reference", "text"),
    [
        (
            "Please freeze my debit card, not the credit card.",
            "please freeze my debit card not the credit card",
        ),
        ("no, that's all, thank you", "no that's all thank you"),
        ("It’s the ‘savings’ account!", "it's the savings account"),
        ("Move $50 -- now", "move 50 now"),
        ("  ", ""),
    ],
)
def test_normalise(reference: str, text: str) -> None:
    assert normalise(reference) == text


def test_a_clip_per_heard_turn_cut_where_the_asr_listened() -> None:
    audio = tone(14.0)
    skipped: Counter[str] = Counter()
    clips = manifest_clips(freeze_call(), audio, Redactor.for_rules(PERSONAL_DATA), Hits(), skipped)
    assert [c.line.turn for c in clips] == [1, 2, 4]  # not the greeting, not the silence
    first = clips[0]
    assert first.line.audio_filepath == "audio/c1-1.wav"
    assert first.line.duration == pytest.approx(1.5)
    assert len(first.audio.samples) == 24000
    assert first.line.text == "fees my debit card"  # the reference of the span
    assert first.line.cohort_id == "voice=a|noise=clean|channel=phone"
    assert first.line.sample_rate == 16000
    assert skipped == Counter()
    with wave.open(io.BytesIO(wav_bytes(first.audio))) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000)
        assert w.getnframes() == 24000


def test_personal_data_in_the_reference_leaves_the_utterance_out() -> None:
    skipped: Counter[str] = Counter()
    hits = Hits()
    clips = manifest_clips(
        personal_call(), tone(14.0), Redactor.for_rules(PERSONAL_DATA), hits, skipped
    )
    assert [c.line.text for c in clips] == ["what's my balance"]
    assert sum(skipped.values()) == 3
    assert all("personal data" in why for why in skipped)
    # --no-redact keeps them all
    kept = manifest_clips(personal_call(), tone(14.0), Redactor([]), Hits(), Counter())
    assert len(kept) == 4


def test_no_audio_or_no_reference_is_counted() -> None:
    skipped: Counter[str] = Counter()
    assert manifest_clips(freeze_call(), None, Redactor([]), Hits(), skipped) == []
    assert skipped == {"asr: no caller audio": 3}
    trace = freeze_call()
    turns = [t.model_copy(update={"reference_text": None}) for t in trace.agent_turns]
    skipped.clear()
    manifest_clips(
        trace.model_copy(update={"agent_turns": turns}), tone(14), Redactor([]), Hits(), skipped
    )
    assert skipped == {"asr: no reference text": 3}


def test_clip_names_are_safe_file_names() -> None:
    assert clip_name("prod/2026:call 7", 3) == "prod_2026_call_7-3.wav"
