"""faster-whisper (CTranslate2) on Whisper models shipped in PyPI wheels (``tiny.en``, ``base``;
where their files come from: :mod:`callgate.speech.whisper_models`).

Decoding is bounded so that one bad clip (a strong accent, noise) cannot stall a run: a single
temperature (0, greedy or beam) and no fallback ladder, and at most ``tokens_per_second`` new
tokens per second of audio in each 30 s window. Without that, whisper can loop up to its
448-token limit and retry at five temperatures.
"""

from __future__ import annotations

import math
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from callgate.errors import UsageError
from callgate.speech.audio import SAMPLE_RATE, Audio
from callgate.speech.engines import package_version, require
from callgate.speech.packing import bounded_confidence, is_silent, transcribe_packed
from callgate.speech.protocols import ASRHints, ASRResult, WordTiming
from callgate.speech.whisper_encoder import encoded
from callgate.speech.whisper_models import MODELS, check_installed, model_dir

if TYPE_CHECKING:
    from faster_whisper import WhisperModel
    from faster_whisper.transcribe import Segment

_MAX_LENGTH = 448  # whisper's decoder context, prompt included
_HALF_CONTEXT = _MAX_LENGTH // 2 - 1  # faster-whisper keeps at most this many prompt tokens each
_WINDOW_S = 30.0


_NO_HINTS = ASRHints()


