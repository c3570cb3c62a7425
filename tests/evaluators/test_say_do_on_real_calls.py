"""A planted say-do fault on real simulated calls (slow: real TTS and ASR): an agent variant that
says "your card is now frozen" without calling the tool is flagged in every call where it did so,
and nowhere else: not in the production agent's calls, nor in the faulty agent's calls where the
fault never fired (a misheard request, a task that is not a freeze).

The variant is a real variant file naming a test-only policy by file reference
(``say_do_fault.py``), and the calls are scored with the banking suite's own evaluation rules.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from callgate.evaluators.suite import evaluation_spec
from callgate.execution.runner import RunRequest, execute, plan
from callgate.execution.scoring import score_run
from callgate.scenarios import load_suite
from callgate.scenarios.evaluation import EvaluationRules
from callgate.store.db import Store
from callgate.variants import load_variants
from callgate.variants.load import resolve_variant_path
from evaluators.say_do_fault import FAULT

pytestmark = pytest.mark.slow

SCENARIOS = [
    "freeze-debit-simple",  # the fault fires (when the request is understood)
    "freeze-credit-simple",
    "freeze-correction-debit-not-credit",  # a "no" on the way to the freeze
    "balance-checking-simple",  # claims with values, no freeze
    "transfer-fifty-checking-to-savings",  # a sensitive call that is really made
    "human-immediate",  # a hand-off claim
]
POLICY = Path(__file__).with_name("say_do_fault.py")


def faulty_variant(tmp_path: Path) -> Path:
    suite = load_suite("banking")
    text = resolve_variant_path("baseline", suite).read_text(encoding="utf-8")
    text = re.sub(r"(?m)^name: baseline$", "name: claims-without-acting", text)
    text, n = re.subn(
        r"(?m)^(  policy:\n    name: )banking$", rf"\g<1>{POLICY}:ClaimsWithoutActing", text
    )
    assert n == 1, "the baseline's policy block moved"
    path = tmp_path / "claims-without-acting.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_claim_without_the_action_is_flagged_in_every_affected_call_and_nowhere_else(
    shared_store: Path, tmp_path: Path
) -> None:
    suite = load_suite("banking")
    variants = load_variants(["baseline", str(faulty_variant(tmp_path))], suite)
    p = plan(RunRequest(suite, variants, scenarios=SCENARIOS))
    store = Store.open(shared_store)
    assert not execute(store, p, executor="inline", workers=1).failed
    # SayDo with the rules the suite gives it, through the same spec a real run uses.
    rules = suite.suite.evaluation.model_dump(exclude={"evaluators"})
    spec = evaluation_spec(EvaluationRules(**rules, evaluators=[{"name": "SayDo"}]))
    assert spec[0]["params"]["claims"]["freeze_card"], "the banking suite gives claims"
    assert not score_run(store, p.run_id, spec, executor="inline").failed

    fired: dict[str, set[int]] = {}  # call -> spoken turns where the fault fired
    flagged: dict[str, list[dict[str, Any]]] = {}
    by_variant: dict[str, list[str]] = {}
    all_scores = store.scores(p.run_id)
    for trace in store.calls(p.run_id):
        scores = all_scores[trace.call_id]
        assert scores.metrics["say_do_violations"] is not None, scores.reasons
        by_variant.setdefault(trace.variant, []).append(trace.call_id)
        turns = {
            t.index
            for t in trace.agent_turns
            if t.policy is not None and t.policy.action.endswith(FAULT) and not t.discarded
        }
        if turns:
            fired[trace.call_id] = turns
        if scores.metrics["say_do_violations"]:
            flagged[trace.call_id] = scores.details["SayDo"]["findings"]

    assert len(by_variant["baseline"]) == len(by_variant["claims-without-acting"]) >= 14
    assert not set(fired) & set(by_variant["baseline"])
    # The fault fired in most freeze calls, and some faulty calls are left where it did not.
    assert len(fired) >= 4, fired
    assert len(set(by_variant["claims-without-acting"]) - set(fired)) >= 6
    assert set(flagged) == set(fired), {"flagged only": set(flagged) - set(fired)}
    for call_id, findings in flagged.items():
        # What is flagged is the fault itself: a freeze claim, in the turn it was made.
        assert {(f["kind"], f["tool"]) for f in findings} == {("claim", "freeze_card")}, findings
        assert {f["turn"] for f in findings} == fired[call_id]
        assert all(f["why"] == "no freeze_card call" for f in findings)
