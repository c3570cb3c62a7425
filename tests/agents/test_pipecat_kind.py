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
    Frame,
    FunctionCallInProgressFrame,
    InputAudioRawFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    OutputAudioRawFrame,
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
from callgate.speech.audio import SAMPLE_RATE, Audio
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


def streamed(tmp_path: Path, factory: Any, **params: Any) -> tuple[StreamingCall, CallRecorder]:
    adapter = PipecatAdapter(factory, params, call_id="c", measured=False, settle_timeout_s=1.0)
    settings = StreamSettings(clock="audio", reply_timeout_s=3.0, greeting_wait_s=0.5)
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
    # The bot said goodbye and ended the call itself (EndWorkerFrame).
    assert trace.ended_by == "agent_hangup" and trace.agent_turns[-1].end_call

    spec = [
        {"name": n} for n in ("ASRAccuracy", "TaskCompletion", "ToolSelectionAccuracy", "Timing")
    ]
    assert not score_run(store, p.run_id, spec, executor="inline").failed
    metrics = store.scores(p.run_id)[trace.call_id].metrics
    assert metrics["task_completion"] == 1.0
    assert metrics["tool_selection_accuracy"] == 1.0
    ttfa = metrics["ttfa_p50_s"]
    assert ttfa is not None and 0.2 < ttfa < 4.0