class WhisperASR:
    """Whisper on CPU, int8.

    Parameters: ``model`` (``"tiny.en"`` or ``"base"``, the stronger multilingual model),
    ``language`` (what the model decodes: ``"en"``, or for a multilingual model another Whisper
    language code such as ``"es"``; never detected, so a call's ASR does not change language
    mid-call), ``cpu_threads`` (CTranslate2 threads, default 1 so workers do not fight over
    cores), ``beam_size`` (1 = greedy), ``word_timestamps`` (adds word timings at some extra cost),
    ``tokens_per_second`` (decoding budget per second of audio), ``cache_dir`` (where a model that
    ships in parts is assembled once; default the user's cache; not part of the identity),
    ``pack_utterances`` (``transcribe_many`` packs short clips into shared 30 s windows, one
    encoder pass for several utterances: faster, and transcripts may differ a little from one at
    a time; see :mod:`callgate.speech.packing`).
    """

    name = "whisper"

    def __init__(
        self,
        model: str = "tiny.en",
        cpu_threads: int = 1,
        beam_size: int = 1,
        word_timestamps: bool = False,
        tokens_per_second: float = 8.0,
        cache_dir: str | None = None,
        language: str = "en",
        pack_utterances: bool = False,
    ) -> None:
        if model not in MODELS:
            raise UsageError(f"unknown whisper model {model!r} (known: {', '.join(MODELS)})")
        if language != "en" and not MODELS[model].multilingual:
            multi = ", ".join(n for n, m in MODELS.items() if m.multilingual)
            raise UsageError(
                f"whisper model {model!r} knows only English; for language {language!r} use a "
                f"multilingual model ({multi})"
            )
        if cpu_threads < 1 or beam_size < 1 or tokens_per_second <= 0:
            raise UsageError("whisper cpu_threads, beam_size and tokens_per_second must be > 0")
        require("ASR engine", "whisper", "faster_whisper", "faster-whisper")
        check_installed(MODELS[model])
        if language != "en":
            from faster_whisper.tokenizer import _LANGUAGE_CODES  # imported only when needed

            if language not in _LANGUAGE_CODES:
                raise UsageError(f"whisper knows no language {language!r} (codes such as es, fr)")
        self.model = model
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.cpu_threads = cpu_threads
        self.beam_size = beam_size
        self.word_timestamps = word_timestamps
        self.tokens_per_second = tokens_per_second
        self.language = language
        self.pack_utterances = pack_utterances
        self._lock = threading.Lock()
        self._whisper: WhisperModel | None = None

    def identity(self) -> str:
        return (
            f"whisper|faster-whisper {package_version('faster-whisper')}|ctranslate2 "
            f"{package_version('ctranslate2')}|{self.model}|{MODELS[self.model].provenance()}"
            f"|int8|beam={self.beam_size}|threads={self.cpu_threads}"
            f"|words={int(self.word_timestamps)}|tps={self.tokens_per_second}"
            # English, the default, adds nothing: identities (and caches) from before stay valid.
            + ("" if self.language == "en" else f"|lang={self.language}")
        )

    def load(self) -> WhisperModel:
        """Load the model once (thread-safe); called by the first transcription."""
        with self._lock:
            if self._whisper is None:
                self._whisper = self._load()
            return self._whisper

    def _load(self) -> WhisperModel:
        # Set before faster_whisper imports huggingface_hub, which reads it once at import.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from faster_whisper import WhisperModel

        path = model_dir(self.model, self.cache_dir)
        whisper = WhisperModel(
            str(path),
            device="cpu",
            compute_type="int8",
            cpu_threads=self.cpu_threads,
            num_workers=1,
            local_files_only=True,
        )
        # Every variant in this process with the same model shares the encoder's output
        # (callgate.speech.whisper_encoder); the decoder stays each variant's own.
        own_encode = whisper.encode
        model = f"{path}|int8|threads={self.cpu_threads}"
        whisper.encode = lambda features: encoded(model, features, own_encode)
        return whisper

    def _prompt_tokens(self, whisper: WhisperModel, text: str) -> int:
        if not text.strip():
            return 0
        return min(len(whisper.hf_tokenizer.encode(" " + text.strip()).ids), _HALF_CONTEXT)

    def decode(
        self,
        samples: np.ndarray,
        hints: ASRHints,
        *,
        clips: int = 1,
        word_timestamps: bool | None = None,
    ) -> list[Segment]:
        """faster-whisper's segments for up to one window of 16 kHz ``samples`` holding
        ``clips`` utterances, with the bounded decoding described above."""
        whisper = self.load()
        hotwords = " ".join(hints.vocabulary) or None
        prompt = hints.prompt or None
        # faster-whisper raises if prompt + new tokens exceed the context, so budget both.
        prompt_len = 6 + self._prompt_tokens(whisper, hints.prompt)
        prompt_len += self._prompt_tokens(whisper, hotwords or "")
        seconds = min(len(samples) / SAMPLE_RATE, _WINDOW_S)
        budget = math.ceil(8 * clips + self.tokens_per_second * seconds)
        max_new_tokens = max(1, min(budget, _MAX_LENGTH - prompt_len))
        segments, _info = whisper.transcribe(
            samples,
            language=self.language,
            beam_size=self.beam_size,
            temperature=0.0,
            condition_on_previous_text=False,
            initial_prompt=prompt,
            hotwords=hotwords,
            vad_filter=False,
            without_timestamps=True,
            word_timestamps=self.word_timestamps if word_timestamps is None else word_timestamps,
            max_new_tokens=max_new_tokens,
        )
        return list(segments)  # a generator: decoding happens while iterating

    def transcribe(self, audio: Audio, hints: ASRHints = _NO_HINTS) -> ASRResult:
        audio = audio.resample(SAMPLE_RATE)
        samples = audio.samples
        if is_silent(samples):
            return ASRResult("", 0.0)
        texts: list[str] = []
        logprobs: list[float] = []
        no_speech: list[float] = []
        ratios: list[float] = []
        words: list[WordTiming] = []
        for segment in self.decode(samples, hints):
            texts.append(segment.text.strip())
            logprobs.append(segment.avg_logprob)
            no_speech.append(segment.no_speech_prob)
            ratios.append(segment.compression_ratio)
            for w in segment.words or ():
                words.append(
                    WordTiming(w.word.strip(), float(w.start), float(w.end), float(w.probability))
                )
        text = " ".join(t for t in texts if t)
        if not text:
            return ASRResult("", 0.0)
        confidence = math.exp(float(np.mean(logprobs))) * (1.0 - float(np.mean(no_speech)))
        return ASRResult(text, bounded_confidence(confidence, max(ratios)), tuple(words))

    def transcribe_many(self, audios: list[Audio], hints: ASRHints = _NO_HINTS) -> list[ASRResult]:
        """Transcribe several clips: one at a time, or with ``pack_utterances`` packed into
        shared windows (:mod:`callgate.speech.packing`)."""
        if not self.pack_utterances:
            return [self.transcribe(audio, hints) for audio in audios]
        return transcribe_packed(self, audios, hints)
