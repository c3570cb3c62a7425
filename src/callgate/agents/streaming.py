"""Driving an agent that streams: caller audio in as frames, the agent's audio, transcripts, reply
text and tool calls out, all timed on the call's virtual clock.

Pipecat pipelines, LiveKit sessions and WebSocket agents run this way. Each brings a small
:class:`StreamAdapter` that translates its framework's frames; :class:`StreamingCall` owns
everything else, the same for every framework: the line stays live (silence is streamed between
the caller's utterances and while the agent talks), the agent's audio plays from the moment it
arrives at real speed, a reply the caller talks over is cut where the agent stops it, tool calls
run on callgate's tool backend for the call, and the turns come out in the trace fields every
evaluator reads.

The clock. Audio time is the count of samples streamed: a framework's wall-clock timers never set
it. Each frame is pushed and the adapter returns once the agent has dealt with it (lock-step), so
feeding runs as fast as the agent computes. What the agent computes takes call time too under
``clock: measured`` (the default, as on a real line: a 300 ms LLM call delays the reply by 300 ms),
or none under ``clock: audio``, which makes a deterministic agent's timings reproducible to the
sample.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from callgate.agents.env import CallEnv
from callgate.agents.faults import take_fault, with_faults
from callgate.agents.policy import JSON, TOOLSETS, ToolBackend, ToolResult, ToolSchema
from callgate.agents.voice import AgentFailure, CallSetup, LineAudio, Reply, silent_line
from callgate.errors import UsageError
from callgate.plugins import load_reference
from callgate.registry import build_part
from callgate.speech.audio import SAMPLE_RATE, Audio, concat, speech_extent, speech_spans
from callgate.traces.model import AgentTurnTrace, ASRTrace, PolicyTrace, ToolCallTrace
from callgate.traces.recorder import CallRecorder

_LINE_PIECE_S = 1.0  # line audio made per piece while waiting for a reply


class StreamSettings(BaseModel):
    """How callgate streams to an agent; every streaming kind's configuration carries these."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    frame_ms: int = Field(20, ge=5, le=200, description="caller audio per frame pushed")
    clock: Literal["measured", "audio"] = Field(
        "measured", description="measured: the agent's compute takes call time; audio: none"
    )
    reply_timeout_s: float = Field(
        10.0, gt=0.0, le=120.0, description="call time the agent has to start a reply"
    )
    greeting_wait_s: float = Field(
        3.0, ge=0.0, le=60.0, description="call time to wait for a greeting before the caller talks"
    )


