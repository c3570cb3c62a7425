"""The streaming driver on its own: a scripted adapter (a test double standing in for a framework)
shows where replies, tool calls, cuts and failures land on the virtual clock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from callgate.agents.env import CallEnv
from callgate.agents.policy import JSON, ToolResult, ToolSchema
from callgate.agents.streaming import AgentLink, StreamingCall, StreamSettings
from callgate.agents.voice import AgentCall, AgentFailure, KeepsClock
from callgate.speech.audio import SAMPLE_RATE, Audio
from callgate.traces.recorder import CallRecorder


def tone(seconds: float, level: float = 0.3) -> Audio:
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return Audio((level * np.sin(2 * np.pi * 300 * t)).astype(np.float32))


class Cards:
    def __init__(self) -> None:
        self.frozen: list[str] = []

    def schemas(self) -> list[ToolSchema]:
        return [ToolSchema("freeze", "freeze a card", {"properties": {"card": {}}})]

    def call(self, name: str, args: JSON) -> ToolResult:
        self.frozen.append(args["card"])
        return ToolResult(ok=True, result={"status": "frozen"})

    def state(self) -> JSON:
        return {"frozen": list(self.frozen)}


class Scripted:
    """Greets; 200 ms after the caller stops it freezes a card and answers with 1 s of audio;
    stops talking as soon as it hears speech while its answer plays; fails on request."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.fail_after = fail_after
        self.pushed = 0
        self.silence = 0.0
        self.speaking = False
        self.talk_until = -1.0
        self.clock = 0.0

    def open(self, link: AgentLink) -> None:
        self.link = link
        link.reply_text("Hello.")
        link.agent_audio(tone(0.5))
        link.agent_audio_end()

    def push(self, frame: Audio) -> None:
        self.pushed += 1
        if self.fail_after is not None and self.pushed > self.fail_after:
            raise AgentFailure("connection closed by the agent")
        self.clock += frame.duration
        loud = float(np.max(np.abs(frame.samples))) > 0.05
        if loud:
            if self.clock < self.talk_until:
                self.link.interrupted()
                self.talk_until = -1.0
            self.speaking, self.silence = True, 0.0
            return
        self.silence += frame.duration
        if self.speaking and self.silence >= 0.2 - 1e-9:
            self.speaking = False
            self.link.user_turn_end()
            self.link.transcript("freeze my debit card", 0.9)
            self.link.tools.call("freeze", {"card": "debit"})
            self.link.reply_text("Your debit card is frozen.")
            self.link.agent_audio(tone(1.0))
            self.link.agent_audio_end()
            self.talk_until = self.clock + 1.0

    def close(self) -> None:
        self.closed = True


def driver(tmp_path: Path, adapter: Any) -> tuple[StreamingCall, CallRecorder, Cards]:
    rec, cards = CallRecorder(), Cards()
    settings = StreamSettings(clock="audio", reply_timeout_s=3.0, greeting_wait_s=1.0)
    call = StreamingCall(adapter, settings, cards, rec, CallEnv.at(tmp_path), "scripted-asr")
    return call, rec, cards


def test_replies_and_tool_calls_land_on_the_audio_clock(tmp_path: Path) -> None:
    call, rec, _cards = driver(tmp_path, Scripted())
    assert isinstance(call, AgentCall) and isinstance(call, KeepsClock)
    (greeting,) = call.start(0.0)
    assert greeting.turn.trigger == "start" and greeting.turn.first_byte == 0.0
    assert greeting.turn.playback_end == pytest.approx(0.5)

    (reply,) = call.hear(tone(1.0), 1.0)
    turn = reply.turn
    assert turn.trigger == "utterance"
    assert turn.heard_start == pytest.approx(1.0, abs=0.011)
    assert turn.heard_end == pytest.approx(2.0, abs=0.011)
    # 200 ms of silence after the caller stops: the reply starts at the end of that frame.
    assert turn.end_of_turn == pytest.approx(2.2, abs=1e-6)
    assert turn.first_byte == pytest.approx(2.2, abs=1e-6)
    assert turn.playback_end == pytest.approx(3.2, abs=1e-6)
    assert turn.asr is not None and turn.asr.text == "freeze my debit card"
    assert turn.asr.confidence == pytest.approx(0.9) and turn.asr.engine == "scripted-asr"
    assert turn.reply_text == "Your debit card is frozen." and reply.audio is not None
    (tool,) = rec.tool_calls
    assert tool.turn == turn.index and tool.args == {"card": "debit"} and tool.start == 2.2
    assert turn.tool_calls == [tool.index]
    # The driver stops streaming once the reply has started: the caller may still talk over it.
    assert call.ready_at() == pytest.approx(2.2, abs=1e-6)
    assert call.finish() == {"frozen": ["debit"]}


def test_caller_talking_over_a_reply_cuts_it_where_the_agent_stops(tmp_path: Path) -> None:
    call, _rec, _cards = driver(tmp_path, Scripted())
    call.start(0.0)
    (first,) = call.hear(tone(1.0), 1.0)
    assert first.turn.first_byte == pytest.approx(2.2, abs=1e-6)
    (second,) = call.hear(tone(0.6), 2.5)  # 0.3 s into the 1 s answer
    assert first.turn.interrupted
    assert first.turn.playback_end == pytest.approx(2.52, abs=1e-6)  # the first loud frame ends
    assert second.turn.heard_start == pytest.approx(2.5, abs=0.011)


