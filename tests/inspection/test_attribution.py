"""Attribution on real calls (slow): a misheard merchant is ASR's fault (the oracle replay
passes); a dropped second request is the policy's (the replay fails too)."""

from __future__ import annotations

from pathlib import Path

import pytest

from callgate.execution.runner import RunRequest, execute, plan
from callgate.execution.scoring import score_run
from callgate.results.table import call_rows
from callgate.scenarios import load_suite
from callgate.store.db import Store
from callgate.variants import load_variants

pytestmark = pytest.mark.slow

SPEC = [{"name": n} for n in ("ASRAccuracy", "TaskCompletion", "ToolSelectionAccuracy", "Timing")]


def test_asr_and_policy_failures_are_told_apart(shared_store: Path) -> None:
    ids = ["dispute-uber", "multi-compound-freeze-and-balance", "freeze-debit-simple"]
    p = plan(
        RunRequest(
            suite := load_suite("banking"),
            load_variants(["baseline"], suite),
            scenarios=ids,
            cohort=["voice=us-joe", "noise=clean"],
        )
    )
    store = Store.open(shared_store)
    assert not execute(store, p, executor="local", workers=2).failed
    assert not score_run(store, p.run_id, SPEC, executor="inline").failed
    rows = {r["scenario_id"]: r for r in call_rows(store, p.run_id)[0]}
    scores = store.scores(p.run_id)

    uber = scores[rows["dispute-uber"]["call_id"]].attribution
    assert rows["dispute-uber"]["attribution"] == "asr"
    assert uber is not None and uber.oracle_passed is True
    assert any("uber" in m.lower() for m in uber.misrecognised)

    compound = scores[rows["multi-compound-freeze-and-balance"]["call_id"]].attribution
    assert rows["multi-compound-freeze-and-balance"]["attribution"] == "policy"
    assert compound is not None and compound.oracle_passed is False

    assert rows["freeze-debit-simple"]["attribution"] == ""  # it did not fail
