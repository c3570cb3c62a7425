"""The channel really matters: accent + phone line + babble hurts real ASR (real models)."""

from __future__ import annotations

from pathlib import Path

import jiwer
import numpy as np
import pytest

from callgate.agents.env import CallEnv
from callgate.scenarios.model import ChannelSpec, NoiseSpec
from callgate.simulation.babble import babble
from callgate.simulation.channel import degrade
from callgate.speech.engines import get_asr, get_tts

pytestmark = pytest.mark.slow

SENTENCES = [
    "I need to freeze my debit card right away",
    "please transfer two hundred dollars from checking to savings",
    "I want to dispute a charge from Amazon on my credit card",
]


def _wer(refs: list[str], hyps: list[str]) -> float:
    norm = jiwer.Compose(
        [
            jiwer.ToLowerCase(),
            jiwer.RemovePunctuation(),
            jiwer.RemoveMultipleSpaces(),
            jiwer.Strip(),
            jiwer.ReduceToListOfListOfWords(),
        ]
    )
    return float(jiwer.wer(refs, hyps, reference_transform=norm, hypothesis_transform=norm))


def test_scottish_phone_babble_is_recognised_worse_than_clean_piper(tmp_path: Path) -> None:
    env = CallEnv.at(tmp_path)
    asr = get_asr("whisper", model="tiny.en", beam_size=1, cpu_threads=1)
    piper, espeak = get_tts("piper"), get_tts("espeak")
    phone = ChannelSpec(type="telephony", codec="mulaw", sample_rate=8000)
    bed = babble(env)
    clean_hyps, hard_hyps = [], []
    for i, text in enumerate(SENTENCES):
        clean = piper.synthesize(text, "joe")
        clean_hyps.append(asr.transcribe(clean).text)
        hard = degrade(
            espeak.synthesize(text, "en-gb-scotland"),
            NoiseSpec(type="babble", snr_db=5),
            phone,
            np.random.default_rng(i),
            bed,
        ).audio
        assert hard.sample_rate == 16000
        hard_hyps.append(asr.transcribe(hard).text)
    clean_wer, hard_wer = _wer(SENTENCES, clean_hyps), _wer(SENTENCES, hard_hyps)
    assert clean_wer <= 0.15, clean_hyps
    assert hard_wer >= clean_wer + 0.25, (clean_hyps, hard_hyps)
