"""The ``pipecat`` agent kind: a real Pipecat pipeline (``pipecat_bot.py``, built from Pipecat's own
classes) called through the normal run path and scored, and the kind's configuration errors."""

from __future__ import annotations

import asyncio
import importlib.util
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pipecat.frames.frames import (
    EndFrame,
    EndWorkerFrame,
    Frame,
    FunctionCallInProgressFrame,
    InputAudioRawFrame,
    InterruptionFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    OutputAudioRawFrame,
    TranscriptionFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from callgate.agents.env import CallEnv
from callgate.agents.pipecat.adapter import PipecatAdapter
from callgate.agents.pipecat.config import PipecatConfig
from callgate.agents.pipecat.kind import PIPECAT, check
from callgate.agents.policy import ToolResult, ToolSchema
from callgate.agents.streaming import StreamingCall, StreamSettings
from callgate.agents.voice import AGENTS, AgentFailure
from callgate.errors import UsageError
from callgate.execution import preflight
from callgate.execution.runner import RunRequest, execute, plan
from callgate.execution.scoring import score_run
from callgate.scenarios import load_suite
from callgate.speech.audio import SAMPLE_RATE, Audio, concat
from callgate.store.db import Store
from callgate.traces.recorder import CallRecorder
from callgate.variants import load_variants

BOT = Path(__file__).with_name("pipecat_bot.py")
VARIANT = """\
schema_version: 2
name: pipecat-bot
agent:
  kind: pipecat
  pipeline: {pipeline}
  params:
    policy_params: {{training: [intents], min_intent_confidence: 0.45}}
    asr_params: {{model: tiny.en, beam_size: 1, cpu_threads: 1}}
  tools: {{toolset: banking, schema_version: banking-v1}}
"""


@pytest.fixture
def pipecat_kind() -> Iterator[None]:
    """The kind, registered here until pyproject's entry point offers it."""
    offered = "pipecat" in AGENTS.names()
    if not offered:
        AGENTS.register("pipecat")(PIPECAT)  # type: ignore[arg-type]
    yield
    if not offered:
        AGENTS.unregister("pipecat")


def config(**agent: Any) -> PipecatConfig:
    block = {"pipeline": f"{BOT}:create_bot", "tools": {"toolset": "banking"}, **agent}
    return PipecatConfig.model_validate(block)


def tone(seconds: float, rate: int = SAMPLE_RATE) -> Audio:
    t = np.arange(round(seconds * rate)) / rate
    return Audio((0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32), rate)


class Answerer(FrameProcessor):
    """A bot with no models: 0.5 s (on Pipecat's clock) after the caller goes quiet it freezes a
    card and says so with a tone at 24 kHz; with ``hang`` it starts a function call that never
    returns."""

    def __init__(self, tools: Any, hang: bool) -> None:
        super().__init__()
        self.tools, self.hang = tools, hang
        self.spoke = False
        self.timer: asyncio.Task[None] | None = None

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            loud = np.abs(np.frombuffer(frame.audio, dtype=np.int16)).max() > 1000
            if loud:
                self.spoke = True
            elif self.spoke and self.timer is None:
                self.timer = self.create_task(self._answer())
        await self.push_frame(frame, direction)

    async def _answer(self) -> None:
        await asyncio.sleep(0.5)
        self.spoke, self.timer = False, None
        if self.hang:
            await self.broadcast_frame(
                FunctionCallInProgressFrame, function_name="freeze", tool_call_id="c1", arguments={}
            )
            return
        self.tools.call("freeze", {"card": "debit"})
        await self.push_frame(LLMFullResponseStartFrame())
        await self.push_frame(LLMTextFrame("Your card is frozen."))
        pcm = tone(1.0, 24000).pcm16().tobytes()
        await self.push_frame(OutputAudioRawFrame(audio=pcm, sample_rate=24000, num_channels=1))
        await self.push_frame(LLMFullResponseEndFrame())


def answerer(transport: Any, tools: Any, hang: bool = False) -> Pipeline:
    return Pipeline([transport.input(), Answerer(tools, hang), transport.output()])


class Cards:
    def __init__(self) -> None:
        self.frozen: list[str] = []

    def schemas(self) -> list[ToolSchema]:
        return [ToolSchema("freeze", "freeze a card", {"properties": {"card": {}}})]

    def call(self, name: str, args: dict[str, Any]) -> ToolResult:
        self.frozen.append(args["card"])
        return ToolResult(ok=True, result={"status": "frozen"})

    def state(self) -> dict[str, Any]:
        return {"frozen": list(self.frozen)}


def streamed(
    tmp_path: Path, factory: Any, measured: bool = False, **params: Any
) -> tuple[StreamingCall, CallRecorder]:
    adapter = PipecatAdapter(factory, params, call_id="c", measured=measured, settle_timeout_s=1.0)
    clock = "measured" if measured else "audio"
    settings = StreamSettings(clock=clock, reply_timeout_s=3.0, greeting_wait_s=0.5)
    rec = CallRecorder()
    call = StreamingCall(adapter, settings, Cards(), rec, CallEnv.at(tmp_path), "pipecat")
    adapter.prepare(call)
    return call, rec


def test_pipecat_timers_run_on_the_call_clock(tmp_path: Path) -> None:
    call, rec = streamed(tmp_path, answerer)
    wall = time.perf_counter()
    assert call.start(0.0) == []
    (reply,) = call.hear(tone(1.0), 1.0)
    # The 0.5 s timer started with the first quiet frame (ending at 2.02 s) and fired with the
    # frame that reached 2.52 s of streamed audio, however fast the audio was fed.
    assert reply.turn.first_byte == pytest.approx(2.52, abs=1e-6)
    assert reply.turn.playback_end == pytest.approx(3.52, abs=0.011)
    assert reply.turn.reply_text == "Your card is frozen."
    assert reply.audio is not None and reply.audio.sample_rate == SAMPLE_RATE
    (tool,) = rec.tool_calls
    assert tool.turn == reply.turn.index and tool.start == pytest.approx(2.52, abs=1e-6)
    assert call.finish() == {"frozen": ["debit"]}
    assert time.perf_counter() - wall < 10.0  # 5.5 s of call, fed faster than real time


def test_a_call_that_never_returns_fails_the_call_naming_it(tmp_path: Path) -> None:
    call, _rec = streamed(tmp_path, answerer, hang=True)
    call.start(0.0)
    with pytest.raises(AgentFailure, match="function call c1 that never returned"):
        call.hear(tone(1.0), 1.0)
    assert call.finish() == {"frozen": []}


GOODBYE = "Thank you for calling. Goodbye!"


class Goodbyer(FrameProcessor):
    """A bot that says goodbye (1.5 s of tone) 0.5 s after the caller goes quiet and hangs up
    (``EndWorkerFrame`` upstream, before its response ends, as an LLM service may push it). It
    answers every transcript it gets, even one that arrives as its pipeline shuts down."""

    def __init__(self) -> None:
        super().__init__()
        self.spoke, self.heard = False, 0
        self.timer: asyncio.Task[None] | None = None

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            if np.abs(np.frombuffer(frame.audio, dtype=np.int16)).max() > 1000:
                self.spoke = True
            elif self.spoke and self.timer is None:
                self.timer = self.create_task(self._goodbye())
        if isinstance(frame, TranscriptionFrame):
            self.heard += 1
            return
        await self.push_frame(frame, direction)
        if isinstance(frame, EndFrame):  # the LLM answers a turn queued behind the EndFrame
            for _ in range(self.heard):
                await self._say(audio=False)

    async def _goodbye(self) -> None:
        await asyncio.sleep(0.5)
        await self._say(audio=True)

    async def _say(self, audio: bool) -> None:
        await self.push_frame(LLMFullResponseStartFrame())
        await self.push_frame(LLMTextFrame(GOODBYE))
        await self.push_frame(EndWorkerFrame(), FrameDirection.UPSTREAM)
        if audio:
            pcm = tone(1.5, 24000).pcm16().tobytes()
            await self.push_frame(OutputAudioRawFrame(audio=pcm, sample_rate=24000, num_channels=1))
        await self.push_frame(LLMFullResponseEndFrame())


class LateTranscriber(FrameProcessor):
    """Where a segmented STT sits: on the way out (``EndFrame``) it transcribes, on a thread, the
    words it still holds, and the user aggregator after it turns them into a user turn that
    interrupts the bot, as Pipecat's do."""

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, EndFrame):
            await asyncio.to_thread(time.sleep, 0.2)
            await self.push_frame(TranscriptionFrame("Thank you.", "", "2026-01-01T00:00:00Z"))
            await self.push_frame(InterruptionFrame())
        await self.push_frame(frame, direction)