class ToolsRef(BaseModel):
    """The tool backend callgate runs for the agent's tool calls (its final state is judged)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    toolset: str = Field(min_length=1, description="a registered tool set or module:attr")
    schema_version: str = "1"
    params: dict[str, Any] = Field(default_factory=dict)


class AgentLink(Protocol):
    """What an adapter reports to callgate while a frame is being handled."""

    tools: CallTools

    def now(self) -> float: ...
    def transcript(self, text: str, confidence: float | None = None) -> None: ...
    def user_turn_end(self) -> None: ...
    def reply_text(self, text: str) -> None: ...
    def agent_audio(self, audio: Audio) -> None: ...
    def agent_audio_end(self) -> None: ...
    def interrupted(self) -> None: ...
    def end_call(self, transferred: bool = False) -> None: ...


@runtime_checkable
class StreamAdapter(Protocol):
    """One framework's side of a call. ``push`` returns only once the agent has handled the frame
    and everything it triggered (so a reply, its tool calls and their results arrive during the
    push of the frame that ended the caller's turn). Failures of the agent (a dropped
    connection, a timeout, a malformed message) are raised as :class:`AgentFailure`."""

    def open(self, link: AgentLink) -> None: ...
    def push(self, frame: Audio) -> None: ...
    def close(self) -> None: ...


class CallTools:
    """The call's tool backend as a streaming agent sees it: every call is recorded on the trace
    at the moment it happens."""

    def __init__(self, backend: ToolBackend, call: StreamingCall) -> None:
        self.backend = backend
        self._call = call

    def schemas(self) -> list[ToolSchema]:
        return self.backend.schemas()

    def call(self, name: str, args: JSON) -> ToolResult:
        return self._call.run_tool(name, args)


@dataclass
class _Forming:
    """The reply the agent is producing now."""

    index: int
    trigger: Literal["start", "utterance", "silence"]
    spans: list[tuple[float, float]]  # the caller speech this reply answers
    transcripts: list[str] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)
    end_of_turn: float | None = None
    texts: list[str] = field(default_factory=list)
    audio: list[Audio] = field(default_factory=list)
    first_byte: float | None = None
    tool_calls: list[int] = field(default_factory=list)
    end_call: bool = False
    transferred: bool = False


class StreamingCall:
    """:class:`~callgate.agents.voice.AgentCall` for any agent behind a :class:`StreamAdapter`."""

    def __init__(
        self,
        adapter: StreamAdapter,
        settings: StreamSettings,
        backend: ToolBackend,
        recorder: CallRecorder,
        env: CallEnv,
        asr_engine: str,
        line: LineAudio = silent_line,
    ) -> None:
        self.adapter = adapter
        self.line = line  # what is streamed while the caller says nothing
        self.settings = settings
        self.rec = recorder
        self.env = env
        self.asr_engine = asr_engine
        self.backend = backend
        self.tools = CallTools(backend, self)
        self.frame_s = settings.frame_ms / 1000.0
        self.pos = 0.0  # caller audio streamed so far (call seconds)
        self._busy = 0.0  # when the agent's compute so far ends (``clock: measured``)
        self._base: float | None = None  # set while a frame is pushed
        self._t0 = 0.0
        self._spans: list[tuple[float, float]] = []  # caller speech since the last reply began
        self._arriving: list[tuple[float, float]] = []  # caller speech not yet streamed
        self._forming: _Forming | None = None
        self._done: list[Reply] = []  # finished, not yet handed to the simulator
        self._audible: list[Reply] = []  # replies with audio, not discarded: the playout queue
        self._started = 0  # replies started so far (first audio, or finished without audio)
        self._answer_after = 0  # a reply is an answer once _started passes this
        self._ended = False
        self._opened = False

    # -- what the adapter reports (AgentLink) -----------------------------------------------------

    def now(self) -> float:
        """Call time of what the agent reports now: the end of the frame being handled, plus the
        agent's compute so far under ``clock: measured``."""
        if self._base is None:
            return max(self.pos, self._busy)
        if self.settings.clock == "audio":
            return self._base
        return self._base + (time.perf_counter() - self._t0)

    def transcript(self, text: str, confidence: float | None = None) -> None:
        text = text.strip()
        if not text:
            return
        f = self._form()
        f.transcripts.append(text)
        if confidence is not None:
            f.confidences.append(float(confidence))
        self.rec.event(self.now(), "asr_final", f.index, text=text)

    def user_turn_end(self) -> None:
        f = self._form()
        if f.end_of_turn is None:
            f.end_of_turn = round(self.now(), 6)
            self.rec.event(f.end_of_turn, "end_of_turn", f.index)

    def reply_text(self, text: str) -> None:
        if text.strip():
            self._form().texts.append(text.strip())

    def agent_audio(self, audio: Audio) -> None:
        if len(audio.samples) == 0:
            return
        f = self._form()
        if f.first_byte is None:
            # Audio queues behind whatever the agent is still playing, as on a real line.
            f.first_byte = max(self.now(), self._playback_end())
            self._started += 1
            self.rec.event(f.first_byte, "agent_first_byte", f.index)
        f.audio.append(audio)  # resampled as one stream when the reply ends: no seams

    def agent_audio_end(self) -> None:
        if self._forming is not None and self._forming.audio:
            self._finish_forming()

    def interrupted(self) -> None:
        """The agent stopped talking because the caller spoke: the reply playing now is cut, and
        every reply queued behind it is never played."""
        if self._forming is not None and self._forming.audio:
            self._finish_forming()
        t = self.now()
        for reply in list(self._audible):
            turn = reply.turn
            first_byte, playback_end = turn.first_byte, turn.playback_end
            if first_byte is None or playback_end is None:
                continue
            if t < first_byte:
                turn.discarded, turn.playback_end = True, None
                self._audible.remove(reply)
                self.rec.event(t, "reply_discarded", turn.index)
            elif t < playback_end:
                turn.interrupted, turn.playback_end = True, round(t, 6)
                self.rec.event(t, "barge_in", turn.index)
                self.rec.event(t, "agent_cut", turn.index)

    def end_call(self, transferred: bool = False) -> None:
        f = self._form() if self._forming is not None or not self._done else None
        if f is not None:
            f.end_call, f.transferred = True, f.transferred or transferred
        else:
            turn = self._done[-1].turn
            turn.end_call, turn.transferred = True, turn.transferred or transferred
        self._ended = True

    def run_tool(self, name: str, args: JSON) -> ToolResult:
        f = self._form()
        if not isinstance(args, dict):
            result = ToolResult(ok=False, error="arguments must be an object")
        else:
            with self.env.stopwatch.time("tools"):
                result = self.backend.call(name, dict(args))
        t = end = round(self.now(), 6)
        if (fault := take_fault(self.backend)) is not None:  # a provider fault takes call time
            end = round(t + fault.took(0.0), 6)
            if self._base is not None:  # what the agent reports next comes that much later
                self._base += end - t
            self._busy = max(self._busy, end)
            fault.record(self.rec, end, f.index)
        index = len(self.rec.tool_calls)
        self.rec.add_tool_call(
            ToolCallTrace(
                index=index,
                turn=f.index,
                tool=name,
                args=dict(args) if isinstance(args, dict) else {"_raw": repr(args)},
                ok=result.ok,
                result=result.result,
                error=result.error,
                start=t,
                end=end,
            )
        )
        self.rec.event(t, "tool_start", f.index, tool=name)
        self.rec.event(end, "tool_end", f.index, tool=name, ok=result.ok)
        f.tool_calls.append(index)
        return result

    # -- AgentCall ------------------------------------------------------------------------------

    def start(self, t: float) -> list[Reply]:
        with self._handing_over():
            self._answer_after = self._started
            self._open()
            self._stream_silence(t + self.settings.greeting_wait_s, until_answer=True)
        return self._collect()

    def hear(self, audio: Audio, start: float) -> list[Reply]:
        if self._ended:
            return []
        with self._handing_over():
            self._stream_silence(start)
            # Each stretch of speech reaches the agent when the stream does, not before: a reply
            # to the words before a pause answers only those.
            self._arriving = [(start + a, start + b) for a, b in speech_spans(audio)]
            self._answer_after = self._started
            self._stream(audio.resample(SAMPLE_RATE))
            if self._ended:
                return self._collect()
            words_end = start + audio.duration
            self._stream_silence(words_end + self.settings.reply_timeout_s, until_answer=True)
            if not self._ended and self._spans_unanswered():  # a hang-up is an answer too
                timeout = self.settings.reply_timeout_s
                raise AgentFailure(f"no reply within {timeout:g} s of the caller's words")
        return self._collect()

    def idle(self, since: float, until: float, max_replies: int = 10) -> list[Reply]:
        if self._ended:
            return []
        with self._handing_over():
            self._answer_after = self._started
            self._stream_silence(until, until_answer=True)
        return self._collect()

    def finish(self) -> dict[str, Any]:
        self._ended = True
        if self._opened:
            self._opened = False
            self.adapter.close()
        return self.backend.state()

    def ready_at(self) -> float:
        """The earliest call time the agent can hear new audio: what has been streamed so far."""
        return max(self.pos, self._busy)

    # -- streaming --------------------------------------------------------------------------------

    def _open(self) -> None:
        if not self._opened:
            self._opened = True
            self._base, self._t0 = 0.0, time.perf_counter()
            try:
                self.adapter.open(self)
            finally:
                self._busy = max(self._busy, self.now())
                self._base = None

    @contextmanager
    def _handing_over(self) -> Iterator[None]:
        """An agent failure ends the call, but what the agent already said and did is part of it:
        the replies finished so far travel with the failure."""
        try:
            yield
        except AgentFailure as exc:
            if self._forming is not None:
                self._finish_forming()
            exc.replies = [*exc.replies, *self._collect()]
            raise

    def _stream_silence(self, until: float, *, until_answer: bool = False) -> None:
        """Stream the line with no caller speech on it (the room's noise, or silence) until
        ``until``, in pieces: a reply usually stops this long before ``until``."""
        while until - self.pos > 1e-9 and not self._ended:
            if until_answer and self._started > self._answer_after:
                return
            piece = self.line(self.pos, self.pos + min(until - self.pos, _LINE_PIECE_S))
            if len(piece.samples) == 0:
                return  # less than a sample to go: streaming it would not move the clock
            self._stream(piece, until_answer=until_answer)

    def _stream(self, audio: Audio, *, until_answer: bool = False) -> None:
        """Push ``audio`` frame by frame; with ``until_answer``, stop once a reply has started
        since the caller's latest words reached the agent (or since streaming began)."""
        samples = audio.samples
        hop = max(1, round(self.frame_s * SAMPLE_RATE))
        for i in range(0, len(samples), hop):
            if self._ended or (until_answer and self._started > self._answer_after):
                return
            self._push(Audio(samples[i : i + hop]))

    def _push(self, frame: Audio) -> None:
        while self._arriving and self._arriving[0][0] < self.pos + frame.duration:
            self._arrive(self._arriving.pop(0))
        self._base = max(self._busy, self.pos + frame.duration)
        self._t0 = time.perf_counter()
        try:
            self.adapter.push(frame)
        finally:
            self.pos += frame.duration
            self._busy = max(self._busy, self.now())
            self._base = None

    def _arrive(self, span: tuple[float, float]) -> None:
        """Caller speech reaches the agent: a reply under way is over, and the words wait for
        the agent's next reply (or join the turn it is forming, if it has not spoken yet)."""
        if self._forming is not None and self._forming.audio:
            self._finish_forming()
        if self._forming is not None:
            self._forming.spans.append(span)
        else:
            self._spans.append(span)
        self._answer_after = self._started

    def _spans_unanswered(self) -> bool:
        heard = self._spans or (self._forming.spans if self._forming is not None else [])
        return bool(heard) and self._started <= self._answer_after

    # -- turns ------------------------------------------------------------------------------------

    def _form(self) -> _Forming:
        if self._forming is None:
            spans, self._spans = self._spans, []
            if spans:
                trigger: Literal["start", "utterance", "silence"] = "utterance"
            elif not self._done and self.rec.next_turn_index() == 0:
                trigger = "start"
            else:
                trigger = "silence"
            self._forming = _Forming(self.rec.next_turn_index(), trigger, spans)
        return self._forming

    def _playback_end(self) -> float:
        ends = [r.turn.playback_end for r in self._audible if r.turn.playback_end is not None]
        return max(ends, default=0.0)

    def _finish_forming(self) -> None:
        f, self._forming = self._forming, None
        if f is None:
            return
        audio = _joined(f.audio) if f.audio else None
        first_byte = f.first_byte
        first_audible = playback_end = None
        ref = None
        if audio is not None and first_byte is not None:
            lead, _ = speech_extent(audio)
            first_audible = first_byte + lead
            playback_end = first_byte + audio.duration
            with self.env.stopwatch.time("storage"):
                ref = self.env.blobs.put(audio)
            self.rec.event(first_audible, "agent_audible", f.index)
            self.rec.event(playback_end, "agent_speech_end", f.index)
        heard_text = " ".join(f.transcripts)
        heard = (f.spans[0][0], f.spans[-1][1]) if f.spans else None
        asr = None
        if heard is not None or f.transcripts:
            start, end = heard if heard is not None else (self.pos, self.pos)
            conf = float(np.mean(f.confidences)) if f.confidences else 1.0
            asr = ASRTrace(
                text=heard_text,
                confidence=round(conf, 6),
                engine=self.asr_engine,
                audio_start=round(start, 6),
                audio_end=round(end, 6),
            )
        text = " ".join(f.texts)
        turn = AgentTurnTrace(
            index=f.index,
            trigger="utterance" if heard is not None else f.trigger,
            heard_start=_r(heard[0]) if heard else None,
            heard_end=_r(heard[1]) if heard else None,
            end_of_turn=f.end_of_turn,
            asr=asr,
            policy=PolicyTrace(action="transfer" if f.transferred else "reply"),
            tool_calls=f.tool_calls,
            reply_text=text,
            tts_text=text or None,
            reply_audio=ref,
            policy_start=f.end_of_turn,
            first_byte=_r(first_byte),
            first_audible=_r(first_audible),
            playback_end=_r(playback_end),
            end_call=f.end_call,
            transferred=f.transferred,
        )
        self.rec.add_turn(turn)
        if f.transferred:
            self.rec.event(playback_end or self.now(), "transfer", f.index)
        reply = Reply(turn, audio)
        self._done.append(reply)
        if audio is not None:
            self._audible.append(reply)
        else:
            self._started += 1  # a reply without audio (text, a hang-up) still answers

    def _collect(self) -> list[Reply]:
        if self._forming is not None and (
            self._forming.audio or self._forming.end_call or self._forming.texts
        ):
            self._finish_forming()
        out, self._done = self._done, []
        return out


