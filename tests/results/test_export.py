"""The results table exports to CSV, Parquet and JSONL with the documented columns and dtypes."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from callgate.execution.scoring import score_run
from callgate.results.export import write_table
from callgate.results.table import CALL_ID_COLUMNS, TURN_COLUMNS, call_rows, turn_rows
from callgate.store.db import Store
from factories import agent, call, caller, cost, tool

DOCS = Path(__file__).parents[2] / "docs" / "results.md"


def make_store(tmp_path: Path) -> Store:
    store = Store.open(tmp_path / "store")
    store.ensure_run("r1", {"suite": "s"}, 2)
    for i, variant in enumerate(("baseline", "candidate")):
        store.put_call(
            call(
                call_id=f"c{i}",
                variant=variant,
                cohort={"voice": "a", "accent": "us", "behaviour": "happy"},
                expectation={
                    "tools": [{"tool": "freeze_card", "args": {"card": "debit"}}],
                    "outcome": [],
                    "transferred": False,
                },
                caller_turns=[caller(0, "freeze my debit card", 1.0, 2.0)],
                agent_turns=[
                    agent(0, "Hi", trigger="start"),
                    agent(
                        1,
                        "Done.",
                        heard=(1.0, 2.0),
                        asr="freeze my debit card" if i else "fees my debit card",
                        reference="freeze my debit card",
                        first_audible=3.0,
                        playback_end=4.0,
                    ),
                ],
                tool_calls=[tool(0, "freeze_card", {"card": "debit"}, 2.5)],
                cost=cost(0.01),
                cost_total=0.01,
            )
        )
    spec = [
        {"name": n}
        for n in ("ASRAccuracy", "TaskCompletion", "ToolSelectionAccuracy", "Timing", "Cost")
    ]
    out = score_run(store, "r1", spec, executor="inline")
    assert out.scored == 2 and not out.failed
    return store


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_call_table_loads_in_pandas_with_documented_dtypes(tmp_path: Path, fmt: str) -> None:
    store = make_store(tmp_path)
    rows, columns = call_rows(store, "r1")
    path = tmp_path / f"out.{fmt}"
    write_table(rows, columns, path, fmt)
    df = {
        "csv": pd.read_csv,
        "parquet": pd.read_parquet,
        "jsonl": lambda p: pd.read_json(p, lines=True, dtype=False),
    }[fmt](path)
    assert list(df.columns) == [c for c, _ in columns]
    assert len(df) == 2
    for name, dtype in CALL_ID_COLUMNS:
        if dtype == "int64":
            assert df[name].dtype == "int64", name
    for metric in ("asr_wer", "task_completion", "ttfa_p50_s", "cost_per_call", "tts_wer"):
        if fmt == "jsonl" and df[metric].isna().all():
            continue  # JSON has no types: a column of nulls only reads as object
        assert df[metric].dtype == "float64", metric
    assert df["tts_wer"].isna().all()  # TTSAccuracy was not in the spec: NaN, never 0
    by_variant = df.set_index("variant")
    assert by_variant.loc["baseline", "asr_wer"] == pytest.approx(0.25)
    assert by_variant.loc["candidate", "asr_wer"] == 0.0
    assert by_variant.loc["baseline", "tag_behaviour"] == "happy"


def test_turn_table(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    rows, columns = turn_rows(store, "r1")
    path = tmp_path / "turns.parquet"
    write_table(rows, columns, path, "parquet")
    df = pd.read_parquet(path)
    assert list(df.columns) == [c for c, _ in TURN_COLUMNS]
    base = df[df.variant == "baseline"].iloc[0]
    assert base["substitutions"] == '[["freeze", "fees"]]'
    assert base["ttfa_s"] == pytest.approx(1.0)


def test_every_column_is_documented() -> None:
    text = DOCS.read_text()
    documented = set(re.findall(r"^\| `([a-z_0-9<>]+)`", text, flags=re.M))
    from callgate.evaluators.base import EVALUATORS
    from callgate.evaluators.suite import load_evaluators

    load_evaluators()
    # callgate's own evaluators; an installed plugin documents its metrics itself.
    own = [n for n in EVALUATORS.names() if EVALUATORS.origin(n).startswith("callgate ")]
    metrics = {m.name for n in own for m in EVALUATORS.factory(n).metrics}  # type: ignore[attr-defined]
    wanted = {c for c, _ in CALL_ID_COLUMNS} | {c for c, _ in TURN_COLUMNS}
    wanted |= metrics | {"reasons", "tag_<name>"}
    assert wanted <= documented, sorted(wanted - documented)


def test_bad_format(tmp_path: Path) -> None:
    from callgate.errors import UsageError

    with pytest.raises(UsageError, match="unknown format"):
        write_table([], [], tmp_path / "x.xls", "xls")


def test_export_command_errors(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    store = make_store(tmp_path)
    root = str(store.root)
    code, _o, err = cli("export", "--store", root, "-o", str(tmp_path / "x.csv"), "-f", "parquet")
    assert code == 2 and "--output: --output ends in .csv but --format is parquet" in err
    code, _o, err = cli("export", "--store", root, "-f", "xls")
    assert code == 2 and "unknown format 'xls'" in err
    assert len(err.strip().splitlines()) == 1
    code, out, _e = cli("export", "--store", root, "-o", str(tmp_path / "calls.jsonl"))
    assert code == 0 and "wrote 2 calls" in out  # the format follows the suffix
    assert (tmp_path / "calls.jsonl").read_text().startswith("{")
    code, _o, err = cli("export", "--store", root, "-o", str(tmp_path / "calls.xlsx"))
    assert code == 2 and "--output: unknown file type .xlsx" in err  # never a silent CSV
    blocker = tmp_path / "plain-file"
    blocker.write_text("")
    code, _o, err = cli("export", "--store", root, "-o", str(blocker / "calls.csv"))
    assert code == 2 and "cannot write here" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    Store.open(tmp_path / "empty").ensure_run("r0", {"suite": "s"}, 0)
    code, _o, err = cli("export", "--store", str(tmp_path / "empty"))
    assert code == 2 and "not scored yet" in err


def test_batch_file_errors(tmp_path: Path) -> None:
    from callgate.errors import UsageError
    from callgate.evaluators import ASRAccuracy

    with pytest.raises(UsageError, match="file not found"):
        ASRAccuracy().evaluate_many(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"ground_truth": "a", "hypothesis": "a"}\nnot json\n')
    with pytest.raises(UsageError, match="line 2: not JSON"):
        ASRAccuracy().evaluate_many(bad)
