"""CMU pocketsphinx 5 with the US English model inside its wheel: a second, very different ASR.

It is a weak recogniser on synthetic voices (espeak in particular); on piper it gets most words.
Hints are ignored for now: pocketsphinx could take them as a custom language model
(``pocketsphinx.lm.ArpaBoLM``) or keyphrase list, which is future work.

Confidence is the mean posterior probability of the recognised words (from the lattice,
``Decoder.seg()``). The whole-hypothesis posterior (``hyp().prob``) was tried first: it shrinks
with utterance length (0.0007..0.17 on clean 2-3 s piper sentences) and so says little.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING

import numpy as np

from callgate.speech.audio import SAMPLE_RATE, Audio
from callgate.speech.engines import package_version, require
from callgate.speech.protocols import ASRHints, ASRResult, WordTiming

if TYPE_CHECKING:
    from pocketsphinx import Decoder

_FRAMES_PER_SECOND = 100  # pocketsphinx's default frame rate (-frate)
_ALTERNATE = re.compile(r"\(\d+\)$")  # "to(3)": the third pronunciation of "to"


def _is_word(token: str) -> bool:
    # Sentence markers (<s>, </s>, <sil>), fillers ([NOISE], ++BREATH++) and (NULL) are not words.
    return bool(token) and token[0] not in "<[+(" and token != "(NULL)"


_NO_HINTS = ASRHints()


class PocketsphinxASR:
    """pocketsphinx on 16 kHz audio; one decoder per engine, used under a lock."""

    name = "pocketsphinx"

    def __init__(self) -> None:
        require("ASR engine", "pocketsphinx", "pocketsphinx", "pocketsphinx")
        self._lock = threading.Lock()
        self._decoder: Decoder | None = None

    def identity(self) -> str:
        return f"pocketsphinx|{package_version('pocketsphinx')}|en-us|cmudict-en-us|en-us.lm.bin"

    def load(self) -> Decoder:
        with self._lock:
            if self._decoder is None:
                from pocketsphinx import Decoder

                self._decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")
            return self._decoder

    def transcribe(self, audio: Audio, hints: ASRHints = _NO_HINTS) -> ASRResult:
        samples = audio.resample(SAMPLE_RATE).pcm16()
        if len(samples) == 0 or not np.any(samples):
            return ASRResult("", 0.0)
        decoder = self.load()
        with self._lock:
            decoder.start_utt()
            decoder.process_raw(samples.tobytes(), full_utt=True)
            decoder.end_utt()
            hyp = decoder.hyp()
            segments = list(decoder.seg()) if hyp is not None else []
        words: list[WordTiming] = []
        for seg in segments:
            token = seg.word.strip()
            if not _is_word(token):
                continue
            words.append(
                WordTiming(
                    _ALTERNATE.sub("", token),
                    seg.start_frame / _FRAMES_PER_SECOND,
                    (seg.end_frame + 1) / _FRAMES_PER_SECOND,
                    min(1.0, max(0.0, float(seg.prob))),
                )
            )
        text = " ".join(w.word for w in words)
        if not text:
            return ASRResult("", 0.0)
        confidence = float(np.mean([w.probability for w in words]))
        return ASRResult(text, confidence, tuple(words))
