"""The intent-retrain tuning job: labels from the callers' real words, inputs as the ASR heard
them, garbled transcripts left out, and a candidate that trains on the written file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from callgate_banking.nlu import IntentModel
from callgate_banking.tuning import IntentRetrainJob

from callgate.agents.env import CallEnv
from callgate.errors import UsageError
from callgate.scenarios.evaluation import EvaluationRules
from callgate.tuning.jobs import TuneCall, TuneContext

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests"))
from factories import agent, call, caller

# A confusion the current model gets wrong ("spew" for "dispute": it hears an affirmation), made
# by several callers, so a model retrained on some of them understands the others.
HEARD = [
    ("I want to dispute it.", "I wanted to spew it."),
    ("I want to dispute it please.", "I wanted to spew it please."),
    ("I want to dispute it now.", "I wanted to spew it now."),
    ("I want to dispute it today.", "I wanted to spew it today."),
    ("I want to dispute it, thanks.", "I wanted to spew it, thanks."),
    ("I want to dispute it right away.", "I wanted to spew it right away."),
    ("Please freeze my debit card.", "Please fees my debit card."),
    ("What's my checking balance?", "What's my checking balance?"),
    ("Please freeze my debit card.", "Jupiter walrus spoon."),  # garbled: left out
]
AGENT = {
    "kind": "pipeline",
    "policy": {"name": "banking", "version": "1.0", "params": {"training": ["intents"]}},
    "tools": {"toolset": "banking"},
}


def context(tmp_path: Path) -> TuneContext:
    calls = []
    for i, (said, heard) in enumerate(HEARD):
        trace = call(
            call_id=f"c{i}",
            scenario_id=f"s{i}",
            caller_turns=[caller(0, said, 0.0, 2.0)],
            agent_turns=[
                agent(0, "hi"),
                agent(1, "ok", heard=(0.0, 2.0), asr=heard, reference=said),
            ],
        )
        calls.append(TuneCall(trace, None))
    env = CallEnv.at(tmp_path / "store")
    return TuneContext(
        "banking", EvaluationRules(), "baseline", AGENT, calls, env, tmp_path / "out"
    )


def test_pairs_are_asr_text_with_the_intent_of_the_real_words(tmp_path: Path) -> None:
    proposal = IntentRetrainJob(min_pairs=3).propose(context(tmp_path))
    (path,) = proposal.files
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    pairs = {(r["text"], r["intent"]) for r in rows}
    assert ("Please fees my debit card.", "freeze_card") in pairs
    assert ("I wanted to spew it.", "dispute_charge") in pairs
    assert not any("Jupiter" in t for t, _ in pairs)
    assert proposal.figures["skipped_garbled"] == 1
    training = proposal.patch["policy"]["params"]["training"]
    assert training == ["intents", str(path)] and path.is_absolute()
    assert proposal.patch["policy"]["version"] == "1.0+dev-asr"
    # The candidate's training list loads: the file by path beside the bundled dataset.
    assert (
        IntentModel.load_or_train(["intents"]).predict("I wanted to spew it.")[0]
        != "dispute_charge"
    )
    model = IntentModel.load_or_train(training)
    assert model.predict("I wanted to spew it.")[0] == "dispute_charge"
    figures = proposal.figures
    assert figures["asr_agreement_after"] > figures["asr_agreement_before"]


def test_the_file_name_holds_its_content_hash(tmp_path: Path) -> None:
    a = IntentRetrainJob(min_pairs=3).propose(context(tmp_path)).files[0]
    b = IntentRetrainJob(min_pairs=3, max_wer=10.0).propose(context(tmp_path)).files[0]
    assert a != b  # more pairs kept: another file, so another variant and another run


def test_no_gain_on_unseen_scenarios_makes_no_candidate(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    ctx.calls = [c for c in ctx.calls if "spew" not in c.trace.agent_turns[1].asr.text]  # type: ignore[union-attr]
    proposal = IntentRetrainJob(min_pairs=1).propose(ctx)
    assert proposal.patch == {} and "no gain from retraining" in proposal.rationale[0]
    assert not list((tmp_path / "out").glob("*.jsonl"))


def test_too_few_pairs_makes_no_candidate(tmp_path: Path) -> None:
    proposal = IntentRetrainJob(min_pairs=100).propose(context(tmp_path))
    assert proposal.patch == {} and "too few" in proposal.rationale[0]


def test_other_agents_are_refused() -> None:
    with pytest.raises(UsageError, match="retrains the banking policy"):
        IntentRetrainJob().check({"kind": "pipeline", "policy": {"name": "llm"}})
