"""What a LiveKit agent under test is given for one call: callgate's tool backend, offline STT and
TTS plugins over callgate's own speech engines (no API key, nothing downloaded), and a way to say
that the agent hangs up.

:class:`CallgateSTT` and :class:`CallgateTTS` are ordinary LiveKit plugins (an ``stt.STT`` without
streaming, which LiveKit runs behind the session's VAD, and a ``tts.TTS`` without streaming, which
LiveKit feeds sentence by sentence), so a user's session is built the usual way. Both run their
engine inline on the session's loop: under ``clock: measured`` their compute is time the caller
waits, and results are shared through callgate's speech cache.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from livekit import rtc
from livekit.agents import (
    DEFAULT_API_CONNECT_OPTIONS,
    APIConnectOptions,
    LanguageCode,
    stt,
    tts,
    utils,
)
from livekit.agents.types import NOT_GIVEN, NotGivenOr

from callgate.agents.env import CallEnv
from callgate.agents.streaming import CallTools
from callgate.speech.audio import SAMPLE_RATE, Audio
from callgate.speech.engines import get_asr, get_tts
from callgate.speech.protocols import ASREngine, ASRHints, ASRResult, TTSEngine
from callgate.speech.respell import respell_for_tts

_NO_HINTS = ASRHints()


class CallServices:
    """The factory's first argument: ``tools`` (``call(name, args)`` returns a
    :class:`~callgate.agents.policy.ToolResult` and records the call), ``stt()`` and ``tts()``
    for offline speech, and ``end_call()`` when the agent hangs up or hands the caller over."""

    def __init__(self, tools: CallTools, env: CallEnv, hang_up: Callable[[bool], None]) -> None:
        self.tools = tools
        self.env = env
        self._hang_up = hang_up

    def stt(
        self,
        engine: str = "whisper",
        *,
        vocabulary: tuple[str, ...] | list[str] = (),
        prompt: str = "",
        **params: Any,
    ) -> CallgateSTT:
        """A registered callgate ASR engine (``params``: its constructor's) as a LiveKit STT."""
        asr = get_asr(engine, **params)
        _warm(asr)
        return CallgateSTT(asr, hints=ASRHints(tuple(vocabulary), prompt), env=self.env)

    def tts(
        self,
        engine: str = "piper",
        *,
        voice: str,
        rate: float = 1.0,
        lexicon: Mapping[str, str] | None = None,
        **params: Any,
    ) -> CallgateTTS:
        """A registered callgate TTS engine as a LiveKit TTS; ``lexicon`` respells terms the
        voice would say wrong, as a pipeline variant's ``tts.lexicon`` does."""
        tts_ = get_tts(engine, **params)
        _warm(tts_, voice)
        return CallgateTTS(tts_, voice=voice, rate=rate, lexicon=lexicon, env=self.env)

    def end_call(self, transferred: bool = False) -> None:
        """The agent ends the call after what it is saying now (``transferred``: it handed the
        caller to someone else)."""
        self._hang_up(transferred)


class CallgateSTT(stt.STT):
    def __init__(
        self, engine: ASREngine, *, hints: ASRHints = _NO_HINTS, env: CallEnv | None = None
    ) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=False, interim_results=False))
        self._engine = engine
        self._hints = hints
        self._env = env

    @property
    def model(self) -> str:
        return self._engine.identity()

    @property
    def provider(self) -> str:
        return "callgate"

    async def _recognize_impl(
        self,
        buffer: utils.AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> stt.SpeechEvent:
        result = self._transcribe(to_audio(utils.merge_frames(buffer)).resample(SAMPLE_RATE))
        data = stt.SpeechData(
            language=LanguageCode(language if isinstance(language, str) else "en"),
            text=result.text,
            confidence=result.confidence,
        )
        return stt.SpeechEvent(
            type=stt.SpeechEventType.FINAL_TRANSCRIPT,
            request_id=utils.shortuuid("stt_"),
            alternatives=[data],
        )

    def _transcribe(self, audio: Audio) -> ASRResult:
        if self._env is None:
            return self._engine.transcribe(audio, self._hints)
        with self._env.stopwatch.time("asr"):
            result, _hit = self._env.cache.transcribe(self._engine, audio, self._hints)
        return result


class CallgateTTS(tts.TTS):
    def __init__(
        self,
        engine: TTSEngine,
        *,
        voice: str,
        rate: float = 1.0,
        lexicon: Mapping[str, str] | None = None,
        env: CallEnv | None = None,
    ) -> None:
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=False),
            sample_rate=SAMPLE_RATE,
            num_channels=1,
        )
        self._engine = engine
        self._voice = voice
        self._rate = rate
        self._lexicon = dict(lexicon or {})
        self._env = env

    @property
    def model(self) -> str:
        return f"{self._engine.identity()} voice={self._voice} rate={self._rate}"

    @property
    def provider(self) -> str:
        return "callgate"

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.ChunkedStream:
        return _Spoken(tts=self, input_text=text, conn_options=conn_options)

    def speak(self, text: str) -> Audio:
        said = respell_for_tts(text, self._lexicon)
        if self._env is None:
            return self._engine.synthesize(said, self._voice, self._rate).resample(SAMPLE_RATE)
        with self._env.stopwatch.time("tts_agent"):
            audio, _ref, _hit = self._env.cache.synthesize(
                self._engine, said, self._voice, self._rate
            )
        return audio.resample(SAMPLE_RATE)


class _Spoken(tts.ChunkedStream):
    """One sentence: synthesised whole, then handed to LiveKit as 16 kHz PCM."""

    def __init__(
        self, *, tts: CallgateTTS, input_text: str, conn_options: APIConnectOptions
    ) -> None:
        super().__init__(tts=tts, input_text=input_text, conn_options=conn_options)
        self._speaker = tts

    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        audio = self._speaker.speak(self.input_text) if self.input_text.strip() else None
        output_emitter.initialize(
            request_id=utils.shortuuid("tts_"),
            sample_rate=SAMPLE_RATE,
            num_channels=1,
            mime_type="audio/pcm",
        )
        if audio is not None:
            output_emitter.push(audio.pcm16().tobytes())
        output_emitter.flush()


def _warm(engine: object, *args: Any) -> None:
    """Load the engine's model now, while the call is set up, rather than in its first turn
    (where loading would count as the agent's time to answer)."""
    load = getattr(engine, "load", None)
    if callable(load):
        load(*args[: len(inspect.signature(load).parameters)])


def to_audio(frame: rtc.AudioFrame) -> Audio:
    """A LiveKit frame (16-bit PCM, interleaved) as callgate audio, mixed down to mono."""
    pcm = np.frombuffer(bytes(frame.data), dtype=np.int16).astype(np.float32) / 32768.0
    if frame.num_channels > 1:
        pcm = pcm.reshape(-1, frame.num_channels).mean(axis=1)
    return Audio(pcm, frame.sample_rate)


def to_frame(audio: Audio) -> rtc.AudioFrame:
    pcm = audio.pcm16()
    return rtc.AudioFrame(pcm.tobytes(), audio.sample_rate, 1, len(pcm))