def goodbyer(transport: Any, tools: Any) -> Pipeline:
    return Pipeline([transport.input(), LateTranscriber(), Goodbyer(), transport.output()])


def test_the_bot_s_goodbye_is_played_whole_and_said_once_when_it_hangs_up(tmp_path: Path) -> None:
    call, rec = streamed(tmp_path, goodbyer)
    call.start(0.0)
    (reply,) = call.hear(tone(1.0), 1.0)
    call.finish()
    # One goodbye: all of its audio, its text once, and the hang-up on it. What the pipeline did
    # on its way out (a late transcript, the user turn and interruption it started, and the
    # answer the LLM gave it after the EndFrame) is not part of the call.
    assert [t.index for t in rec.agent_turns] == [reply.turn.index]
    turn = reply.turn
    assert turn.reply_text == GOODBYE
    assert reply.audio is not None and reply.audio.duration == pytest.approx(1.5, abs=0.05)
    assert turn.end_call and not turn.interrupted and not turn.discarded
    assert turn.first_byte is not None and turn.playback_end is not None
    assert turn.playback_end - turn.first_byte == pytest.approx(1.5, abs=0.05)
    assert "Thank you." not in (turn.asr.text if turn.asr else "")


class Listener(FrameProcessor):
    """End of turn as Pipecat times it: when the caller goes quiet, the segment goes to a slow
    transcription thread (0.8 s) and a 0.5 s end-of-turn timer starts; the caller speaking again
    cancels the timer. When it fires, the bot answers with a tone."""

    def __init__(self) -> None:
        super().__init__()
        self.spoke = False
        self.timer: asyncio.Task[None] | None = None

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            if np.abs(np.frombuffer(frame.audio, dtype=np.int16)).max() > 1000:
                self.spoke = True
                if self.timer is not None:
                    await self.cancel_task(self.timer)
                    self.timer = None
            elif self.spoke and self.timer is None:
                self.spoke = False
                self.create_task(asyncio.to_thread(time.sleep, 0.8))  # the transcription
                self.timer = self.create_task(self._end_of_turn())
        await self.push_frame(frame, direction)

    async def _end_of_turn(self) -> None:
        await asyncio.sleep(0.5)
        self.timer = None
        await self.push_frame(LLMFullResponseStartFrame())
        await self.push_frame(LLMTextFrame("Your balance is 1,200 dollars."))
        pcm = tone(1.0, 24000).pcm16().tobytes()
        await self.push_frame(OutputAudioRawFrame(audio=pcm, sample_rate=24000, num_channels=1))
        await self.push_frame(LLMFullResponseEndFrame())


