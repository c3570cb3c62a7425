"""A rate backed by too few pooled events is not shown, in `callgate compare` and its JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from callgate.comparison.render import comparison_json, comparison_row
from callgate.comparison.session import run_compare, select_metrics
from callgate.comparison.sides import load_side
from comparison.synth import COLUMNS, paired_rows, write

# Cohort a: every call has a talk-over (60 events a side). Cohort b: only two calls do.
ROWS = paired_rows({"a": 60, "b": 40}, seed=3)
COLS = [*COLUMNS[:-1], ("talk_overs", "float64"), ("yield_rate", "float64"), COLUMNS[-1]]


def _with_events(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        call = int(r["scenario_id"][1:])  # cohort a holds calls 0-59, cohort b 60-99
        some = call < 62
        yielded = float(call % 3 != 0) if r["variant"] == "candidate" else 1.0
        out.append(
            r | {"talk_overs": 1.0 if some else 0.0, "yield_rate": yielded if some else None}
        )
    return out


def _write(tmp_path: Path) -> tuple[str, str]:
    rows = _with_events(ROWS)
    base = write(tmp_path / "b.csv", [r for r in rows if r["variant"] == "baseline"], COLS)
    cand = write(tmp_path / "c.csv", [r for r in rows if r["variant"] == "candidate"], COLS)
    return str(base), str(cand)


def test_pooled_events_decide_whether_a_rate_is_shown(tmp_path: Path) -> None:
    base, cand = (load_side(p, None) for p in _write(tmp_path))
    specs, _ = select_metrics(base, cand, [])
    names = [s.name for s in specs]
    # The count is the rate's denominator: no verdict of its own.
    assert "yield_rate" in names and "talk_overs" not in names
    result = run_compare(base, cand, specs, by=["call_type"], combinations=[], resamples=100)
    rows = {c.slice: c for c in result.comparisons if c.metric.name == "yield_rate"}
    assert (rows["call_type=a"].events_base, rows["call_type=a"].events_cand) == (60, 60)
    assert (rows["call_type=b"].events_base, rows["call_type=b"].events_cand) == (2, 2)
    assert rows["call_type=b"].too_few_events(5) == 2
    assert rows["call_type=a"].too_few_events(5) is None
    assert rows["call_type=b"].too_few_events(2) is None

    few = comparison_row(rows["call_type=b"], 0.05, 30, 5)
    assert few[4:] == ["too few events (2)", "too few events (2)", "-", "-", few[-1]]
    assert "too few events to tell" in few[-1]
    shown = comparison_row(rows["call_type=a"], 0.05, 30, 5)
    assert shown[4] == "100.0%" and "too few" not in " ".join(shown)
    doc = comparison_json(rows["call_type=b"], 0.05, 30, 5)
    assert doc["verdict"] == "too few events to tell"
    assert (doc["events_baseline"], doc["events_candidate"]) == (2, 2)
    assert comparison_json(rows["call_type=b"], 0.05, 30, 2)["verdict"] != doc["verdict"]
    # A metric without events is never held back.
    other = next(c for c in result.comparisons if c.metric.name == "task_completion")
    assert other.events_base is None and other.too_few_events(10**6) is None


def test_cli_min_events(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    base, cand = _write(tmp_path)
    out_json = tmp_path / "cmp.json"
    args = ["compare", base, cand, "-m", "yield_rate", "--by", "call_type", "--resamples", "100"]
    code, out, err = cli(*args, "--json", str(out_json))
    assert code == 0, err
    assert "too few events (2)" in out
    doc = json.loads(out_json.read_text())
    assert doc["min_events"] == 5
    verdicts = {c["slice"]: c["verdict"] for c in doc["comparisons"]}
    assert verdicts["call_type=b"] == "too few events to tell"
    assert verdicts["call_type=a"] != "too few events to tell"
    code, out, err = cli(*args, "--min-events", "2")
    assert code == 0 and "too few events" not in out
    code, _o, err = cli(*args, "--min-events", "0")
    assert code == 2 and "--min-events: must be at least 1" in err


def test_the_gate_decides_nothing_on_a_rate_with_too_few_events(tmp_path: Path) -> None:
    from callgate.gate.decide import decide
    from callgate.gate.policy import load_policy
    from comparison.synth import policy_file

    base, cand = (load_side(p, None) for p in _write(tmp_path))
    specs, _ = select_metrics(base, cand, ["yield_rate"])
    result = run_compare(base, cand, specs, by=["call_type"], combinations=[], resamples=100)
    policy = load_policy(
        str(
            policy_file(
                tmp_path,
                "schema_version: 2\ncohorts: {by: [call_type], min_calls: 10}\n"
                "metrics:\n  yield_rate: {non_inferiority_margin: 0.05}\n",
            )
        )
    )
    decision = decide(policy, result.slices, result.comparisons)
    checks = {c.slice: c for c in decision.checks if c.metric == "yield_rate"}
    # Cohort b's two talk-overs a side decide nothing: a call has a rate only if it had an event,
    # so the gate's min_calls already counts events; cohort a's 60 (a third not yielded) block.
    assert checks["call_type=b"].verdict == "too few calls to tell"
    assert checks["call_type=b"].status != "block"
    assert checks["call_type=a"].status == "block"
