"""Evaluators on real simulated calls (slow: real TTS and ASR): the numbers move the way the audio
says they should, and a misrecognised word that led to a wrong tool call is caught."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from callgate.execution.runner import RunRequest, execute, plan
from callgate.execution.scoring import score_run
from callgate.results.table import call_rows, turn_rows
from callgate.scenarios import load_suite
from callgate.store.db import Store
from callgate.variants import load_variants

pytestmark = pytest.mark.slow

HAPPY = [
    "balance-checking-simple",
    "freeze-debit-simple",
    "freeze-credit-simple",
    "transfer-fifty-checking-to-savings",
    "dispute-amazon",
    "pin-reset-credit",
]
SPEC = [{"name": n} for n in ("ASRAccuracy", "TaskCompletion", "ToolSelectionAccuracy", "Timing")]


def scored(root: Path, scenarios: list[str]) -> tuple[Store, str]:
    suite = load_suite("banking")
    p = plan(RunRequest(suite, load_variants(["baseline"], suite), scenarios=scenarios))
    store = Store.open(root)
    assert not execute(store, p, executor="local", workers=2).failed
    assert not score_run(store, p.run_id, SPEC, executor="inline").failed
    return store, p.run_id


def pooled_wer(turns: list[dict], cohort: str) -> float:  # type: ignore[type-arg]
    from callgate.evaluators.text import word_errors

    errs = words = 0
    for t in turns:
        if t["cohort_id"] == cohort and t["reference"]:
            we = word_errors(t["reference"], t["hypothesis"])
            errs += we.substitutions + we.deletions + we.insertions
            words += we.ref_len
    return errs / words


def test_asr_accuracy_follows_accent_noise_and_channel(shared_store: Path) -> None:
    store, run_id = scored(shared_store, HAPPY)
    turns, _ = turn_rows(store, run_id)
    wer = {
        name: pooled_wer(turns, cohort)
        for name, cohort in {
            "clean": "voice=us-joe|noise=clean|channel=phone",
            "scottish": "voice=scottish|noise=clean|channel=phone",
            "babble_wide": "voice=us-joe|noise=babble-10|channel=wideband",
            "babble_phone": "voice=us-joe|noise=babble-10|channel=phone",
        }.items()
    }
    assert wer["clean"] < wer["babble_wide"] < wer["babble_phone"], wer  # noise, then channel
    assert wer["clean"] + 0.3 < wer["scottish"], wer  # accent
    rows, _ = call_rows(store, run_id)
    # Every call in which the agent heard the caller's words is scored (no NaN). On a noisy line
    # the agent may take a burst of the room for a turn, Whisper hears "Thank you." in it and the
    # agent says goodbye before the caller speaks: such a call has no words to score.
    heard = {
        r["call_id"]
        for r in rows
        if any(t.reference_text for t in store.call(run_id, r["call_id"]).agent_turns)
    }
    assert heard and all(r["asr_wer"] == r["asr_wer"] for r in rows if r["call_id"] in heard)
    assert len(heard) >= 0.9 * len(rows)


def test_misrecognised_merchant_leads_to_a_wrong_tool_call_that_is_caught(
    shared_store: Path,
) -> None:
    store, run_id = scored(shared_store, ["dispute-uber"])
    rows, _ = call_rows(store, run_id)
    (row,) = [r for r in rows if r["cohort_id"] == "voice=us-joe|noise=clean|channel=phone"]
    assert row["tool_selection_accuracy"] == 0.0 and row["tool_args_accuracy"] == 0.0
    reason = json.loads(row["reasons"])["ToolSelectionAccuracy"]
    assert "wrong args on dispute_charge" in reason and "merchant" in reason
    turns, _ = turn_rows(store, run_id)
    missed = [
        t
        for t in turns
        if t["call_id"] == row["call_id"]
        and "uber" in t["reference"].lower()
        and "uber" not in t["hypothesis"].lower()
    ]
    assert missed, "the ASR misheard the merchant in at least one turn"
