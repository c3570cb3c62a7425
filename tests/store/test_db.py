"""Store methods that other modules used to write as SQL of their own."""

from __future__ import annotations

from pathlib import Path

import pytest

from callgate.store.db import Store
from callgate.store.records import CallScores
from factories import call

SCORES = CallScores(metrics={"task_completion": 1.0}, reasons={})


def test_transaction_keeps_all_or_nothing(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    store.ensure_run("r1", {}, planned=3)
    with pytest.raises(RuntimeError), store.transaction():
        store.put_call(call(call_id="c1"))
        raise RuntimeError("worker died")
    assert store.stored_call_ids("r1") == set()
    with store.transaction():
        store.put_call(call(call_id="c1"))
        store.put_call(call(call_id="c2", repeat=1))
    assert store.stored_call_ids("r1") == {"c1", "c2"}


def test_run_version_and_delete_run(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    for run in ("r1", "r2"):
        store.ensure_run(run, {}, planned=1)
        store.put_call(call(call_id=f"{run}-c", run_id=run))
    spec = store.set_evaluation("r1", [{"name": "X"}])
    assert store.run_version("r1") == (1, 0)
    store.put_scores("r1", spec, "r1-c", SCORES)
    store.record_tuning_read("r1", "r1-c", "job")
    assert store.run_version("r1") == (1, 1)
    store.delete_run("r1")
    assert [r.run_id for r in store.runs()] == ["r2"]
    assert store.run_version("r1") == (0, 0) and store.evaluation_spec("r1") is None
    assert store.run_version("r2") == (1, 0)
