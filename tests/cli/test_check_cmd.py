"""`callgate check`: warnings exit 0, --strict exits 2, --json, bad input, tuning reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from callgate.scenarios.hygiene import HygieneReport
from callgate.store.db import Store
from factories import call
from support.hygiene_suite import PLAIN, scenario, write_suite

PARAPHRASE = scenario(
    "limit-again",
    ["Could you raise my card's daily spending limit?"],
    split="holdout",
    tool="limit",
)


@pytest.fixture(autouse=True)
def _no_store_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The default store is ./callgate-store: run where there is none, whatever the environment.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CALLGATE_STORE", raising=False)


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("callgate: error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_findings_are_warnings_and_strict_makes_them_an_error(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    suite = write_suite(tmp_path, [*PLAIN, PARAPHRASE])
    code, out, err = cli("check", str(suite))
    assert code == 0, err
    text = " ".join(out.split())
    assert "suite mini, grid default: 6 scenarios" in text
    assert "near_duplicate: holdout limit-again repeats dev limit" in text
    assert "missing_behaviour: all: no scenario with interruption" in text
    assert "note: no store: holdout reads by tuning not checked" in text
    assert "interruption" in out and "noise=babble" in out  # the coverage table

    code, out, err = cli("check", str(suite), "--strict")
    assert code == 2
    line = one_error_line(err)
    assert line.startswith("callgate: error: --strict: ") and "near_duplicate" in line
    assert "near_duplicate: holdout limit-again" in " ".join(out.split())  # printed before


def test_json_to_stdout_is_a_hygiene_report(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    suite = write_suite(tmp_path, [*PLAIN, PARAPHRASE])
    code, out, err = cli("check", str(suite), "--json", "-", "--min-scenarios", "3")
    assert code == 0, err
    report = HygieneReport.model_validate_json(out)
    assert report.suite == "mini" and report.settings.min_scenarios == 3
    assert report.settings.by == ["accent", "noise", "channel", "call_type", "split"]
    (pair,) = [f for f in report.findings if f.kind == "near_duplicate"]
    assert pair.scenarios == ["limit", "limit-again"]

    code, out, err = cli("check", str(suite), "--json", "out/check.json", "--by", "accent")
    assert code == 0, err
    written = json.loads((tmp_path / "out" / "check.json").read_text())
    assert written["schema_version"] == 1 and written["settings"]["by"] == ["accent"]
    assert "wrote out/check.json" in out


def test_a_suite_without_findings_passes_strict(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    # One caller who does every unhappy thing at once, on one cohort: nothing to warn about.
    everything = scenario(
        "everything",
        [
            {"say": "I want to go", "pause": {"after": "want", "ms": 900}, "rate": 1.2},
            {"say": "now", "interrupt_after_ms": 500, "silence_before_s": 5},
        ],
        reactions=[
            {"when": ["pardon"], "say": "$repeat"},
            {"when": ["right?"], "expect": ["go"], "say": "yes", "otherwise": "no, go"},
        ],
    )
    everything["expect"] = {"transferred": True, "label": "out_of_scope"}
    suite = write_suite(
        tmp_path, [everything], grids={"default": [{"voice": ["a"], "channel": ["phone"]}]}
    )
    args = ("check", str(suite), "--strict", "--min-scenarios", "1", "--min-calls", "1")
    code, out, err = cli(*args)
    assert (code, err) == (0, "")
    assert "0 findings" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("nowhere/suite.yaml",), "file not found"),
        (("{suite}", "--similarity", "0"), "--similarity: must be above 0 and at most 1"),
        (("{suite}", "--grid", "huge"), "unknown grid 'huge'"),
        (("{suite}", "--store", "no-store-here"), "no callgate store here"),
        (("{suite}", "--policy", "strictest"), "no policy file 'strictest'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(  # type: ignore[no-untyped-def]
    tmp_path: Path, cli, args: tuple[str, ...], needle: str
) -> None:
    suite = write_suite(tmp_path, PLAIN)
    code, _, err = cli("check", *(a.format(suite=suite) for a in args))
    assert code == 2
    assert needle in one_error_line(err)


def test_a_holdout_scenario_read_by_a_tuning_job(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    held = scenario("held", ["Close my account, please."], split="holdout")
    suite = write_suite(tmp_path, [*PLAIN, held])
    root = tmp_path / "callgate-store"
    store = Store.open(root)
    store.ensure_run("r1", {"suite": "mini"}, planned=3)
    store.ensure_run("r2", {"suite": "other"}, planned=1)
    for call_id, run_id, sid, split in (
        ("c1", "r1", "held", "holdout"),
        ("c2", "r1", "balance", "dev"),
        ("c3", "r1", "held", "holdout"),
        ("c4", "r2", "held", "holdout"),  # another suite's scenario of the same name
    ):
        store.put_call(call(call_id=call_id, run_id=run_id, scenario_id=sid, split=split))
    store.record_tuning_read("r1", "c1", "job-7")
    store.record_tuning_read("r1", "c3", "job-7")
    store.record_tuning_read("r1", "c2", "job-7")  # dev calls are for tuning
    store.record_tuning_read("r2", "c4", "job-9")
    store.close()

    code, out, err = cli("check", str(suite), "--json", "-")  # the default ./callgate-store
    assert code == 0, err
    report = HygieneReport.model_validate_json(out)
    (found,) = [f for f in report.findings if f.kind == "holdout_read"]
    assert found.scenarios == ["held"] and found.jobs == ["job-7"]
    assert not any("no store" in note for note in report.notes)

    code, out, err = cli("check", str(suite), "--store", str(root))
    assert code == 0, err
    assert "holdout_read: holdout held was read by tuning job job-7" in " ".join(out.split())
