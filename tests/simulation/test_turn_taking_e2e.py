"""Turn-taking measured on real simulated calls (slow: real TTS, VAD and ASR).

The yield latency of a barge-in must come out as the variant's turn settings make it, and a
backchannel must be carried through the simulator so the evaluator can tell an agent that talks on
from one that stops and answers "mm-hm".
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest

from callgate.agents.pipeline import PipelineAgent
from callgate.agents.pipeline_config import PipelineConfig
from callgate.agents.voice import AGENTS, AgentCall, AgentKind, CallSetup, Reply
from callgate.evaluators.base import EvalContext
from callgate.evaluators.turn_taking import TurnTaking
from callgate.execution.runner import RunRequest, execute, plan
from callgate.execution.scoring import score_run
from callgate.report.data import load_run
from callgate.report.turn_taking import turn_taking_section
from callgate.scenarios import load_suite
from callgate.speech.audio import Audio, speech_extent
from callgate.store.db import Store
from callgate.traces.model import CallTrace
from callgate.traces.recorder import CallRecorder
from callgate.variants.load import LoadedVariant, load_variant, load_variants

pytestmark = pytest.mark.slow

COHORT = ["voice=us-joe", "noise=clean"]


def simulate(root: Path, scenario: str, variants: list[LoadedVariant]) -> list[CallTrace]:
    suite = load_suite("banking")
    p = plan(RunRequest(suite, variants, scenarios=[scenario], cohort=COHORT))
    store = Store.open(root)
    outcome = execute(store, p, executor="inline")
    assert not outcome.failed, outcome.failed
    return sorted(store.calls(p.run_id), key=lambda t: t.variant)


def test_barge_in_yield_latency_is_what_the_turn_settings_make_it(shared_store: Path) -> None:
    suite = load_suite("banking")
    variants = load_variants(["baseline"], suite)
    turn = PipelineConfig.model_validate(variants[0].variant.agent.config()).turn
    # The agent detects speech after barge_in_min_speech_ms and stops barge_in_stop_ms later.
    expected = (turn.barge_in_min_speech_ms + turn.barge_in_stop_ms) / 1000.0
    assert expected == pytest.approx(0.35)
    (trace,) = simulate(shared_store, "multi-barge-in-balance-then-freeze", variants)
    res = TurnTaking().score_call(trace, EvalContext())
    assert res.metrics["talk_overs"] == 1 and res.metrics["yield_rate"] == 1.0
    assert res.metrics["yield_latency_s"] == pytest.approx(expected, abs=0.005)
    (over,) = res.details["talk_overs"]
    assert trace.agent_turns[over["agent_turn"]].interrupted
    assert trace.caller_turns[over["caller_turn"]].interrupting
    # Every caller turn but the barge-in was answered after the caller finished.
    assert res.metrics["answered_turns"] == len(trace.caller_turns)
    assert res.metrics["agent_interruption_rate"] == 0.0

    # Scored like any run, the report shows the numbers per cohort.
    store = Store.open(shared_store)
    run_id = trace.run_id
    assert not score_run(store, run_id, [{"name": "TurnTaking"}], executor="inline").failed
    html = turn_taking_section(load_run(store, run_id), min_events=1)
    assert trace.cohort_id in html and "0.35 <span" in html  # yield latency p50, 1 event
    assert "too few events (1)" in turn_taking_section(load_run(store, run_id))


# -- an agent that lets a backchannel pass, beside the pipeline that takes it for a turn ----------


class FilteringConfig(PipelineConfig):
    kind: Literal["filtering"] = "filtering"  # type: ignore[assignment]


class _Filtering:
    """The pipeline's call, except that short speech over its own playing reply never reaches
    it: what an agent with a backchannel filter does (a fake for this test only)."""

    def __init__(self, inner: AgentCall) -> None:
        self.inner = inner
        self.replies: list[Reply] = []

    def _keep(self, replies: list[Reply]) -> list[Reply]:
        self.replies += replies
        return replies

    def start(self, t: float) -> list[Reply]:
        return self._keep(self.inner.start(t))

    def hear(self, audio: Audio, start: float) -> list[Reply]:
        a, b = speech_extent(audio)
        playing = any(
            r.turn.first_audible is not None
            and r.turn.playback_end is not None
            and r.turn.first_audible <= start + a < r.turn.playback_end
            for r in self.replies
        )
        if playing and b - a < 1.0:
            return []
        return self._keep(self.inner.hear(audio, start))

    def idle(self, since: float, until: float, max_replies: int = 10) -> list[Reply]:
        return self._keep(self.inner.idle(since, until, max_replies))

    def finish(self) -> dict[str, Any]:
        return self.inner.finish()


class FilteringAgent(PipelineAgent):
    kind = "filtering"

    def open_call(self, setup: CallSetup, recorder: CallRecorder) -> AgentCall:
        return _Filtering(super().open_call(setup, recorder))


@pytest.fixture
def filtering_kind() -> Iterator[None]:
    AGENTS.register("filtering")(AgentKind(config_model=FilteringConfig, create=FilteringAgent))
    yield
    AGENTS.unregister("filtering")


def test_backchannel_handled_by_a_filtering_agent_not_by_the_pipeline(
    shared_store: Path, tmp_path: Path, filtering_kind: None
) -> None:
    suite = load_suite("banking")
    (baseline,) = load_variants(["baseline"], suite)
    text = baseline.path.read_text().replace("kind: pipeline", "kind: filtering")
    path = tmp_path / "filtering.yaml"
    path.write_text(text.replace("name: baseline", "name: filtering"))
    base, filtering = simulate(
        shared_store, "balance-backchannel-answer", [baseline, load_variant(str(path), suite)]
    )
    assert (base.variant, filtering.variant) == ("baseline", "filtering")
    for trace in (base, filtering):
        bc = [u for u in trace.caller_turns if u.backchannel]
        assert [u.text for u in bc] == ["Mm-hm."] and not bc[0].interrupting

    # The pipeline stops ("mm-hm" is longer than its barge-in minimum) and answers it.
    res = TurnTaking().score_call(base, EvalContext())
    assert res.metrics["backchannels"] == 1 and res.metrics["backchannel_handled_rate"] == 0.0
    assert res.details["backchannels"][0]["kept_talking"] is False
    assert res.details["backchannels"][0]["taken_as_turn"] is True

    # The filtering agent talks on; the caller hears the answer out, then says its closing.
    res = TurnTaking().score_call(filtering, EvalContext())
    assert res.metrics["backchannels"] == 1 and res.metrics["backchannel_handled_rate"] == 1.0
    answer = filtering.agent_turns[1]
    assert not answer.interrupted and answer.playback_end is not None
    closing = filtering.caller_turns[-1]
    assert closing.why == "closing" and closing.start > answer.playback_end
    assert filtering.ended_by == "agent_hangup"
    assert [c.tool for c in filtering.tool_calls] == ["get_balance"]
    assert res.metrics["talk_overs"] == 0 and res.metrics["agent_interruption_rate"] == 0.0
