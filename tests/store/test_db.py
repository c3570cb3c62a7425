"""Store methods that other modules used to write as SQL of their own."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from callgate.errors import UsageError
from callgate.store.db import Store
from callgate.store.reader import StoreReader
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


def test_the_reader_reads_without_writing(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no callgate store"):
        StoreReader.open(tmp_path / "nothing")
    store = Store.open(tmp_path)
    store.ensure_run("r1", {}, planned=1)
    spec = store.set_evaluation("r1", [{"name": "X"}])
    store.put_call(call(call_id="c1"))
    # A store of schema 1, as an older callgate left it: a reader cannot migrate it, so it reads
    # the old columns and the record migrates the scores in memory.
    store.conn.execute("ALTER TABLE scores DROP COLUMN attribution")
    details = {"Attribution": {"cause": "asr", "reason": "misheard"}}
    store.conn.execute(
        "INSERT INTO scores VALUES ('r1', 'c1', ?, ?, '{}', ?, '[]')",
        (spec, json.dumps({"task_completion": 0.0}), json.dumps(details)),
    )
    store.conn.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    store.close()
    with StoreReader.open(tmp_path) as reader:
        sc = reader.call_scores("r1", "c1")
        assert sc is not None and sc.attribution is not None and sc.attribution.cause == "asr"
        assert reader.call_rows("r1")[0].failure_cause == "asr"
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader.conn.execute("UPDATE meta SET value='2'")
    with StoreReader.open(tmp_path) as reader:  # still schema 1: reading migrated nothing
        assert reader.conn.execute("SELECT value FROM meta").fetchone()[0] == "1"
    newer = Store.open(tmp_path)
    newer.conn.execute("UPDATE meta SET value='9' WHERE key='schema_version'")
    newer.close()
    with pytest.raises(UsageError, match="newer than this callgate reads"):
        StoreReader.open(tmp_path)
