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


def test_no_reply_within_the_timeout_returns_nothing(tmp_path: Path) -> None:
    class Mute(Scripted):
        def open(self, link: AgentLink) -> None:
            self.link = link

        def push(self, frame: Audio) -> None:
            pass

    call, _rec, _cards = driver(tmp_path, Mute())
    assert call.start(0.0) == []
    assert call.ready_at() == pytest.approx(1.0)  # greeting_wait_s of silence was streamed
    assert call.hear(tone(0.5), 1.2) == []
    assert call.ready_at() == pytest.approx(1.7 + 3.0, abs=0.021)


def test_an_agent_failure_propagates_and_the_adapter_is_closed(tmp_path: Path) -> None:
    adapter = Scripted(fail_after=10)
    call, _rec, _cards = driver(tmp_path, adapter)
    call.start(0.0)
    with pytest.raises(AgentFailure, match="connection closed"):
        call.hear(tone(1.0), 1.0)
    assert call.finish() == {"frozen": []}
    assert adapter.closed
