"""Watching a Pipecat pipeline from outside: what it reports to callgate, and what it still owes.

One observer sees every push in order, so the caller's transcripts, the bot's text, its audio
chunks and the frames that end its utterances reach callgate in the order they happened. Audio
and utterance ends are taken as the agent output pushes them on, after writing: by then every
chunk before them has been played out. A response's text is collected as the LLM pushes it and
reported once the response starts to be heard: with its first audio chunk out of the agent
output, or when its end passes the output if it has no audio. A response the caller talks over
before any of it is played is dropped by the interruption and never heard, so its text is not put
on the reply spoken after it. Times are never read from frames; the driver stamps each report
when it is made.

The observer also keeps what the pipeline has started and not finished (an LLM response, a
function call, a TTS utterance), which a push waits for, and the first fatal error.

When the bot hangs up (it pushes ``EndWorkerFrame`` or ``EndFrame``, or cancels), the call is
over for the caller once the pipeline has played out what it had queued: the goodbye's audio is
reported as one reply, then the end of the call. What the pipeline's shutdown still does on the
caller's side is not part of the call: a transcript its STT finishes on the way out (words said
before the goodbye) and the user turn that transcript starts, with the interruption it pushes.
And once callgate has hung up, or the call has ended, nothing more is reported at all.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import soxr
from pipecat.frames.frames import (
    CancelFrame,
    CancelWorkerFrame,
    EndFrame,
    EndWorkerFrame,
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
        self.hanging_up = False  # the bot has ended the call; its pipeline is shutting down
        self.ended = False
        self.failure: str | None = None
        self._handled: set[int] = set()  # broadcast frames come as two siblings
        self._responses = 0  # LLM responses started and not finished
        self._text: list[str] = []  # the text of the response the LLM is producing
        self._producing: int | None = None  # that response (its start frame's id)
        self._texts: dict[int, str] = {}  # finished responses' text, not yet heard, by response
        self._playing: int | None = None  # the response passing the agent output
        self._heard = False  # whether any of it has been played
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
        if self.hanging_up and not self.ended:
            out.append("the pipeline to end after the bot hung up")
        return out

    async def on_push_frame(self, data: FramePushed) -> None:
        if self.closing or self.ended:
            return  # the call is over: what the pipeline does now is not part of it
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
            if not self._heard:
                self._heard = True
                self._say(self._playing)
            self._audio(frame)
        elif isinstance(frame, LLMFullResponseStartFrame):
            self._answering = True
            self._playing, self._heard = frame.id, False
        elif isinstance(frame, TTSStoppedFrame | LLMFullResponseEndFrame):
            if isinstance(frame, LLMFullResponseEndFrame):
                self._answering = False
                self._say(self._playing)  # a response with no audio is heard as it ends
                self._playing = None
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

    def _say(self, response: int | None) -> None:
        """Report a response's text once it is heard, if the LLM has finished it."""
        if response is not None and response in self._texts:
            self.link.reply_text(self._texts.pop(response))

    # -- everything else, once per frame ----------------------------------------------------------

    def _first(self, frame: Any) -> None:
        sibling = frame.broadcast_sibling_id
        if sibling is not None:
            if sibling in self._handled:
                return
            self._handled.add(frame.id)
        if isinstance(frame, EndWorkerFrame | CancelWorkerFrame | EndFrame | CancelFrame):
            self.hanging_up = True
        elif self.hanging_up and isinstance(
            frame, TranscriptionFrame | UserStoppedSpeakingFrame | InterruptionFrame
        ):
            # The caller's side of a pipeline shutting down: a segment its STT transcribes on the
            # way out (words said before the goodbye) would start a turn and cut the goodbye.
            return
        elif isinstance(frame, TranscriptionFrame):
            confidence = getattr(frame.result, "confidence", None)
            self.link.transcript(
                frame.text, float(confidence) if isinstance(confidence, int | float) else None
            )
        elif isinstance(frame, UserStoppedSpeakingFrame):
            self.link.user_turn_end()
        elif isinstance(frame, InterruptionFrame):
            if self._heard and self._playing is not None and self._playing == self._producing:
                self.link.reply_text("".join(self._text))  # cut while the LLM was still at it
            self._responses, self._text, self._answering = 0, [], False
            self._producing, self._playing, self._heard = None, None, False
            self._utterances.clear()  # interrupted speech is dropped, not stopped
            self._resampler = None
            self.link.interrupted()
        else:
            self._track(frame)

    def _track(self, frame: Any) -> None:
        if isinstance(frame, LLMFullResponseStartFrame):
            self._responses += 1
            self._text, self._producing = [], frame.id
        elif isinstance(frame, LLMTextFrame):
            self._text.append(frame.text)
        elif isinstance(frame, LLMFullResponseEndFrame):
            self._responses = max(0, self._responses - 1)
            if self._producing is not None:
                self._texts[self._producing] = "".join(self._text)
                if self._heard and self._playing == self._producing:
                    self._say(self._producing)  # its audio came out before the LLM finished
            self._text, self._producing = [], None
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