def listener(transport: Any, tools: Any) -> Pipeline:
    return Pipeline([transport.input(), Listener(), transport.output()])


def test_the_pipeline_hears_the_caller_while_its_threads_work(tmp_path: Path) -> None:
    # clock: measured. The caller pauses 0.2 s mid-utterance; the slow transcription of the words
    # before the pause runs 0.8 s of wall (and call) time. The caller's audio keeps coming in
    # meanwhile, as on a real line, so the end-of-turn timer is cancelled when they go on and
    # the bot answers after the whole utterance, not in the middle of it.
    call, rec = streamed(tmp_path, listener, measured=True)
    call.start(0.0)
    words = concat([tone(1.0), Audio.silence(0.2), tone(1.0)])
    replies = call.hear(words, 1.0)
    call.finish()
    assert [r.turn.reply_text for r in replies] == ["Your balance is 1,200 dollars."]
    first_byte = replies[0].turn.first_byte
    assert first_byte is not None and 3.2 + 0.5 <= first_byte < 3.2 + 1.0, first_byte
    assert len(rec.agent_turns) == 1


def test_a_failing_factory_fails_the_call(tmp_path: Path) -> None:
    def broken(transport: Any, tools: Any) -> Pipeline:
        raise RuntimeError("no API key")

    call, _rec = streamed(tmp_path, broken)
    with pytest.raises(AgentFailure, match="factory failed: RuntimeError: no API key"):
        call.start(0.0)
    call.finish()


def test_check_names_the_field_at_fault(monkeypatch: pytest.MonkeyPatch) -> None:
    check(config(), None)  # the test bot resolves and takes no params

    with pytest.raises(UsageError) as bad:
        check(config(pipeline="no_such_module_here:create_bot"), None)
    assert bad.value.field == "pipeline" and "no_such_module_here" in bad.value.message

    with pytest.raises(UsageError) as bad:
        check(config(pipeline=f"{BOT}:PolicyLLM.nothing"), None)
    assert bad.value.field == "pipeline"

    with pytest.raises(UsageError) as bad:
        check(config(pipeline=f"{BOT}:_policy_input"), None)  # takes no transport or tools
    assert bad.value.field == "pipeline" and "transport and tools" in bad.value.message

    with pytest.raises(UsageError) as bad:
        check(config(params={"colour": "blue"}), None)
    assert bad.value.field == "params" and "colour" in bad.value.message

    with pytest.raises(UsageError) as bad:
        check(config(tools={"toolset": "no-such-tools"}), None)
    assert bad.value.field == "tools.toolset"

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pipecat" else real(name, *a)
    )
    with pytest.raises(UsageError) as bad:
        check(config(), None)
    assert bad.value.field == "kind" and "callgate[pipecat]" in bad.value.message


