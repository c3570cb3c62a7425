"""The store's records: a call row from a trace and its scores, and the failure rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from callgate.store.db import Store
from callgate.store.records import (
    UNATTRIBUTED,
    Attribution,
    CallRow,
    CallScores,
    failed,
    failed_or_unscored,
)
from factories import call


def v1(task: float | None, cause: str | None = None) -> dict[str, Any]:
    """Scores as callgate stored them before they were versioned: attribution in details."""
    return {
        "metrics": {"task_completion": task, "asr_wer": 0.1},
        "reasons": {"TaskCompletion": "why"},
        "details": {"Attribution": {"cause": cause, "reason": f"{cause}: because"}, "X": {"a": 1}},
        "turns": [{"turn": 1, "ttfa_s": 0.8}, {"turn": 2, "ttfa_s": None}],
    }


def scores(task: float | None, cause: str | None = None) -> CallScores:
    return CallScores.model_validate(v1(task, cause))


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


def test_scores_of_schema_1_are_migrated() -> None:
    sc = scores(0.0, "asr")
    assert sc.schema_version == 2 and sc.details == {"X": {"a": 1}}
    assert sc.attribution == Attribution("asr", "asr: because")
    assert sc.failed and sc.ttfa() == [0.8]
    again = CallScores.model_validate_json(sc.model_dump_json())  # the current shape stays put
    assert again == sc
    with pytest.raises(ValidationError, match="newer than this callgate reads"):
        CallScores.model_validate(v1(1.0) | {"schema_version": 3})


def test_a_store_of_schema_1_is_migrated_on_open(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    store.ensure_run("r1", {}, planned=1)
    spec = store.set_evaluation("r1", [{"name": "X"}])
    store.put_call(call(call_id="c1"))
    # Turn the file into what callgate wrote before: no attribution column, and the
    # attribution inside details, schema 1.
    conn, old = store.conn, v1(0.0, "timing")
    conn.execute("ALTER TABLE scores DROP COLUMN attribution")
    conn.execute(
        "INSERT INTO scores VALUES ('r1', 'c1', ?, ?, ?, ?, ?)",
        (spec, *(json.dumps(old[k]) for k in ("metrics", "reasons", "details", "turns"))),
    )
    conn.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    store.close()
    migrated = Store.open(tmp_path, create=False)
    sc = migrated.call_scores("r1", "c1")
    assert sc is not None and sc.attribution == Attribution("timing", "timing: because")
    assert sc.details == {"X": {"a": 1}}
    assert migrated.call_rows("r1")[0].failure_cause == "timing"
    version = migrated.conn.execute("SELECT value FROM meta WHERE key='schema_version'")
    assert version.fetchone()[0] == "2"
