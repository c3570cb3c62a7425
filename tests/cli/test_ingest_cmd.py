"""`callgate ingest`: every bad line on its own line, exit 2 and nothing stored unless skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from callgate.store.reader import StoreReader
from support.call_logs import make_calls, write_call_log


@pytest.fixture(autouse=True)
def _here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CALLGATE_STORE", raising=False)


def test_bad_lines_exit_2_naming_each_and_store_nothing(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    log = write_call_log(tmp_path / "calls.jsonl", make_calls(30, seed=1), malformed=(4, 9))
    code, out, err = cli("ingest", str(log), "--store", "st")
    assert code == 2 and "Traceback" not in err
    lines = err.splitlines()
    assert f"{log}:4: release: Field required" in lines
    assert any(line.startswith(f"{log}:9: not JSON") for line in lines), err
    assert lines[-1].startswith("callgate: error: nothing imported: 2 bad entries")
    assert StoreReader.open(tmp_path / "st").runs() == []

    code, out, err = cli("ingest", str(log), "--store", "st", "--on-error", "skip")
    assert code == 0, err
    assert "imported 28 of 28 calls" in out and "2 bad entries skipped" in out
    code, out, err = cli("ingest", str(log), "--store", "st", "--on-error", "skip")
    assert code == 0 and "nothing new, 28 already in the store" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.jsonl"], "missing.jsonl: file not found"),
        (["LOG", "--on-error", "maybe"], "--on-error: 'maybe': use fail or skip"),
        (["LOG", "--format", "csvish"], "unknown log format 'csvish'"),
        (["NOTALOG"], "not a call log callgate recognises"),
        (["FOLDER"], "a folder, not a log file"),
        (["EMPTY"], "empty: no call to import"),
        (
            ["LOG", "--format", "json:JSONDecoder"],
            "--format: 'json:JSONDecoder' is not a log format",
        ),
    ],
)
def test_usage_errors_are_one_line(tmp_path: Path, cli, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    log = write_call_log(tmp_path / "calls.jsonl", make_calls(2))
    other = tmp_path / "notes.txt"
    other.write_text("hello\n")
    (tmp_path / "empty.jsonl").write_text("")
    named = {"LOG": log, "NOTALOG": other, "FOLDER": tmp_path, "EMPTY": tmp_path / "empty.jsonl"}
    args = [str(named[a]) if a in named else a for a in args]
    code, _, err = cli("ingest", *args, "--store", "st")
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and message in lines[0], err


def test_suite_rules_score_the_import_and_evaluate_keeps_them(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    calls = make_calls(3, seed=2)
    calls[0]["turns"][0]["text"] = "I see card 4111 1111 1111 1111 on file."
    log = write_call_log(tmp_path / "calls.jsonl", calls)
    code, _, err = cli("ingest", str(log), "--store", "st", "--suite", "banking")
    assert code == 0, err
    store = StoreReader.open(tmp_path / "st")
    run = store.latest_run().run_id
    leaked = {r.call_id: r.metrics["pii_exposures"] for r in store.call_rows(run)}
    assert sorted(leaked.values()) == [0.0, 0.0, 1.0]  # the suite's card-number rule
    spec = store.evaluation_spec(run)
    store.close()
    # Scoring the run again uses the rules it was imported with: nothing to recompute.
    code, _, err = cli("evaluate", run, "--store", "st", "--executor", "inline")
    assert code == 0, err
    with StoreReader.open(tmp_path / "st") as again:
        assert again.evaluation_spec(run) == spec
