"""Seeded provider faults: which requests fail is fixed by the call seed and the request index,
and the pipeline's timeouts, retries and fallbacks put each failure's cost on the virtual clock.
The engines here are test doubles: these tests are about timing and bookkeeping, not speech."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from agents.test_streaming import Cards
from callgate.agents.env import CallEnv
from callgate.agents.faults import FaultPlan, take_fault, with_faults
from callgate.agents.latency import LatencySampler
from callgate.agents.pipeline_config import PipelineConfig
from callgate.agents.pipeline_faults import Stages
from callgate.agents.streaming import AgentLink, StreamingCall, StreamSettings
from callgate.agents.voice import AgentFailure
from callgate.scenarios.faults import FaultSpec
from callgate.speech.audio import SAMPLE_RATE, Audio
from callgate.speech.protocols import ASR_ENGINES, ASRHints, ASRResult
from callgate.traces.recorder import CallRecorder

TIMEOUT = FaultSpec(stage="asr", kind="timeout", share=0.2, after_s=3.0)


def test_the_plan_is_a_function_of_seed_stage_request_and_attempt() -> None:
    plan = FaultPlan("t", (TIMEOUT,), seed=42)
    hits = [plan.draw("asr", n, 0, "whisper", primary=True) is not None for n in range(20_000)]
    again = [plan.draw("asr", n, 0, "whisper", primary=True) is not None for n in range(20_000)]
    assert hits == again  # no generator state: asking twice, or in another order, is the same
    assert 0.19 < sum(hits) / len(hits) < 0.21  # the share of requests it names
    other_seed = FaultPlan("t", (TIMEOUT,), seed=43)
    assert hits != [other_seed.draw("asr", n, 0, "whisper", True) is not None for n in range(200)]
    retries = [plan.draw("asr", n, 1, "whisper", primary=True) is not None for n in range(20_000)]
    assert sum(a and b for a, b in zip(hits, retries, strict=True)) < 0.06 * len(hits)
    assert plan.draw("tts", 0, 0, "piper", primary=True) is None  # another stage


def test_faults_aim_at_the_primary_unless_they_name_a_provider() -> None:
    always = FaultSpec(stage="asr", kind="error", share=1.0)
    plan = FaultPlan("t", (always,), seed=1)
    assert plan.draw("asr", 0, 0, "whisper", primary=True) is always
    assert plan.draw("asr", 0, 1, "pocketsphinx", primary=False) is None  # the fallback is spared
    outage = FaultSpec(stage="asr", kind="error", share=1.0, provider="whisper")
    plan = FaultPlan("t", (outage,), seed=1)
    assert plan.draw("asr", 0, 1, "whisper", primary=False) is outage  # a whisper fallback too
    assert plan.draw("asr", 0, 0, "pocketsphinx", primary=True) is None


def test_faults_of_one_target_split_its_requests_without_overlap() -> None:
    slow = FaultSpec(stage="tts", kind="slow", share=0.3, extra_s=1.0)
    error = FaultSpec(stage="tts", kind="error", share=0.3)
    plan = FaultPlan("t", (slow, error), seed=7)
    drawn = [plan.draw("tts", n, 0, "piper", primary=True) for n in range(10_000)]
    assert 0.28 < drawn.count(slow) / 10_000 < 0.32
    assert 0.28 < drawn.count(error) / 10_000 < 0.32
    assert 0.38 < drawn.count(None) / 10_000 < 0.42


# -- the pipeline's stages ------------------------------------------------------------------------


class Ear:
    """An ASR double that says which engine heard the clip."""

    def __init__(self, name: str = "ear") -> None:
        self.name = name

    def identity(self) -> str:
        return self.name

    def transcribe(self, audio: Audio, hints: ASRHints | None = None) -> ASRResult:
        return ASRResult(f"heard by {self.name}", 0.9)


@pytest.fixture(autouse=True)
def ears() -> Iterator[None]:
    ASR_ENGINES.register("ear")(Ear)
    ASR_ENGINES.register("spare-ear")(lambda: Ear("spare-ear"))
    yield
    ASR_ENGINES.unregister("ear")
    ASR_ENGINES.unregister("spare-ear")


def stages(tmp_path: Path, plan: FaultPlan | None, **asr: object) -> tuple[Stages, CallRecorder]:
    config = PipelineConfig.model_validate(
        {
            "policy": {"name": "p", "latency": {"base_s": 0.1, "jitter": 0.0}},
            "tools": {"toolset": "t"},
            "asr": {"engine": "ear", "latency": {"base_s": 0.5, "per_audio_s": 0, "jitter": 0}}
            | asr,
        }
    )
    rec = CallRecorder()
    sampler = LatencySampler(np.random.default_rng(0))
    env = CallEnv.at(tmp_path)
    return Stages(config, env, (Ear(), ASRHints()), sampler, rec, plan, seed=5), rec


CLIP = Audio(np.zeros(SAMPLE_RATE, dtype=np.float32))
ALWAYS_TIMEOUT = FaultPlan("down", (FaultSpec(stage="asr", kind="timeout", share=1.0),), 9)


def test_a_timeout_without_a_fallback_leaves_the_turn_unheard(tmp_path: Path) -> None:
    s, rec = stages(tmp_path, ALWAYS_TIMEOUT)
    got = s.transcribe(CLIP, 10.0, turn=3)
    assert not got.ok and got.result.text == "" and got.done == pytest.approx(15.0)  # after_s 5
    (event,) = rec.events
    assert event.kind == "provider_fault" and event.t == pytest.approx(15.0) and event.turn == 3
    assert event.data["stage"] == "asr" and event.data["fault"] == "timeout"
    assert event.data["failed"] is True and event.data["profile"] == "down"


def test_the_fallback_hears_the_same_audio_after_the_agents_timeout(tmp_path: Path) -> None:
    spare = {"engine": "spare-ear", "latency": {"base_s": 0.7, "per_audio_s": 0, "jitter": 0}}
    s, rec = stages(tmp_path, ALWAYS_TIMEOUT, timeout_s=2.0, fallback=spare)
    got = s.transcribe(CLIP, 10.0, turn=3)
    # 2 s waiting for the primary, then the fallback's own 0.7 s
    assert got.ok and got.result.text == "heard by spare-ear"
    assert got.engine == "spare-ear (fallback)"
    assert got.done == pytest.approx(12.7)
    assert [(e.t, e.data["waited_s"]) for e in rec.events] == [(12.0, 2.0)]


def test_retries_try_the_primary_again_and_a_fault_free_call_is_untouched(tmp_path: Path) -> None:
    s, rec = stages(tmp_path, ALWAYS_TIMEOUT, timeout_s=1.0, retries=2)
    got = s.transcribe(CLIP, 0.0, turn=1)
    assert not got.ok and got.done == pytest.approx(3.0)  # three attempts, 1 s each
    assert [e.data["attempt"] for e in rec.events] == [0, 1, 2]
    clean, rec = stages(tmp_path, None, timeout_s=1.0, retries=2)
    got = clean.transcribe(CLIP, 0.0, turn=1)
    assert got.ok and got.done == pytest.approx(0.5) and got.engine == "ear" and not rec.events


def test_a_slow_answer_past_the_timeout_is_given_up(tmp_path: Path) -> None:
    slow = FaultPlan("slow", (FaultSpec(stage="asr", kind="slow", share=1.0, extra_s=0.4),), 1)
    s, rec = stages(tmp_path, slow)
    got = s.transcribe(CLIP, 0.0, turn=1)
    assert got.ok and got.done == pytest.approx(0.9)  # 0.5 + 0.4: late, but heard
    assert rec.events[0].data["fault"] == "slow" and rec.events[0].data["failed"] is False
    s, rec = stages(tmp_path, slow, timeout_s=0.8)
    got = s.transcribe(CLIP, 0.0, turn=1)
    assert not got.ok and got.done == pytest.approx(0.8)
    assert rec.events[0].data["fault"] == "timeout" and rec.events[0].data["injected"] is True


class Cursor:
    cursor = 0.0


def test_a_policy_that_never_answers_fails_the_call_after_its_retries(tmp_path: Path) -> None:
    down = FaultSpec(stage="policy", kind="error", share=1.0, after_s=0.5)
    s, _rec = stages(tmp_path, FaultPlan("llm-down", (down,), 3))
    tools = Cursor()
    with pytest.raises(AgentFailure, match="policy gave no answer"):
        s.before_policy(tools, 1.0, 0.1, turn=2, chars=10)
    assert tools.cursor == pytest.approx(1.5)


# -- tool faults, for every agent kind ---------------------------------------------------------


TOOL_DOWN = FaultPlan("tools-down", (FaultSpec(stage="tool", kind="timeout", share=1.0),), 2)


def test_a_faulted_tool_request_never_reaches_the_backend() -> None:
    cards = Cards()
    tools = with_faults(cards, TOOL_DOWN)
    result = tools.call("freeze", {"card": "debit"})
    assert not result.ok and "timed out" in (result.error or "") and cards.frozen == []
    fault = take_fault(tools)
    assert fault is not None and fault.took(0.2) == 5.0 and take_fault(tools) is None
    assert with_faults(cards, None) is cards  # no plan, no wrapper


class OneTool:
    """A streaming agent double: on the first frame it calls a tool, then says something."""

    def open(self, link: AgentLink) -> None:
        self.link = link

    def push(self, frame: Audio) -> None:
        if not getattr(self, "done", False):
            self.done = True
            self.link.tools.call("freeze", {"card": "debit"})
            self.link.reply_text("I could not freeze it.")
            self.link.agent_audio(Audio(np.full(SAMPLE_RATE // 2, 0.2, dtype=np.float32)))
            self.link.agent_audio_end()

    def close(self) -> None:
        pass


def test_a_streaming_agent_waits_out_a_tool_timeout_on_the_call_clock(tmp_path: Path) -> None:
    rec, cards = CallRecorder(), Cards()
    settings = StreamSettings(clock="audio", greeting_wait_s=1.0)
    backend = with_faults(cards, TOOL_DOWN)
    call = StreamingCall(OneTool(), settings, backend, rec, CallEnv.at(tmp_path), "own")
    (reply,) = call.start(0.0)
    (tool,) = rec.tool_calls
    assert not tool.ok and tool.end - tool.start == pytest.approx(5.0) and cards.frozen == []
    assert reply.turn.first_byte == pytest.approx(tool.end)  # the agent spoke once it gave up
    assert [e.kind for e in rec.events].count("provider_fault") == 1
