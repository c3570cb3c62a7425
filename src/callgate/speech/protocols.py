"""The seams for speech engines: TTS, ASR and VAD.

Engines are registered by name in :data:`TTS_ENGINES`, :data:`ASR_ENGINES` and :data:`VADS`, so a
variant file can say ``asr: {engine: whisper}``. Each engine exposes ``identity()``: a string that
changes whenever its output could change (model file, version, settings). Caches key on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from callgate.registry import Registry
from callgate.speech.audio import Audio


@dataclass(frozen=True)
class ASRHints:
    """Domain hints a variant gives its ASR (boost words, a priming prompt)."""

    vocabulary: tuple[str, ...] = ()
    prompt: str = ""

    def key(self) -> str:
        return "|".join(self.vocabulary) + "#" + self.prompt


@dataclass(frozen=True)
class WordTiming:
    word: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True)
class ASRResult:
    text: str
    confidence: float  # 0..1, engine-specific but monotone in how sure the engine is
    words: tuple[WordTiming, ...] = field(default=())


@runtime_checkable
class TTSEngine(Protocol):
    name: str

    def identity(self) -> str: ...

    def voices(self) -> list[str]: ...

    def synthesize(self, text: str, voice: str, rate: float = 1.0) -> Audio:
        """Speak ``text``; ``rate`` 1.0 is the voice's normal speed, 1.3 is 30% faster."""
        ...


@runtime_checkable
class ASREngine(Protocol):
    name: str

    def identity(self) -> str: ...

    def transcribe(self, audio: Audio, hints: ASRHints = ASRHints()) -> ASRResult: ...


@runtime_checkable
class VAD(Protocol):
    name: str

    def identity(self) -> str: ...

    def speech_segments(self, audio: Audio) -> list[tuple[float, float]]:
        """Return (start_s, end_s) spans of speech, sorted, non-overlapping."""
        ...


TTS_ENGINES: Registry[TTSEngine] = Registry("TTS engine", "callgate.tts")
ASR_ENGINES: Registry[ASREngine] = Registry("ASR engine", "callgate.asr")
VADS: Registry[VAD] = Registry("VAD", "callgate.vad")