def test_no_reply_to_the_callers_words_fails_the_call(tmp_path: Path) -> None:
    class Mute(Scripted):
        def open(self, link: AgentLink) -> None:
            self.link = link

        def push(self, frame: Audio) -> None:
            pass

    call, _rec, _cards = driver(tmp_path, Mute())
    assert call.start(0.0) == []
    assert call.ready_at() == pytest.approx(1.0)  # greeting_wait_s of silence was streamed
    assert call.idle(1.0, 1.5) == []  # silence asks for nothing
    with pytest.raises(AgentFailure, match="no reply within 3 s of the caller's words"):
        call.hear(tone(0.5), 1.6)
    assert call.ready_at() == pytest.approx(2.1 + 3.0, abs=0.021)


class TwoPart(Scripted):
    """Answers a request with "one moment" and then the answer, queued back to back, and stops
    at once when the caller talks over it."""

    def push(self, frame: Audio) -> None:
        self.clock += frame.duration
        loud = float(np.max(np.abs(frame.samples))) > 0.05
        if loud:
            if self.clock < self.talk_until:
                self.link.interrupted()
                self.talk_until = -1.0
            self.speaking, self.silence = True, 0.0
            return
        self.silence += frame.duration
        if self.speaking and self.silence >= 0.2 - 1e-9:
            self.speaking = False
            self.link.transcript("what is my balance")
            for text in ("One moment.", "Your balance is 1200 dollars."):
                self.link.reply_text(text)
                self.link.agent_audio(tone(1.0))
                self.link.agent_audio_end()
            self.talk_until = self.clock + 2.0


def test_talking_over_queued_replies_cuts_the_playing_one_and_drops_the_rest(
    tmp_path: Path,
) -> None:
    call, rec, _cards = driver(tmp_path, TwoPart())
    call.start(0.0)
    first, second = call.hear(tone(1.0), 1.0)  # replies at 2.2-3.2 and 3.2-4.2
    assert (first.turn.first_byte, second.turn.first_byte) == pytest.approx((2.2, 3.2))
    call.hear(tone(0.5), 2.7)  # half-way through "One moment."
    assert first.turn.interrupted and first.turn.playback_end == pytest.approx(2.72, abs=1e-6)
    assert second.turn.discarded and second.turn.playback_end is None
    kinds = [(e.kind, e.turn) for e in rec.events if e.kind in ("agent_cut", "reply_discarded")]
    assert kinds == [("agent_cut", first.turn.index), ("reply_discarded", second.turn.index)]


def test_words_after_a_pause_reach_the_agent_when_the_stream_does(tmp_path: Path) -> None:
    call, _rec, _cards = driver(tmp_path, Scripted())
    call.start(0.0)
    paused = Audio(
        np.concatenate([tone(0.6).samples, np.zeros(8000, np.float32), tone(0.6).samples])
    )
    early, late = call.hear(paused, 1.0)  # the agent answers the first part in the pause
    assert early.turn.heard_start == pytest.approx(1.0, abs=0.011)
    assert early.turn.heard_end == pytest.approx(1.6, abs=0.011)  # not the words still to come
    assert late.turn.trigger == "utterance"
    assert late.turn.heard_start == pytest.approx(2.1, abs=0.011)
    assert early.turn.interrupted  # the caller went on while it answered


def test_a_failure_keeps_what_the_agent_already_said(tmp_path: Path) -> None:
    class DropsAfterAnswering(Scripted):
        def push(self, frame: Audio) -> None:
            super().push(frame)
            if self.talk_until > 0:  # answered (and froze the card) in this very frame
                raise AgentFailure("connection closed by the agent")

    call, rec, _cards = driver(tmp_path, DropsAfterAnswering())
    call.start(0.0)
    with pytest.raises(AgentFailure) as failure:
        call.hear(tone(1.0), 1.0)
    (answer,) = failure.value.replies  # the simulator gets it with the failure
    assert answer.turn.reply_text == "Your debit card is frozen."
    assert [c.turn for c in rec.tool_calls] == [answer.turn.index]


def test_an_agent_failure_propagates_and_the_adapter_is_closed(tmp_path: Path) -> None:
    adapter = Scripted(fail_after=10)
    call, _rec, _cards = driver(tmp_path, adapter)
    call.start(0.0)
    with pytest.raises(AgentFailure, match="connection closed"):
        call.hear(tone(1.0), 1.0)
    assert call.finish() == {"frozen": []}
    assert adapter.closed


class Listening(Scripted):
    """Scripted, and keeps every frame it was streamed."""

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[Audio] = []

    def push(self, frame: Audio) -> None:
        self.frames.append(frame)
        super().push(frame)


def test_the_line_between_the_callers_words_is_streamed_not_silence(tmp_path: Path) -> None:
    def hum(t0: float, t1: float) -> Audio:  # a quiet room: below the agent's speech level
        return Audio(np.full(round((t1 - t0) * SAMPLE_RATE), 0.01, dtype=np.float32))

    agent = Listening()
    rec, cards = CallRecorder(), Cards()
    settings = StreamSettings(clock="audio", reply_timeout_s=3.0, greeting_wait_s=1.0)
    call = StreamingCall(agent, settings, cards, rec, CallEnv.at(tmp_path), "asr", hum)
    call.start(0.0)
    call.hear(tone(1.0), 1.5)
    before_words = np.concatenate([f.samples for f in agent.frames])[:SAMPLE_RATE]
    assert np.allclose(before_words, 0.01)  # the room, from the first frame on
    # Less than a sample to go streams nothing and returns (it once spun forever).
    pos = call.pos
    call._stream_silence(pos + 1e-8)
    assert call.pos == pos
