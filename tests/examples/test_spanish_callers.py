"""A caller language other than English, end to end (slow: real TTS, Whisper tiny.en and base).

The Spanish example suite (examples/spanish) runs English and Spanish callers against the banking
agent: the baseline hears everyone with English-only Whisper tiny.en; the candidate routes es-ES
callers to Whisper base told `language: es`. The calls run, are scored, and the language cohort
is sliced by `callgate compare` like an accent cohort: the Spanish slice shows the candidate's
ASR gain, the English slice shows no change (same ASR, same audio).
"""

from __future__ import annotations

import json
from pathlib import Path
from statistics import mean
from typing import Any

import pytest

from callgate.execution.runner import RunRequest, execute, plan
from callgate.execution.scoring import score_run
from callgate.results.table import call_rows
from callgate.scenarios import load_suite
from callgate.store.db import Store
from callgate.variants import load_variants

pytestmark = pytest.mark.slow

SUITE = Path(__file__).resolve().parents[2] / "examples" / "spanish"
SCENARIOS = ["balance-checking-simple", "freeze-debit-simple", "saldo-corriente", "bloquear-debito"]
SPEC = [{"name": "ASRAccuracy"}, {"name": "TaskCompletion"}]


def _rows(store: Store, run_id: str) -> list[dict[str, Any]]:
    rows, _ = call_rows(store, run_id)
    return rows


def test_spanish_callers_run_and_their_locale_is_a_gated_cohort(
    shared_store: Path, tmp_path: Path, cli: Any
) -> None:
    loaded = load_suite(str(SUITE))
    variants = load_variants(["baseline", "candidate"], loaded)
    p = plan(RunRequest(loaded, variants, scenarios=SCENARIOS))
    store = Store.open(shared_store)
    assert not execute(store, p, executor="local", workers=2).failed
    assert not score_run(store, p.run_id, SPEC, executor="inline").failed

    rows = _rows(store, p.run_id)
    assert len(rows) == 2 * (2 + 2 * 2)  # per variant: 2 English calls, 2 Spanish x 2 voices
    by = {(r["variant"], r["scenario_id"], r["tag_voice"]): r for r in rows}
    spanish = [k for k in by if k[0] == "baseline" and by[k]["tag_locale"] == "es-ES"]
    english = [k for k in by if k[0] == "baseline" and by[k]["tag_locale"] == "en-US"]
    assert {by[k]["tag_language"] for k in spanish} == {"es"} and len(english) == 2

    def wer(variant: str, keys: list[tuple[str, str, str]]) -> float:
        return mean(by[(variant, s, v)]["asr_wer"] for _, s, v in keys)

    # English callers: the same ASR on the same audio in both variants.
    for _, s, v in english:
        assert by[("baseline", s, v)]["asr_wer"] == by[("candidate", s, v)]["asr_wer"]
    # Spanish callers: tiny.en cannot transcribe Spanish; base told the language can.
    assert wer("baseline", spanish) > 0.8
    assert wer("candidate", spanish) < wer("baseline", spanish) - 0.4
    kokoro = [k for k in spanish if k[2] == "es-kokoro"]
    assert wer("candidate", kokoro) < 0.3  # the natural Spanish voice is heard almost exactly
    # The policy is English-only, so no Spanish call completes with either variant: a measured
    # cohort outcome the gate must show, not a failure of the run.
    assert all(by[k]["task_completion"] == 0.0 for k in by if by[k]["tag_locale"] == "es-ES")

    out = tmp_path / "cmp.json"
    code, _, err = cli(
        *("compare", f"{p.run_id}:baseline", f"{p.run_id}:candidate", "--by", "locale"),
        *("-m", "asr_wer", "-m", "task_completion", "--min-calls", "1", "--json", str(out)),
        *("--store", str(shared_store)),
    )
    assert code == 0, err
    table = {(c["metric"], c["slice"]): c for c in json.loads(out.read_text())["comparisons"]}
    assert table[("asr_wer", "locale=es-ES")]["n"] == len(spanish)
    assert table[("asr_wer", "locale=es-ES")]["delta"] < -0.4
    assert table[("asr_wer", "locale=en-US")]["delta"] == 0.0
    assert table[("task_completion", "locale=es-ES")]["baseline"] == 0.0
