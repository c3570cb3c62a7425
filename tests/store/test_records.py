"""The store's records: a call row from a trace and its scores, and the failure rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from callgate.store.db import Store
from callgate.store.records import UNATTRIBUTED, CallRow, failed, failed_or_unscored
from factories import call


def scores(task: float | None, cause: str | None = None) -> dict[str, Any]:
    return {
        "metrics": {"task_completion": task, "asr_wer": 0.1},
        "reasons": {"TaskCompletion": "why"},
        "details": {"Attribution": {"cause": cause, "reason": f"{cause}: because"}},
        "turns": [{"turn": 1, "ttfa_s": 0.8}, {"turn": 2, "ttfa_s": None}],
    }


def test_the_failure_rule() -> None:
    assert failed({"task_completion": 0.0}) and failed({"tool_selection_accuracy": 0.5})
    assert not failed({"task_completion": 1.0, "tool_selection_accuracy": None})
    assert failed_or_unscored({"asr_wer": 0.3}) is None
    assert failed_or_unscored({"task_completion": float("nan")}) is None


def test_a_row_of_a_failed_call() -> None:
    row = CallRow.of(call(cohort={"voice": "a", "accent": "us"}), scores(0.0, "asr"))
    assert row.scored and row.failed and row.cause == "asr" and row.failure_cause == "asr"
    assert row.cause_reason == "asr: because" and row.ttfa == [0.8]
    assert row.cohort == {"voice": "a", "accent": "us"} and row.metrics["asr_wer"] == 0.1
    assert row.pair_key == ("x", "voice=a|noise=clean|channel=phone", 0)


def test_failed_without_a_cause_is_unattributed_and_unscored_is_not_failed() -> None:
    assert CallRow.of(call(), scores(0.0)).failure_cause == UNATTRIBUTED
    passed = CallRow.of(call(), scores(1.0))
    assert passed.failed is False and passed.failure_cause is None
    unscored = CallRow.of(call(), None)
    assert not unscored.scored and unscored.failed is None and unscored.metrics == {}


def test_the_store_lists_every_call_as_a_row(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    store.ensure_run("r1", {}, planned=2)
    spec = store.set_evaluation("r1", [{"name": "X"}])
    store.put_call(call(call_id="c1"))
    store.put_call(call(call_id="c2", repeat=1))
    store.put_scores("r1", spec, "c1", scores(0.0, "policy"))
    rows = {r.call_id: r for r in store.call_rows("r1")}
    assert rows["c1"].failure_cause == "policy" and rows["c2"].failed is None
