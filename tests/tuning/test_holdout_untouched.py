"""Tuning never reads a holdout call: poisoned holdout traces leave every candidate unchanged,
the stored reads name dev calls only, and the gate warns when asked to judge the tuned calls.

Real banking calls (Scottish caller on a phone line: ASR loses words, calls fail) through the
whole tune command: ASR hints re-transcribe with whisper, the intent model retrains, the end of
turn replays the energy VAD on the stored caller audio.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from callgate.comparison.sides import load_side
from callgate.gate.engine import tuning_warnings
from callgate.store.reader import StoreReader
from callgate.traces.model import CallTrace
from support.banking_run import run_scored

pytestmark = pytest.mark.slow

DEV = [
    "freeze-debit-simple",
    "pin-reset-debit",
    "transfer-fifty-checking-to-savings",
    "dispute-uber",
    "balance-checking-simple",
    "balance-pause-can-you",
]
HOLDOUT = ["freeze-asr-freeze-vs-fees", "dispute-netflix", "pin-slot-card"]
JOBS = ["asr-hints", "intent-retrain", "end-of-turn", "routing"]
COHORT = ("voice=scottish", "noise=clean", "channel=phone")


def poison(store: Path, run_id: str) -> int:
    """Misleading holdout evidence: every transcript says something else, every caller track is
    the agent's. Written with SQL here because no callgate API edits a stored call (on purpose)."""
    conn = sqlite3.connect(store / "callgate.db")
    rows = conn.execute(
        "SELECT call_id, trace FROM calls WHERE split='holdout' AND run_id=?", (run_id,)
    ).fetchall()
    for call_id, blob in rows:
        trace = CallTrace.model_validate_json(blob)
        for turn in trace.agent_turns:
            if turn.asr is not None:
                turn.asr.text = "fees card please fees card dispute netflix pin"
            turn.reference_text = "i want to open a mortgage account in zurich"
        trace.caller_audio = trace.agent_audio
        conn.execute("UPDATE calls SET trace=? WHERE call_id=?", (trace.model_dump_json(), call_id))
    conn.commit()
    conn.close()
    return len(rows)


def tune_outputs(cli, store: Path, run_id: str, out: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    args = ["tune", run_id, "--store", str(store), "--out", str(out), "-v", "baseline"]
    for job in JOBS:
        args += ["-j", job]
    args += ["-p", "asr-hints.sample=12", "-p", "asr-hints.min_misses=1"]
    args += ["-p", "intent-retrain.min_pairs=3", "-p", "intent-retrain.max_wer=1.0"]
    args += ["-p", "routing.min_calls=1", "-p", "routing.sample=10", "-p", "routing.keys=[channel]"]
    code, stdout, stderr = cli(*args)
    assert code == 0, stdout + stderr
    files = {}
    for path in sorted(out.rglob("*")):
        if path.is_file() and path.name != "tuning.json":
            files[str(path.relative_to(out))] = path.read_text()
    for record in sorted(out.glob("*/tuning.json")):
        figures = json.loads(record.read_text())["figures"]
        files[f"{record.parent.name}/figures"] = json.dumps(figures, sort_keys=True)
    return files


def test_poisoned_holdout_changes_no_candidate_and_reads_are_dev_only(
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
    shared_store: Path,
) -> None:
    variant = Path(__file__).resolve().parents[2] / "plugins/banking/src/callgate_banking/suite"
    clean = tmp_path / "clean"
    shutil.copytree(shared_store, clean, dirs_exist_ok=True)  # reuse the session's speech cache
    traces = run_scored(
        clean, variant / "variants/baseline.yaml", DEV + HOLDOUT, ["TaskCompletion"], COHORT
    )
    assert {t.split for t, _ in traces} == {"dev", "holdout"}
    assert any(s.failed for _, s in traces), "the tuning jobs need failed dev calls to read"
    poisoned = tmp_path / "poisoned"
    shutil.copytree(clean, poisoned)
    assert poison(poisoned, traces[0][0].run_id) == len(HOLDOUT)

    run_id = traces[0][0].run_id  # the shared store holds other tests' runs too
    before = tune_outputs(cli, clean, run_id, tmp_path / "tuned")
    # Some job proposes a candidate, and the hint job measured its terms on dev turns (whether it
    # proposes depends on a few turns' WER: on this small run it found the hints over-biased).
    assert any(k.endswith("/candidate.yaml") for k in before), sorted(before)
    assert "missed_terms" in before["asr-hints/figures"]
    assert "pairs" in before["intent-retrain/figures"]  # it labelled dev turns (candidate or not)
    after = tune_outputs(cli, poisoned, run_id, tmp_path / "tuned-poisoned")
    # Candidates, training data and every measured figure; the training file's absolute path
    # names its folder, so compare with that folder's name swapped.
    assert {k: v.replace("tuned-poisoned", "tuned") for k, v in after.items()} == before

    dev_ids = {t.call_id for t, _ in traces if t.split == "dev"}
    for job in JOBS:
        record = json.loads((tmp_path / "tuned" / job / "tuning.json").read_text())
        assert set(record["calls_read"]) == dev_ids
    with StoreReader.open(clean) as store:
        assert store.holdout_tuning_reads([run_id]) == []
        assert set(JOBS) <= {job.split("@")[0] for job, _, _ in store.tuned_on([run_id])}
    side = load_side(f"{run_id}:baseline", clean)
    warnings = tuning_warnings(clean, side, side)
    assert any("tuning job read" in w and "--split holdout" in w for w in warnings)
