"""`callgate mine`: the summary, bad input as one line, and a mined suite that `callgate run`
runs as it was written."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from callgate.scenarios import load_suite
from callgate.store.db import Store
from callgate.store.reader import StoreReader
from support.mined_calls import LOST, ingested, other_calls, personal_call


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("callgate: error: "), err
    return lines[0]


def test_the_summary_counts_mined_skipped_and_redacted(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    store = ingested(tmp_path, personal_call, other_calls)
    out = tmp_path / "mined"
    code, stdout, err = cli("mine", "--out", str(out), "--suite", "banking", "--store", str(store))
    assert code == 0, err
    assert "7 imported calls, 6 failed or low-confidence" in err and "warning" not in err
    text = " ".join(stdout.split())
    assert (
        "mined 4 scenarios (split dev) from 6 of 7 calls (failed 5, low confidence 1) into "
        f"{out / 'suite.yaml'}; 2 near-duplicates skipped; "
        "6 redactions (card_number 2, date_of_birth 2, pin 2)"
    ) in text
    assert "synthesised: personal data 2" in text
    assert "review: 4 scenarios tagged `review: unconfirmed`" in text
    assert f"callgate run --suite {out / 'suite.yaml'} -v baseline" in text

    code, stdout, err = cli(
        "mine", "--out", str(out), "--store", str(store), "--split", "holdout", "--limit", "1"
    )
    assert code == 0, err
    assert "warning: only the built-in personal-data rules apply" in " ".join(err.split())
    assert "mined 1 scenarios (split holdout)" in stdout and "4 over --limit" in stdout
    suite = load_suite(str(out / "suite.yaml")).suite
    assert [s.split for s in suite.scenarios] == ["holdout"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--split", "all"], "--split: unknown split 'all' (dev or holdout)"),
        (["--low-confidence", "1.5"], "--low-confidence: must be between 0 and 1"),
        (["--limit", "0"], "--limit: must be at least 1"),
        (["--similarity", "0"], "--similarity: must be above 0 and at most 1"),
        (["nosuchrun"], "no run 'nosuchrun' in this store"),
    ],
)
def test_bad_input_is_one_line(tmp_path: Path, cli, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    store = ingested(tmp_path, other_calls)
    code, _, err = cli("mine", "--out", str(tmp_path / "o"), "--store", str(store), *args)
    assert code == 2 and message in one_error_line(err)


def test_out_and_store_are_checked(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    Store.open(tmp_path / "empty").close()
    code, _, err = cli("mine", "--out", str(tmp_path / "o"), "--store", str(tmp_path / "empty"))
    assert code == 2 and "holds no imported calls" in one_error_line(err)
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("x", encoding="utf-8")
    code, _, err = cli("mine", "--out", str(taken), "--store", str(tmp_path / "empty"))
    assert code == 2 and "holds no earlier `callgate mine` output" in one_error_line(err)
    assert (taken / "keep.txt").is_file()


@pytest.mark.slow
def test_a_mined_suite_runs_against_the_banking_baseline(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    from callgate.speech.engines import get_tts

    piper = get_tts("piper")
    store = ingested(tmp_path, personal_call, voice=lambda text: piper.synthesize(text, "joe", 1.0))
    out = tmp_path / "mined"
    code, _, err = cli("mine", "--out", str(out), "--suite", "banking", "--store", str(store))
    assert code == 0, err

    started = time.perf_counter()
    runs = tmp_path / "runs"
    code, _, err = cli(
        "run", "--suite", str(out / "suite.yaml"), "-v", "baseline",
        "--store", str(runs), "--executor", "inline",
    )  # fmt: skip
    assert code == 0, err
    assert time.perf_counter() - started < 60
    with StoreReader.open(runs) as reader:
        (trace,) = reader.calls(reader.latest_run().run_id)
        scores = reader.scores(trace.run_id)[trace.call_id]
    assert trace.suite == "banking-mined" and trace.cohort["accent"] == "scottish"
    assert trace.cohort["review"] == "unconfirmed"
    # The caller's own recording first, then the redacted turns in the cohort's voice.
    said = [(t.text, t.voice) for t in trace.caller_turns[:3]]
    assert said[0] == (LOST, "recorded")
    assert said[1] == ("my card number is [CARD_NUMBER]", "scottish")
    assert scores.metrics["asr_wer"] is not None
