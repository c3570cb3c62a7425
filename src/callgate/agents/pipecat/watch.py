"""Watching a Pipecat pipeline from outside: what it reports to callgate, and what it still owes.

One observer sees every push in order, so the caller's transcripts, the bot's text, its audio
chunks and the frames that end its utterances reach callgate in the order they happened. Audio
and utterance ends are taken as the agent output pushes them on, after writing: by then every
chunk before them has been played out. Times are never read from frames; the driver stamps each
report when it is made.

The observer also keeps what the pipeline has started and not finished (an LLM response, a
function call, a TTS utterance), which a push waits for, and the first fatal error.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import soxr
from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    ErrorFrame,
    FunctionCallCancelFrame,
    FunctionCallInProgressFrame,
    FunctionCallResultFrame,
    InterruptionFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    OutputAudioRawFrame,
    TranscriptionFrame,
    TTSSpeakFrame,
    TTSStartedFrame,
    TTSStoppedFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.observers.base_observer import BaseObserver, FramePushed
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from callgate.agents.streaming import AgentLink
from callgate.speech.audio import SAMPLE_RATE, Audio


class PipelineWatch(BaseObserver):
    def __init__(self, link: AgentLink, output: FrameProcessor) -> None:
        super().__init__(observe_every_push=True)
        self.link = link
        self.output = output
        self.closing = False  # callgate is hanging up: the pipeline's end is not the bot's
        self.ended = False
        self.failure: str | None = None
        self._handled: set[int] = set()  # broadcast frames come as two siblings
        self._responses = 0  # LLM responses started and not finished
        self._text: list[str] = []  # the current response's text
        self._calls: set[str] = set()  # function calls in progress
        self._settled: set[str] = set()
        self._utterances: set[str | None] = set()  # TTS contexts started, not yet played out
        self._answering = False  # an LLM response is passing the agent output
        # The bot's audio comes in 40 ms chunks at Pipecat's output rate; resampling each chunk
        # on its own would click at every boundary, so an utterance is resampled as one stream.
        self._resampler: soxr.ResampleStream | None = None
        self._rate = SAMPLE_RATE

    def waiting_for(self) -> list[str]:
        """What the pipeline has started and not finished, in words (empty: nothing)."""
        out = []
        if self._responses:
            out.append("an LLM response that never ended")
        out += [f"function call {c} that never returned a result" for c in sorted(self._calls)]
        if self._utterances:
            out.append("a TTS utterance that never stopped")
        return out

    async def on_push_frame(self, data: FramePushed) -> None:
        if data.source is self.output and data.direction == FrameDirection.DOWNSTREAM:
            self._played(data.frame)
        if data.first_push:
            self._first(data.frame)

    def finish_call(self) -> None:
        """The pipeline ended itself: the bot hung up."""
        if not self.closing and not self.ended:
            self.ended = True
            self._utterance_end()
            self.link.end_call()

    # -- what the agent output has played ---------------------------------------------------------

    def _played(self, frame: Any) -> None:
        if isinstance(frame, OutputAudioRawFrame) and frame.audio:
            self._audio(frame)
        elif isinstance(frame, LLMFullResponseStartFrame):
            self._answering = True
        elif isinstance(frame, TTSStoppedFrame | LLMFullResponseEndFrame):
            if isinstance(frame, LLMFullResponseEndFrame):
                self._answering = False
            elif frame.context_id is None:
                self._utterances.clear()
            else:
                self._utterances.discard(frame.context_id)
            # One reply is one utterance: a TTS that stops after each sentence does not end it
            # while its LLM response is still being spoken.
            if not self._utterances and not self._answering:
                self._utterance_end()
        elif isinstance(frame, EndFrame | CancelFrame):
            self.finish_call()

    def _audio(self, frame: OutputAudioRawFrame) -> None:
        pcm = np.frombuffer(frame.audio, dtype=np.int16)
        if frame.num_channels > 1:
            pcm = pcm.reshape(-1, frame.num_channels)[:, 0]
        samples = pcm.astype(np.float32) / 32768.0
        if frame.sample_rate != SAMPLE_RATE:
            if self._resampler is None or frame.sample_rate != self._rate:
                self._flush()
                self._rate = frame.sample_rate
                self._resampler = soxr.ResampleStream(
                    self._rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ"
                )
            samples = self._resampler.resample_chunk(samples)
        self.link.agent_audio(Audio(samples))

    def _flush(self) -> None:
        if self._resampler is not None:
            tail = self._resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
            self._resampler = None
            self.link.agent_audio(Audio(tail))

    def _utterance_end(self) -> None:
        self._flush()
        self.link.agent_audio_end()

    # -- everything else, once per frame ----------------------------------------------------------

    def _first(self, frame: Any) -> None:
        sibling = frame.broadcast_sibling_id
        if sibling is not None:
            if sibling in self._handled:
                return
            self._handled.add(frame.id)
        if isinstance(frame, TranscriptionFrame):
            confidence = getattr(frame.result, "confidence", None)
            self.link.transcript(
                frame.text, float(confidence) if isinstance(confidence, int | float) else None
            )
        elif isinstance(frame, UserStoppedSpeakingFrame):
            self.link.user_turn_end()
        elif isinstance(frame, InterruptionFrame):
            self._responses, self._text, self._answering = 0, [], False
            self._utterances.clear()  # interrupted speech is dropped, not stopped
            self._resampler = None
            self.link.interrupted()
        else:
            self._track(frame)

    def _track(self, frame: Any) -> None:
        if isinstance(frame, LLMFullResponseStartFrame):
            self._responses += 1
            self._text = []
        elif isinstance(frame, LLMTextFrame):
            self._text.append(frame.text)
        elif isinstance(frame, LLMFullResponseEndFrame):
            self._responses = max(0, self._responses - 1)
            text, self._text = "".join(self._text), []
            self.link.reply_text(text)
        elif isinstance(frame, TTSSpeakFrame):
            self.link.reply_text(frame.text)
        elif isinstance(frame, TTSStartedFrame):
            self._utterances.add(frame.context_id)
        elif isinstance(frame, FunctionCallInProgressFrame):
            if frame.tool_call_id not in self._settled:
                self._calls.add(frame.tool_call_id)
        elif isinstance(frame, FunctionCallResultFrame | FunctionCallCancelFrame):
            properties = getattr(frame, "properties", None)
            if properties is not None and properties.is_final is False:
                return  # a progress update: the call goes on
            self._calls.discard(frame.tool_call_id)
            self._settled.add(frame.tool_call_id)
        elif isinstance(frame, ErrorFrame) and frame.fatal and self.failure is None:
            self.failure = f"Pipecat reported a fatal error: {frame.error}"
