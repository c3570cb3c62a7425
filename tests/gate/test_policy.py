"""Policy files: valid ones load, malformed ones give one-line errors with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from callgate.comparison.sides import load_side
from callgate.errors import UsageError
from callgate.gate.policy import load_policy
from comparison.synth import POLICY, paired_rows, policy_file, variant_file


def test_schema_1_policies_read_as_schema_2(tmp_path: Path) -> None:
    policy = load_policy(
        str(policy_file(tmp_path, POLICY.replace("schema_version: 2", "schema_version: 1")))
    )
    assert policy.margin("task_completion", "all") == 0.1
    assert policy.metrics["task_completion"].block_when == "worse_than_margin"


def test_default_policy_loads() -> None:
    policy = load_policy("default")
    # Margins above 0 everywhere; five points over all calls, ten in each cohort.
    assert policy.margin("task_completion", "all") == 0.05
    assert policy.margin("task_completion", "accent=scottish") == 0.10
    assert policy.metrics["safety_violations"].block_when == "worse"
    assert policy.metrics["task_completion"].block_when == "worse"  # any shown loss blocks
    assert policy.metrics["ttfa_p50_s"].block_when == "worse_than_margin"
    assert policy.cohorts.below_min_calls == "undecided"
    assert policy.multiplicity == "holm" and policy.alpha == 0.05
    assert policy.specs["task_completion"].kind == "binary"
    assert policy.specs["ttfa_p50_s"].statistic == "p95"
    assert "split=holdout" in policy.cohorts.required


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        (
            "  task_completion:\n",
            "  task_complete:\n",
            "policy.yaml:9: metrics.task_complete: unknown metric 'task_complete' (did you mean "
            "'task_completion'?",
        ),
        (
            "non_inferiority_margin: 0.1",
            "non_inferiority_margin: 0.0",
            "policy.yaml:10: metrics.task_completion.non_inferiority_margin: must be above 0: a "
            "candidate promotes only when its loss is shown to be smaller than the margin",
        ),
        (
            "schema_version: 2",
            "schema_version: 3",
            "policy.yaml:1: schema_version: Input should be 1 or 2",
        ),
        (
            "  task_completion:\n",
            "  task_completion:\n    block_when: sometimes\n",
            "policy.yaml:10: metrics.task_completion.block_when: Input should be "
            "'worse_than_margin' or 'worse'",
        ),
        (
            "alpha: 0.05",
            "alpha: 0.05\nbeta: 1",
            "policy.yaml:3: beta: Extra inputs are not permitted",
        ),
        (
            "    non_inferiority_margin: 0.1\n",
            "    statistic: mean\n",
            "policy.yaml:10: metrics.task_completion: set non_inferiority_margin and/or "
            "required_improvement",
        ),
        (
            '["split=holdout"]',
            '["split"]',
            "policy.yaml:7: cohorts.required: 'split' is not a cohort",
        ),
        (
            "    non_inferiority_margin: 0.1\n",
            "    non_inferiority_margin: 0.1\n    statistic: p95\n",
            "policy.yaml:11: metrics.task_completion.statistic: p95 of a pass/fail metric",
        ),
    ],
)
def test_malformed_policies(tmp_path: Path, old: str, new: str, needle: str) -> None:
    assert old in POLICY
    path = policy_file(tmp_path, POLICY.replace(old, new, 1))
    with pytest.raises(UsageError) as info:
        load_policy(str(path))
    assert needle in info.value.one_line(), info.value.one_line()
    assert "\n" not in info.value.one_line()


def test_unknown_cohort_tag_is_checked_against_the_results(tmp_path: Path) -> None:
    rows = paired_rows({"a": 30})
    base = load_side(str(variant_file(tmp_path, rows, "baseline")), None)
    cand = load_side(str(variant_file(tmp_path, rows, "candidate")), None)
    path = policy_file(tmp_path, POLICY.replace("by: [call_type, split]", "by: [call_type, acent]"))
    policy = load_policy(str(path))
    with pytest.raises(UsageError) as info:
        policy.bind(base, cand)
    line = info.value.one_line()
    assert "policy.yaml:5: cohorts.by.1: unknown cohort tag 'acent'" in line, line
    assert "tags in the results: call_type, split" in line
    # A built-in tag that the results lack is no error: it just has no slices.
    load_policy(
        str(policy_file(tmp_path, POLICY.replace("call_type, split", "call_type, noise")))
    ).bind(base, cand)


def test_metric_missing_from_results(tmp_path: Path) -> None:
    rows = paired_rows({"a": 30})
    base = load_side(str(variant_file(tmp_path, rows, "baseline")), None)
    cand = load_side(str(variant_file(tmp_path, rows, "candidate")), None)
    text = POLICY + "  asr_wer:\n    non_inferiority_margin: 0.01\n"
    with pytest.raises(
        UsageError, match=r"policy.yaml:15: metrics.asr_wer: metric 'asr_wer' is not"
    ):
        load_policy(str(policy_file(tmp_path, text))).bind(base, cand)


def test_a_metric_of_your_own_declares_its_direction(tmp_path: Path) -> None:
    text = (
        POLICY + "  csat:\n    direction: higher\n    kind: rate\n    non_inferiority_margin: 0.1\n"
    )
    policy = load_policy(str(policy_file(tmp_path, text)))
    assert policy.specs["csat"].direction == "higher"
    clash = POLICY.replace("statistic: p95\n", "statistic: p95\n    direction: higher\n")
    with pytest.raises(UsageError, match="ttfa_p50_s is lower-is-better in callgate"):
        load_policy(str(policy_file(tmp_path, clash)))


def test_overrides_and_bundled_names(tmp_path: Path) -> None:
    text = POLICY.replace(
        '  required: ["split=holdout"]\n',
        '  required: ["split=holdout"]\n  overrides:\n    "call_type=a":\n      min_calls: 10\n'
        "      metrics: {task_completion: {non_inferiority_margin: 0.05}}\n",
    )
    policy = load_policy(str(policy_file(tmp_path, text)))
    assert policy.min_calls("call_type=a") == 10 and policy.min_calls("all") == 30
    assert policy.margin("task_completion", "call_type=a") == 0.05
    assert policy.margin("task_completion", "call_type=b") == 0.1
    with pytest.raises(UsageError, match="no policy file 'strict' and no bundled policy"):
        load_policy("strict")