def _joined(chunks: list[Audio]) -> Audio:
    """One reply's chunks at the call's rate. Chunks of one rate are joined before resampling:
    resampling each short chunk alone leaves a click at every boundary."""
    rate = chunks[0].sample_rate
    if all(c.sample_rate == rate for c in chunks):
        return Audio(np.concatenate([c.samples for c in chunks]), rate).resample(SAMPLE_RATE)
    return concat(chunks)


def open_tools(ref: ToolsRef, setup: CallSetup) -> ToolBackend:
    backend = TOOLSETS.create(ref.toolset, initial_state=setup.initial_state, **ref.params)
    return with_faults(backend, setup.faults)


def check_tools(ref: ToolsRef) -> None:
    """A streaming kind's preflight of its tool backend: the tool set exists and takes its
    params, so a bad name fails in one line before any call runs."""
    TOOLSETS.require(ref.toolset, "tools.toolset")
    build_part(TOOLSETS.create, ref.toolset, {"initial_state": {}, **ref.params}, "tools.params")


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 6)


def load_factory(ref: str, field: str) -> Callable[..., Any]:
    """The user's factory a framework kind names (``module:function`` or ``file.py:function``);
    a reference that does not resolve to a function is one error on ``field``."""
    try:
        factory = load_reference(ref)
    except UsageError as exc:
        raise UsageError(exc.message, field=field) from None
    if not callable(factory):
        raise UsageError(f"{ref} is a {type(factory).__name__}, not a function", field=field)
    return factory
