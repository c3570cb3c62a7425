"""`callgate compare`, `gate` and `calibrate` in-process: exit codes 0/1/2/3, output files."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from callgate.gate.model import GateReport
from comparison.synth import COLUMNS, POLICY, paired_rows, policy_file, variant_file, write

FOUR = {"a": 200, "b": 200, "c": 200, "d": 200}


def sides(tmp_path: Path, **kw: object) -> tuple[str, str]:
    rows = paired_rows(FOUR, holdout={"d"}, seed=2, **kw)  # type: ignore[arg-type]
    return (
        str(variant_file(tmp_path, rows, "baseline", "parquet")),
        str(variant_file(tmp_path, rows, "candidate", "jsonl")),
    )


def one_error_line(code: int, err: str, needle: str) -> None:
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("callgate: error: "), err
    assert needle in lines[0], lines[0]


def test_gate_promotes_with_exit_0_and_writes_three_files(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    base, cand = sides(tmp_path)
    policy = policy_file(tmp_path)
    code, out, err = cli(
        "gate",
        base,
        cand,
        "--policy",
        str(policy),
        "--out",
        str(tmp_path / "o"),
        "--resamples",
        "300",
    )
    assert code == 0, err
    assert out.startswith("PROMOTE")
    report = GateReport.model_validate_json((tmp_path / "o/gate.json").read_text())
    assert report.decision == "PROMOTE" and report.schema_version == 2 and report.paired
    md = (tmp_path / "o/gate.md").read_text()
    assert "**PROMOTE**" in md and "| **all** |" in md and "call_type=b" in md
    suite = ET.parse(tmp_path / "o/junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0"
    assert int(suite.get("tests", "0")) == len(report.checks)


def test_gate_blocks_with_exit_1_and_names_the_cohort(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    base, cand = sides(tmp_path, drop={"b": 50})
    code, out, _err = cli(
        "gate",
        base,
        cand,
        "--policy",
        str(policy_file(tmp_path)),
        "--out",
        str(tmp_path / "o"),
        "--resamples",
        "300",
    )
    assert code == 1
    assert out.startswith("BLOCK") and "task_completion in call_type=b" in out
    report = json.loads((tmp_path / "o/gate.json").read_text())
    assert "call_type=b" in [r["slice"] for r in report["reasons"]]
    assert "**BLOCK**" in (tmp_path / "o/gate.md").read_text()
    suite = ET.parse(tmp_path / "o/junit.xml").getroot().find("testsuite")
    assert suite is not None
    failed = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert "task_completion[call_type=b]" in failed


def test_gate_with_the_default_policy_and_a_missing_holdout(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    rows = paired_rows(FOUR, seed=2)
    columns = [*COLUMNS[:-1], ("safety_violations", "float64"), ("reasons", "string")]
    columns = list(dict.fromkeys(columns))
    base = write(tmp_path / "b.csv", [r for r in rows if r["variant"] == "baseline"], columns)
    cand = write(tmp_path / "c.csv", [r for r in rows if r["variant"] == "candidate"], columns)
    code, out, _ = cli(
        "gate", str(base), str(cand), "--out", str(tmp_path / "o"), "--resamples", "300"
    )
    assert code == 3 and out.startswith("UNDECIDED")
    assert "required cohort split=holdout has no calls yet" in out
    suite = ET.parse(tmp_path / "o/junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0"
    skipped = {
        c.get("name"): c.find("skipped")
        for c in suite.iter("testcase")
        if c.find("skipped") is not None
    }
    # CI lists skipped tests apart: every open check is one, with what keeps it open.
    assert skipped["required[split=holdout]"].get("message", "").startswith("UNDECIDED: ")
    assert "⏸️ **UNDECIDED**" in (tmp_path / "o/gate.md").read_text()


def test_gate_undecided_exit_3_lists_open_checks_with_their_extra_calls(
    tmp_path: Path, cli
) -> None:  # type: ignore[no-untyped-def]
    rows = paired_rows({"a": 60, "b": 60, "c": 60, "d": 60}, holdout={"d"}, seed=2)
    base = str(variant_file(tmp_path, rows, "baseline"))
    cand = str(variant_file(tmp_path, rows, "candidate"))
    # Three points of task completion cannot be shown with 60 pairs per cohort.
    policy = policy_file(tmp_path, POLICY.replace("margin: 0.1", "margin: 0.03"))
    code, out, err = cli("gate", base, cand, "--policy", str(policy), "--out", str(tmp_path / "o"))
    assert code == 3, err
    report = GateReport.model_validate_json((tmp_path / "o/gate.json").read_text())
    assert report.decision == "UNDECIDED" and not report.reasons and report.undecided
    open_ = [c for c in report.checks if c.status == "open"]
    assert open_ and all(c.extra_calls and c.extra_calls > 0 for c in open_)
    assert "more scored calls would settle it" in out
    assert report.checks[0].scenarios == 240  # scenarios beside calls


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (
            lambda t: t.replace("task_completion:", "task_complete:"),
            "unknown metric 'task_complete'",
        ),
        (lambda t: t.replace("margin: 0.1", "margin: 0"), "must be above 0: a candidate promotes"),
        (
            lambda t: t.replace("[call_type, split]", "[call_type, acent]"),
            "unknown cohort tag 'acent'",
        ),
    ],
)
def test_malformed_policy_exit_2(tmp_path: Path, cli, edit, needle: str) -> None:  # type: ignore[no-untyped-def]
    base, cand = sides(tmp_path)
    policy = policy_file(tmp_path, edit(POLICY))
    code, _out, err = cli("gate", base, cand, "--policy", str(policy))
    one_error_line(code, err, needle)
    assert "policy.yaml:" in err


def test_malformed_results_exit_2(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    rows = paired_rows({"a": 40}, seed=1)
    both = write(tmp_path / "both.csv", rows)
    base = str(variant_file(tmp_path, rows, "baseline"))
    code, _o, err = cli("gate", base, str(both))
    one_error_line(code, err, "mixed variants (baseline, candidate): name one as")
    no_variant = write(tmp_path / "nv.csv", rows, [c for c in COLUMNS if c[0] != "variant"])
    code, _o, err = cli("compare", base, str(no_variant))
    one_error_line(code, err, "nv.csv: missing column 'variant'")
    gap = [dict(r) for r in rows if r["variant"] == "candidate"]
    gap[3]["scenario_id"] = None
    code, _o, err = cli("gate", base, str(write(tmp_path / "gap.parquet", gap)))
    one_error_line(code, err, "column 'scenario_id': 1 rows have no value")
    code, _o, err = cli("compare", "e631:baseline", base, "--store", str(tmp_path / "nostore"))
    one_error_line(code, err, "no callgate store here")
    code, _o, err = cli("gate", base, base, "--resamples", "5")
    one_error_line(code, err, "--resamples: must be at least 50")


def test_compare_prints_tables_and_json(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    base, cand = sides(tmp_path, drop={"b": 50})
    out_json = tmp_path / "cmp.json"
    code, out, err = cli(
        "compare",
        base,
        cand,
        "-m",
        "task_completion",
        "-m",
        "ttfa_p50_s",
        "--by",
        "call_type,split",
        "--json",
        str(out_json),
        "--resamples",
        "300",
    )
    assert code == 0, err
    assert "task_completion (higher is better)" in out and "paired by scenario" in out
    doc = json.loads(out_json.read_text())
    rows = {(c["metric"], c["slice"]): c for c in doc["comparisons"]}
    assert rows[("task_completion", "call_type=b")]["verdict"] == "worse"
    assert rows[("task_completion", "call_type=a")]["verdict"] == "no detectable change"
    assert rows[("ttfa_p50_s", "all")]["method"] == "cluster-t-paired"
    assert rows[("task_completion", "all")]["method"] == "cluster-score-paired"
    assert doc["paired"] is True
    code, out, err = cli(
        "compare", base, cand, "-m", "task_completion", "--min-calls", "300", "--resamples", "100"
    )
    assert code == 0 and "too few calls to tell (MDE" in out


def test_compare_unpaired_and_own_metric(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    base, cand = sides(tmp_path)
    code, out, err = cli(
        "compare", base, cand, "--unpaired", "-m", "ttfa_p50_s", "--resamples", "100"
    )
    assert code == 0, err and "unpaired" in out
    code, _o, err = cli("compare", base, cand, "-m", "csat")
    one_error_line(code, err, "metric 'csat' is not in both results")


def test_calibrate_smoke_and_example_files(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "ex"
    code, out, err = cli(
        "calibrate",
        "--runs",
        "3",
        "--calls",
        "30,500",
        "--resamples",
        "100",
        "--json",
        str(tmp_path / "c.json"),
        "--save-example",
        str(folder),
    )
    assert code == 0, err
    assert "false-block rate (no true change): at most" in out
    assert "false-promote rate" in out
    doc = json.loads((tmp_path / "c.json").read_text())
    assert [s["calls_per_cohort"] for s in doc["rows"]] == [30, 500]
    assert all(0 <= s["false_block"] <= 1 for s in doc["rows"])
    code, out, _ = cli(
        "gate",
        str(folder / "baseline.csv"),
        str(folder / "candidate-drop.csv"),
        "--resamples",
        "100",
    )
    assert code == 1 and "call_type=c01" in out.splitlines()[0]  # BLOCK decided by ..., c01
    code, _o, err = cli("calibrate", "--metric", "ttfa_p50_s")
    one_error_line(code, err, "--metric: ttfa_p50_s is not a pass/fail metric")


@pytest.mark.parametrize(
    ("cell", "needle"),
    [
        ("inf", "column 'task_completion': data row 1: inf is not 0 or 1 (a pass/fail metric)"),
        ("7", "column 'task_completion': data row 1: 7 is not 0 or 1 (a pass/fail metric)"),
        ('"[1, 2]"', "column 'task_completion': not a number"),
    ],
)
def test_impossible_metric_values_are_one_line_errors(
    tmp_path: Path,
    cli,
    cell: str,
    needle: str,  # type: ignore[no-untyped-def]
) -> None:
    rows = paired_rows({"a": 40}, seed=4)
    base = write(tmp_path / "b.csv", [r for r in rows if r["variant"] == "baseline"], COLUMNS)
    cand = write(tmp_path / "c.csv", [r for r in rows if r["variant"] == "candidate"], COLUMNS)
    lines = cand.read_text().splitlines()
    column = lines[0].split(",").index("task_completion")
    first = lines[1].split(",")
    first[column] = cell
    cand.write_text("\n".join([lines[0], ",".join(first), *lines[2:]]) + "\n")
    code, _out, err = cli("gate", str(base), str(cand), "--policy", str(policy_file(tmp_path)))
    one_error_line(code, err, needle)


def test_a_duplicated_column_is_a_one_line_error(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    rows = paired_rows({"a": 40}, seed=4)
    base = write(tmp_path / "b.csv", [r for r in rows if r["variant"] == "baseline"], COLUMNS)
    cand = write(tmp_path / "c.csv", [r for r in rows if r["variant"] == "candidate"], COLUMNS)
    lines = cand.read_text().splitlines()
    cand.write_text("\n".join([lines[0] + ",task_completion", *(f"{x},1" for x in lines[1:])]))
    code, _out, err = cli("gate", str(base), str(cand), "--policy", str(policy_file(tmp_path)))
    one_error_line(code, err, "c.csv: column 'task_completion' appears twice")


def test_gate_md_is_safe_to_paste(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    evil = "<b>x</b>|**y**"
    rows = paired_rows({evil: 60, "b": 60}, holdout={"b"}, seed=5)
    base = write(tmp_path / "b.csv", [r for r in rows if r["variant"] == "baseline"], COLUMNS)
    cand = write(tmp_path / "c.csv", [r for r in rows if r["variant"] == "candidate"], COLUMNS)
    out_dir = tmp_path / "o"
    code, _out, err = cli(
        "gate", str(base), str(cand), "--policy", str(policy_file(tmp_path)), "--out", str(out_dir)
    )
    assert code in (0, 1, 3), err
    text = (out_dir / "gate.md").read_text()
    assert "<b>" not in text and "&lt;b&gt;x&lt;/b&gt;\\|\\*\\*y\\*\\*" in text
    header = next(line for line in text.splitlines() if line.startswith("| slice"))
    columns = header.count("|")
    for line in text.splitlines():
        if line.startswith("| ") and "call_type=" in line:
            assert line.replace("\\|", "").count("|") == columns, line  # no cell split open


def test_calibrate_from_a_run_reports_each_cohort_on_its_own(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    # A results file holding both variants stands in for a stored run (the same loader reads both).
    rows = paired_rows({"a": 60, "b": 60}, holdout={"b"}, seed=6, flip=0.15)
    both = write(tmp_path / "both.csv", rows)
    out_json = tmp_path / "c.json"
    code, _out, err = cli(
        *("calibrate", "--from-run", str(both), "--runs", "2", "--calls", "30,60"),
        *("--resamples", "50", "--json", str(out_json)),
    )
    assert code == 0, err
    doc = json.loads(out_json.read_text())
    assert doc["spec"]["tag"] == "call_type" and doc["spec"]["per_cohort"] is True
    assert [(r["calls_per_cohort"], r["cohort"]) for r in doc["rows"]] == [
        (30, "a"), (30, "b"), (60, "a"), (60, "b"),
    ]  # fmt: skip
    shapes = {s["name"]: s for s in doc["spec"]["shapes"]}
    # The run's own discordance (about 30% of pairs) and one call per scenario.
    assert 0.15 < shapes["a"]["discordance"] < 0.45 and shapes["a"]["calls_per_scenario"] == 1.0


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--from-run", "nope.csv"), "nope.csv: file not found"),
        (("--discordance", "0.3,2"), "--discordance: give one share or LOW,HIGH"),
        (("--calls", "30,x"), "--calls: '30,x' is not a list of numbers"),
        (("--from-run", "BOTH", "--variants", "baseline"), "--variants: name the baseline"),
        (("--from-run", "BOTH", "--tag", "accent"), "the run has no tag 'accent'"),
    ],
)
def test_calibrate_input_errors(tmp_path: Path, cli, args: tuple[str, ...], needle: str) -> None:  # type: ignore[no-untyped-def]
    both = write(tmp_path / "both.csv", paired_rows({"a": 20}, seed=1))
    args = tuple(str(both) if a == "BOTH" else a for a in args)
    code, _out, err = cli("calibrate", "--runs", "1", *args)
    one_error_line(code, err, needle)
