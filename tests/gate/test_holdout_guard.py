"""Holdout calls read by a tuning job: the gate warns (and says it does not block)."""

from __future__ import annotations

from pathlib import Path

from callgate.comparison.sides import load_side
from callgate.gate.engine import holdout_tuning_warnings
from callgate.store.db import Store
from comparison.synth import paired_rows, variant_file


def fake_store(root: Path, rows: list[dict[str, object]]) -> None:
    store = Store.open(root)
    for r in rows:
        store.conn.execute(
            "INSERT INTO calls VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                r["call_id"],
                r["run_id"],
                r["scenario_id"],
                r["cohort_id"],
                r["variant"],
                0,
                r["split"],
                "agent_hangup",
                1.0,
                0.0,
                "{}",
            ),
        )
    store.close()


def test_tuning_reads_of_holdout_calls_warn(tmp_path: Path) -> None:
    rows = paired_rows({"a": 30, "b": 30}, holdout={"b"})
    base = load_side(str(variant_file(tmp_path, rows, "baseline")), None)
    cand = load_side(str(variant_file(tmp_path, rows, "candidate")), None)
    root = tmp_path / "store"
    fake_store(root, rows)
    assert holdout_tuning_warnings(root, base, cand) == []
    store = Store.open(root)
    dev = next(r for r in rows if r["split"] == "dev")
    store.conn.execute("INSERT INTO tuning_reads VALUES ('r1', ?, 'job-dev', 0)", (dev["call_id"],))
    assert holdout_tuning_warnings(root, base, cand) == []  # dev calls are for tuning
    held = [r for r in rows if r["split"] == "holdout"][:3]
    for r in held:
        store.conn.execute("INSERT INTO tuning_reads VALUES ('r1', ?, 'job-7', 0)", (r["call_id"],))
    (warning,) = holdout_tuning_warnings(root, base, cand)
    assert "holdout split was used for tuning" in warning and "job-7 (3 calls)" in warning
    assert "does not block" in warning
    assert holdout_tuning_warnings(None, base, cand) == []


def test_gate_command_prints_the_warning_and_still_promotes(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    rows = paired_rows({"a": 60, "b": 60}, holdout={"b"}, seed=4)
    base = variant_file(tmp_path, rows, "baseline")
    cand = variant_file(tmp_path, rows, "candidate")
    root = tmp_path / "store"
    fake_store(root, rows)
    store = Store.open(root)
    held = next(r for r in rows if r["split"] == "holdout")
    store.conn.execute("INSERT INTO tuning_reads VALUES ('r1', ?, 'job-7', 0)", (held["call_id"],))
    store.close()
    code, out, err = cli("gate", str(base), str(cand), "--store", str(root), "--resamples", "100")
    assert code == 0, out + err
    assert "warning: the holdout split was used for tuning" in " ".join(out.split())
