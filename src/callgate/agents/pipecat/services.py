"""Pipecat speech services over callgate's own offline engines, so a pipeline runs with no API key.

:class:`EngineSTTService` is a segmented STT service (Pipecat's VAD cuts the segments) over a
callgate ASR engine; :class:`EngineTTSService` speaks each sentence with a callgate TTS engine.
Both take engines built with :func:`callgate.speech.engines.get_asr` / ``get_tts``, load their
models when the pipeline starts and run them on a thread, as Pipecat's own local services do. A
:class:`~callgate.store.cache.SpeechCache` may be given to reuse earlier results.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import numpy as np
from pipecat.frames.frames import (
    ErrorFrame,
    Frame,
    StartFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
)
from pipecat.services.settings import STTSettings, TTSSettings
from pipecat.services.stt_latency import DEFAULT_TTFS_P99
from pipecat.services.stt_service import SegmentedSTTService
from pipecat.services.tts_service import TTSService
from pipecat.utils.time import time_now_iso8601

from callgate.speech.audio import Audio
from callgate.speech.protocols import ASREngine, ASRHints, ASRResult, TTSEngine
from callgate.store.cache import SpeechCache


class EngineSTTService(SegmentedSTTService):
    """Transcribes each speech segment with a callgate ASR engine. The engine's
    :class:`~callgate.speech.protocols.ASRResult` rides on the frame's ``result`` (its confidence
    reaches the trace).

    ``ttfs_p99_latency`` (speech end to final transcript, VAD ``stop_secs`` included) tells
    Pipecat's end-of-turn strategy how long to wait for a transcript still on its way. The
    default is the one Pipecat gives its own local Whisper: a CPU model on a busy machine is
    slower than a cloud service, and a shorter wait can end the caller's turn on the words before
    a pause while the rest is still being transcribed. Each transcript of a segmented STT is
    final and ends the wait, so a longer value costs nothing when the engine is quick."""

    def __init__(
        self,
        engine: ASREngine,
        *,
        hints: ASRHints | None = None,
        cache: SpeechCache | None = None,
        ttfs_p99_latency: float = DEFAULT_TTFS_P99,
        **kwargs: object,
    ) -> None:
        settings = STTSettings(model=engine.identity(), language=None)
        super().__init__(settings=settings, ttfs_p99_latency=ttfs_p99_latency, **kwargs)  # type: ignore[arg-type]
        self._engine = engine
        self._hints = hints or ASRHints()
        self._cache = cache

    @property
    def wants_wav_segments(self) -> bool:
        return False  # the engine reads samples, not a WAV upload

    def can_generate_metrics(self) -> bool:
        return True

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        await asyncio.to_thread(_warm, self._engine)

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame | None, None]:
        samples = np.frombuffer(audio, dtype=np.int16).astype(np.float32) / 32768.0
        clip = Audio(samples, self.sample_rate)
        await self.start_processing_metrics()
        try:
            result = await asyncio.to_thread(self._transcribe, clip)
        except Exception as exc:  # a failing engine is the pipeline's error to report
            yield ErrorFrame(error=f"{self.name}: transcription failed: {exc}")
            return
        finally:
            await self.stop_processing_metrics()
        if result.text.strip():
            yield TranscriptionFrame(
                result.text.strip(), self._user_id, time_now_iso8601(), result=result
            )

    def _transcribe(self, clip: Audio) -> ASRResult:
        if self._cache is not None:
            return self._cache.transcribe(self._engine, clip, self._hints)[0]
        return self._engine.transcribe(clip, self._hints)


class EngineTTSService(TTSService):
    """Speaks with a callgate TTS engine, one synthesis per sentence Pipecat hands it."""

    def __init__(
        self,
        engine: TTSEngine,
        *,
        voice: str,
        rate: float = 1.0,
        cache: SpeechCache | None = None,
        **kwargs: object,
    ) -> None:
        settings = TTSSettings(model=engine.identity(), voice=voice, language=None)
        # The base class opens and closes each utterance (TTSStartedFrame / TTSStoppedFrame), so
        # the end of the bot's speech is a frame, not a silence timer.
        super().__init__(
            settings=settings,
            push_start_frame=True,
            push_stop_frames=True,
            **kwargs,  # type: ignore[arg-type]
        )
        self._engine = engine
        self._voice = voice
        self._rate = rate
        self._cache = cache

    def can_generate_metrics(self) -> bool:
        return True

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        await asyncio.to_thread(_warm, self._engine, self._voice)

    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame | None, None]:
        try:
            audio = await asyncio.to_thread(self._synthesize, text)
        except Exception as exc:
            yield ErrorFrame(error=f"{self.name}: synthesis failed: {exc}")
            return
        pcm = audio.resample(self.sample_rate).pcm16().tobytes()
        await self.stop_ttfb_metrics()
        yield TTSAudioRawFrame(
            audio=pcm, sample_rate=self.sample_rate, num_channels=1, context_id=context_id
        )

    def _synthesize(self, text: str) -> Audio:
        if self._cache is not None:
            return self._cache.synthesize(self._engine, text, self._voice, self._rate)[0]
        return self._engine.synthesize(text, self._voice, self._rate)


def _warm(engine: object, *args: str) -> None:
    """Load the engine's model now, as a deployed bot has it loaded before the call: the first
    reply's latency should not include it. Engines load on first use otherwise."""
    load = getattr(engine, "load", None)
    if callable(load):
        load(*args)
