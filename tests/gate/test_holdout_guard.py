"""Calls a tuning job read: the gate warns when it is asked to judge them (it does not block)."""

from __future__ import annotations

from pathlib import Path

import pytest

from callgate.comparison.sides import load_side
from callgate.gate.engine import tuning_warnings
from callgate.store.db import Store
from comparison.synth import paired_rows, variant_file
from factories import call


def fake_store(root: Path, rows: list[dict[str, object]]) -> None:
    store = Store.open(root)
    for run_id in {str(r["run_id"]) for r in rows}:
        store.ensure_run(run_id, {}, planned=len(rows))
    for r in rows:
        keys = ("call_id", "run_id", "scenario_id", "cohort_id", "variant", "split")
        store.put_call(call(**{k: r[k] for k in keys}))
    store.close()


def test_tuning_reads_of_holdout_calls_warn(tmp_path: Path) -> None:
    rows = paired_rows({"a": 30, "b": 30}, holdout={"b"})
    base = load_side(str(variant_file(tmp_path, rows, "baseline")), None)
    cand = load_side(str(variant_file(tmp_path, rows, "candidate")), None)
    root = tmp_path / "store"
    fake_store(root, rows)
    assert tuning_warnings(root, base, cand) == []
    store = Store.open(root)
    dev = next(r for r in rows if r["split"] == "dev")
    store.record_tuning_read("r1", str(dev["call_id"]), "job-dev")
    # Dev calls are for tuning, but these runs hold that scenario: it is judged on its own data.
    (tuned,) = tuning_warnings(root, base, cand)
    assert "job-dev (1 calls of 1 scenarios)" in tuned and "--split holdout" in tuned
    held = [r for r in rows if r["split"] == "holdout"][:3]
    for r in held:
        store.record_tuning_read("r1", str(r["call_id"]), "job-7")
    _, warning = tuning_warnings(root, base, cand)
    assert "holdout split was used for tuning" in warning and "job-7 (3 calls)" in warning
    assert "does not block" in warning
    assert tuning_warnings(None, base, cand) == []


@pytest.mark.parametrize(
    ("split", "job", "expected"),
    [
        ("holdout", "job-7", "warning: the holdout split was used for tuning"),
        (
            "dev",
            "asr-hints@r1-1234",
            "warning: these calls include scenarios a tuning job read: asr-hints@r1-1234",
        ),
    ],
)
def test_gate_command_prints_the_warning_from_the_stored_reads(  # type: ignore[no-untyped-def]
    tmp_path: Path, cli, split: str, job: str, expected: str
) -> None:
    rows = paired_rows({"a": 60, "b": 60}, holdout={"b"}, seed=4)
    base = variant_file(tmp_path, rows, "baseline")
    cand = variant_file(tmp_path, rows, "candidate")
    root = tmp_path / "store"
    fake_store(root, rows)
    store = Store.open(root)
    read = next(r for r in rows if r["split"] == split)
    store.record_tuning_read("r1", str(read["call_id"]), job)
    store.close()
    code, out, err = cli("gate", str(base), str(cand), "--store", str(root), "--resamples", "100")
    assert code == 0, out + err  # it warns and still promotes: a warning never blocks
    assert expected in " ".join(out.split())


def test_no_warning_when_the_compared_runs_hold_none_of_the_tuned_scenarios(tmp_path: Path) -> None:
    rows = paired_rows({"a": 30, "b": 30}, holdout={"b"})
    held = [r for r in rows if r["split"] == "holdout"]
    base = load_side(str(variant_file(tmp_path, held, "baseline")), None)
    cand = load_side(str(variant_file(tmp_path, held, "candidate")), None)
    root = tmp_path / "store"
    # The store has the dev calls under another run; the compared runs hold only holdout calls.
    dev = [{**r, "run_id": "tune-run"} for r in rows if r["split"] == "dev"]
    fake_store(root, dev + held)
    store = Store.open(root)
    for r in dev[:5]:
        store.record_tuning_read("tune-run", str(r["call_id"]), "job-dev")
    store.close()
    assert tuning_warnings(root, base, cand) == []
