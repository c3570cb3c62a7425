"""The routing job: find the cohort that trails, try ASR options on its own turns, and route it to
the one that helps, or to a human sooner when none does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from callgate.agents.env import CallEnv
from callgate.errors import UsageError
from callgate.scenarios.evaluation import EvaluationRules
from callgate.speech.audio import Audio
from callgate.speech.protocols import ASR_ENGINES, ASRHints, ASRResult
from callgate.store.records import CallScores
from callgate.tuning.jobs import TuneCall, TuneContext
from callgate.tuning.routing import RoutingJob
from factories import agent, call, caller

SAID = "please freeze my debit card"
NO_HINTS = ASRHints()


class Parrot:
    """An ASR that hears the reference perfectly when primed with 'debit', else garbles it."""

    def __init__(self, perfect: bool = False) -> None:
        self.perfect = perfect

    def identity(self) -> str:
        return f"parrot|{self.perfect}"

    def transcribe(self, audio: Audio, hints: ASRHints = NO_HINTS) -> ASRResult:
        good = self.perfect or "debit" in hints.vocabulary
        return ASRResult(SAID if good else "please fees my the bit cart", 0.9)


@pytest.fixture(autouse=True)
def parrot() -> Iterator[None]:
    ASR_ENGINES.register("parrot")(Parrot)
    yield
    ASR_ENGINES.unregister("parrot")


def context(tmp_path: Path, uk_done: float = 0.0, engine: str = "parrot") -> TuneContext:
    env = CallEnv.at(tmp_path / "store")
    track = env.blobs.put(Audio(np.zeros(16000 * 3, dtype=np.float32)))
    calls = []
    for i in range(24):
        uk = i % 2 == 0
        heard = "please fees my the bit cart" if uk else SAID
        trace = call(
            call_id=f"c{i}",
            scenario_id=f"s{i}",
            cohort={"locale": "en-GB" if uk else "en-US", "channel": "phone"},
            caller_turns=[caller(0, SAID, 0.5, 2.5, entities=["debit"])],
            agent_turns=[
                agent(0, "hi"),
                agent(1, "ok", heard=(0.4, 2.6), asr=heard, reference=SAID),
            ],
            caller_audio=track,
        )
        done = uk_done if uk else 1.0
        metrics: dict[str, float | None] = {
            "task_completion": done,
            "tool_selection_accuracy": done,
        }
        scores = CallScores(metrics=metrics, reasons={})
        calls.append(TuneCall(trace, scores))
    agent_block: dict[str, Any] = {
        "kind": "pipeline",
        "asr": {"engine": engine, "params": {}, "hints": {"vocabulary": [], "prompt": ""}},
        "routing": {"transfer_after_failures": 2},
        "policy": {"name": "any"},
        "tools": {"toolset": "any"},
    }
    rules = EvaluationRules(entities=["debit"])
    return TuneContext("s", rules, "baseline", agent_block, calls, env, tmp_path / "out")


def test_the_trailing_cohort_gets_the_hints_mined_from_its_own_failures(tmp_path: Path) -> None:
    proposal = RoutingJob(keys=["locale"]).propose(context(tmp_path))
    (route,) = proposal.patch["routes"]
    assert route["when"] == {"locale": ["en-GB"]}
    assert route["asr"]["hints"]["vocabulary"] == ["debit"]
    assert (
        proposal.figures["wer"]["current"]["wer"] > proposal.figures["wer"]["cohort hints"]["wer"]
    )
    assert proposal.figures["completion"]["locale=en-GB"]["completion"] == 0.0


def test_when_no_asr_helps_the_cohort_goes_to_a_human_sooner(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    ctx.agent["asr"]["hints"]["vocabulary"] = ["debit"]  # nothing new to hint: no option helps
    proposal = RoutingJob(keys=["locale"], min_gain=0.5).propose(ctx)
    (route,) = proposal.patch["routes"]
    assert route == {"when": {"locale": ["en-GB"]}, "transfer_after_failures": 1}
    assert "a human after 1 failure instead of 2" in proposal.rationale[0]


def test_another_engine_given_as_an_option_is_tried(tmp_path: Path) -> None:
    ASR_ENGINES.register("oracle-ear")(lambda: Parrot(perfect=True))
    try:
        job = RoutingJob(keys=["locale"], max_terms=0, asr_options=[{"engine": "oracle-ear"}])
        ctx = context(tmp_path)
        proposal = job.propose(ctx)
        assert proposal.figures["wer"]["asr option 1 (oracle-ear)"]["wer"] == 0.0
        (route,) = proposal.patch["routes"]
        assert route["asr"]["engine"] == "oracle-ear"  # better than the cohort's own hints
    finally:
        ASR_ENGINES.unregister("oracle-ear")


def test_no_cohort_trails_no_candidate(tmp_path: Path) -> None:
    proposal = RoutingJob(keys=["locale"]).propose(context(tmp_path, uk_done=1.0))
    assert proposal.patch == {} and "nothing to route" in proposal.rationale[0]


def test_only_line_metadata_can_be_routed_on() -> None:
    with pytest.raises(UsageError, match="routing keys must be among locale, channel"):
        RoutingJob(keys=["accent"])


def test_a_new_route_goes_first_and_current_is_what_the_cohort_runs_now(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    old = {
        "when": {"locale": ["en-GB"]},
        "asr": {"engine": "parrot", "hints": {"vocabulary": ["x"]}},
    }
    ctx.agent["routes"] = [old]
    proposal = RoutingJob(keys=["locale"]).propose(ctx)
    new, kept = proposal.patch["routes"]
    assert kept == old and new["when"] == {"locale": ["en-GB"]}
    assert new["asr"]["hints"]["vocabulary"] == ["x", "debit"]  # built on the route's own ASR