def test_a_variant_names_its_factory_as_a_reference(tmp_path: Path, pipecat_kind: None) -> None:
    variant = tmp_path / "bot.yaml"
    variant.write_text(VARIANT.format(pipeline="create_bot"), encoding="utf-8")
    with pytest.raises(UsageError) as bad:
        load_variants([str(variant)])
    assert bad.value.field is not None and bad.value.field.startswith("agent.pipeline")

    # A file reference is made absolute against the variant file, so workers elsewhere find it.
    (tmp_path / "bot.py").write_text("def create_bot(transport, tools):\n    pass\n")
    variant.write_text(VARIANT.format(pipeline="bot.py:create_bot"), encoding="utf-8")
    (loaded,) = load_variants([str(variant)])
    assert loaded.variant.agent.config()["pipeline"] == f"{tmp_path / 'bot.py'}:create_bot"

    # A factory that does not resolve stops the run before anything is written.
    variant.write_text(VARIANT.format(pipeline="no_such_bot:create_bot"), encoding="utf-8")
    suite = load_suite("banking")
    variants = load_variants([str(variant)], suite)
    p = plan(
        RunRequest(suite, variants, scenarios=["freeze-debit-simple"], cohort=["voice=us-joe"])
    )
    with pytest.raises(UsageError) as bad:
        preflight.check(suite, variants, p)
    assert bad.value.field == "agent.pipeline" and bad.value.source == str(variant)


@pytest.mark.slow
def test_a_banking_call_through_a_real_pipecat_pipeline_is_traced_and_scored(
    tmp_path: Path, shared_store: Path, pipecat_kind: None
) -> None:
    variant = tmp_path / "pipecat.yaml"
    variant.write_text(VARIANT.format(pipeline=f"{BOT}:create_bot"), encoding="utf-8")
    suite = load_suite("banking")
    request = RunRequest(
        suite,
        load_variants([str(variant)], suite),
        scenarios=["freeze-debit-simple"],
        cohort=["voice=us-joe", "noise=clean"],
    )
    p = plan(request)
    store = Store.open(shared_store)
    outcome = execute(store, p, executor="inline")
    assert not outcome.failed, outcome.failed
    (trace,) = store.calls(p.run_id)
    assert trace.ended_by != "error", trace.error

    # The caller was heard: Pipecat's STT transcripts are the turns' ASR text.
    heard = [t.asr.text.lower() for t in trace.agent_turns if t.asr is not None]
    assert any("freeze" in h and "debit" in h for h in heard), heard
    assert any(h.startswith("yes") for h in heard), heard
    # The freeze went through Pipecat's function calling to callgate's tool backend.
    (freeze,) = [c for c in trace.tool_calls if c.tool == "freeze_card"]
    assert freeze.args == {"card": "debit"} and freeze.ok
    # The reply after the request was played, a plausible time after the caller stopped.
    answer = next(t for t in trace.agent_turns if freeze.index in t.tool_calls)
    assert answer.first_audible is not None and answer.heard_end is not None
    assert 0.2 < answer.first_audible - answer.heard_end < 4.0
    assert answer.end_of_turn is not None and answer.heard_end < answer.end_of_turn
    assert "frozen" in answer.reply_text.lower()
    # The bot said goodbye and ended the call itself (EndWorkerFrame): the whole goodbye, said
    # once, is the last turn.
    assert trace.ended_by == "agent_hangup"
    goodbye = trace.agent_turns[-1]
    assert goodbye.end_call and not goodbye.interrupted
    assert goodbye.reply_text == "Thank you for calling. Goodbye!"
    assert goodbye.first_byte is not None and goodbye.playback_end is not None
    played = goodbye.playback_end - goodbye.first_byte
    assert 0.04 * len(goodbye.reply_text) < played < 0.1 * len(goodbye.reply_text), played

    spec = [
        {"name": n} for n in ("ASRAccuracy", "TaskCompletion", "ToolSelectionAccuracy", "Timing")
    ]
    assert not score_run(store, p.run_id, spec, executor="inline").failed
    metrics = store.scores(p.run_id)[trace.call_id].metrics
    assert metrics["task_completion"] == 1.0
    assert metrics["tool_selection_accuracy"] == 1.0
    ttfa = metrics["ttfa_p50_s"]
    assert ttfa is not None and 0.2 < ttfa < 4.0
