"""Gate decisions on synthetic results: A/A promotes, a cohort regression blocks and names it,
missing evidence (a required cohort, a small cohort, an improvement not shown yet) leaves the
gate UNDECIDED with what would settle it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from callgate.comparison.sides import load_side
from callgate.gate.decide import Decision
from callgate.gate.engine import GatePlan, run_gate
from callgate.gate.model import load_gate
from callgate.gate.outputs import write_outputs
from callgate.gate.policy import load_policy
from callgate.gate.report import build_report
from comparison.synth import POLICY, paired_rows, policy_file, variant_file

FOUR = {"a": 200, "b": 200, "c": 200, "d": 200}


def gate(
    tmp_path: Path, rows: list[dict[str, Any]], policy: str = POLICY, **kw: Any
) -> tuple[GatePlan, Decision]:
    base = load_side(str(variant_file(tmp_path, rows, "baseline")), None)
    cand = load_side(str(variant_file(tmp_path, rows, "candidate")), None)
    return run_gate(
        load_policy(str(policy_file(tmp_path, policy))), base, cand, resamples=300, **kw
    )


def test_aa_promotes(tmp_path: Path) -> None:
    _plan, d = gate(tmp_path, paired_rows(FOUR, holdout={"d"}, seed=2))
    assert d.promote, [r.message for r in d.reasons]
    # all, 4 call types, split=dev (split=holdout is call_type=d: tested once), ttfa globally
    assert d.family_size == 1 + 4 + 1 + 1
    labels = [ch.slice for ch in d.checks]
    assert labels[0] == "all" and "call_type=b" in labels  # global beside the cohorts


def test_regression_in_one_cohort_blocks_and_names_it(tmp_path: Path) -> None:
    _plan, d = gate(tmp_path, paired_rows(FOUR, holdout={"d"}, seed=2, drop={"b": 50}))
    assert not d.promote
    harm = {r.slice: r for r in d.reasons if r.kind == "harm"}
    assert "call_type=b" in harm
    assert set(harm) <= {"all", "split=dev", "call_type=b"}  # only slices holding cohort b
    msg = harm["call_type=b"].message
    assert msg.startswith("task_completion in call_type=b (n=200, 200 scenarios)")
    assert "worse beyond the margin 10.0 pts" in msg and "Holm-adjusted" in msg
    check = next(ch for ch in d.checks if ch.slice == "call_type=b")
    assert check.status == "block" and check.p_adjusted is not None and check.p_adjusted <= 0.05
    assert check.delta < 0 and check.ci_high < 0


def test_benjamini_hochberg_and_unpaired_also_catch_it(tmp_path: Path) -> None:
    rows = paired_rows(FOUR, holdout={"d"}, seed=2, drop={"b": 70})
    _plan, d = gate(tmp_path, rows, POLICY.replace("holm", "bh"))
    assert "call_type=b" in [r.slice for r in d.reasons if r.kind == "harm"]
    assert all("Benjamini-Hochberg" in r.message for r in d.reasons)
    plan, d = gate(tmp_path, rows, force_unpaired=True)
    assert not plan.pairing.paired
    assert "call_type=b" in [r.slice for r in d.reasons]


def test_missing_required_cohort_leaves_it_undecided(tmp_path: Path) -> None:
    _plan, d = gate(tmp_path, paired_rows(FOUR, seed=2))
    assert d.label == "UNDECIDED" and not d.reasons
    assert [(r.kind, r.slice) for r in d.undecided] == [("required_cohort", "split=holdout")]
    assert "required cohort split=holdout has no calls yet" in d.undecided[0].message


def test_required_cohort_too_small_is_open_with_the_calls_it_needs(tmp_path: Path) -> None:
    _plan, d = gate(tmp_path, paired_rows({**FOUR, "e": 12}, holdout={"e"}, seed=2))
    assert d.label == "UNDECIDED"
    slices = {r.slice for r in d.undecided}
    assert slices == {"call_type=e"}  # split=holdout is the same calls, tested once
    (check,) = [ch for ch in d.checks if ch.slice == "call_type=e"]
    assert check.required
    assert check.status == "open" and check.extra_calls == 18
    assert "12 scored calls, min_calls needs 30" in check.note


def test_small_cohort_keeps_the_gate_open_unless_the_policy_skips_it(tmp_path: Path) -> None:
    rows = paired_rows({**FOUR, "tiny": 10}, holdout={"d"}, seed=2)
    _plan, d = gate(tmp_path, rows)
    assert d.label == "UNDECIDED"
    assert [r.slice for r in d.undecided] == ["call_type=tiny"]
    skip = POLICY.replace("  min_calls: 30\n", "  min_calls: 30\n  below_min_calls: skip\n")
    _plan, d = gate(tmp_path, rows, skip)
    assert d.promote
    assert any("call_type=tiny (10)" in w for w in d.warnings)
    tiny = next(ch for ch in d.checks if ch.slice == "call_type=tiny")
    assert tiny.status == "warn" and tiny.verdict == "too few calls to tell"
    assert tiny.mde is not None and tiny.mde > 0.2  # 10 pairs cannot see a small drop


def test_required_improvement(tmp_path: Path) -> None:
    policy = POLICY.replace(
        "    non_inferiority_margin: 0.1\n",
        "    non_inferiority_margin: 0.1\n    required_improvement: 0.02\n",
    )
    rows = paired_rows(FOUR, holdout={"d"}, seed=2)
    _plan, d = gate(tmp_path, rows, policy)
    assert d.label == "UNDECIDED"
    (open_,) = d.undecided
    assert open_.slice == "all" and "improvement of 2.0 pts not shown yet" in open_.message
    for r in rows[1::2][::4]:  # every 4th candidate call now succeeds: +~5 pts
        r["task_completion"] = 1.0
    _plan, d = gate(tmp_path, rows, policy)
    assert d.promote, [r.message for r in d.reasons + d.undecided]
    for r in rows[1::2]:  # every candidate call fails: the improvement is ruled out
        r["task_completion"] = 0.0
    _plan, d = gate(
        tmp_path, rows, policy.replace("non_inferiority_margin: 0.1", "non_inferiority_margin: 0.9")
    )
    assert d.label == "BLOCK"
    assert "rules out the required improvement of 2.0 pts" in d.reasons[0].message


def test_identical_slices_are_tested_once(tmp_path: Path) -> None:
    plan, d = gate(tmp_path, paired_rows(FOUR, holdout=set(FOUR), seed=2))
    assert d.promote
    assert "split=holdout" in plan.slices[0].aliases
    assert any("split=holdout holds the same calls as all" in n for n in plan.notes)
    assert d.family_size == 1 + 4 + 1


def test_a_certain_harm_blocks(tmp_path: Path) -> None:
    # Every candidate call exactly 0.5 s slower: the bootstrap's deltas are all equal (se 0, p 0).
    rows = paired_rows(FOUR, holdout={"d"}, seed=2)
    for base, cand in zip(rows[0::2], rows[1::2], strict=True):
        cand["ttfa_p50_s"] = base["ttfa_p50_s"] + 0.5
    _plan, d = gate(tmp_path, rows)
    (check,) = [ch for ch in d.checks if ch.metric == "ttfa_p50_s"]
    assert check.p_worse == 0.0 and check.status == "block"
    assert [r.slice for r in d.reasons] == ["all"]


def test_required_cohort_size_counts_when_every_metric_is_global(tmp_path: Path) -> None:
    policy = POLICY.replace(
        "  task_completion:\n    non_inferiority_margin: 0.1\n",
        "  task_completion:\n    non_inferiority_margin: 0.1\n    scope: global\n",
    )
    _plan, d = gate(tmp_path, paired_rows({**FOUR, "e": 12}, holdout={"e"}, seed=2), policy)
    assert d.label == "UNDECIDED"
    assert [r.kind for r in d.undecided] == ["required_cohort"]
    assert "has 12 calls, min_calls is 30" in d.undecided[0].message


def test_gate_json_reads_back_into_the_models_decide_built(tmp_path: Path) -> None:
    rows = paired_rows(FOUR, holdout={"d"}, seed=2, drop={"b": 50})
    base = load_side(str(variant_file(tmp_path, rows, "baseline")), None)
    cand = load_side(str(variant_file(tmp_path, rows, "candidate")), None)
    plan, d = run_gate(load_policy(str(policy_file(tmp_path))), base, cand, resamples=300)
    report = build_report(plan, d, base, cand, seed=0, resamples=300)
    # One model: the report holds the very checks and reasons decide() built.
    assert all(a is b for a, b in zip(report.checks, d.checks, strict=True))
    assert all(a is b for a, b in zip(report.reasons, d.reasons, strict=True))
    write_outputs(report, tmp_path / "out")
    assert load_gate(tmp_path / "out") == report
    check = d.checks[0]
    check.p_worse = float("nan")  # a test that could not be computed is null, never NaN
    assert check.p_worse is None and "NaN" not in report.model_dump_json()


def test_schema_1_gate_json_reads_as_schema_2(tmp_path: Path) -> None:
    rows = paired_rows(FOUR, holdout={"d"}, seed=2)
    base = load_side(str(variant_file(tmp_path, rows, "baseline")), None)
    cand = load_side(str(variant_file(tmp_path, rows, "candidate")), None)
    plan, d = run_gate(load_policy(str(policy_file(tmp_path))), base, cand, resamples=300)
    doc = build_report(plan, d, base, cand, seed=0, resamples=300).model_dump()
    doc["schema_version"] = 1
    doc.pop("undecided")
    for check in doc["checks"]:
        for field in ("scenarios", "p_within", "harm_bound", "extra_calls", "block_above"):
            check.pop(field)
    (tmp_path / "gate.json").write_text(json.dumps(doc))
    old = load_gate(tmp_path / "gate.json")
    assert old.schema_version == 2 and old.decision == d.label and old.undecided == []
    assert old.checks[0].scenarios is None
