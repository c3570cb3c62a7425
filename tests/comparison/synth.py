"""Synthetic results tables for the comparison and gate tests (built here, no store needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from callgate.results.export import write_table
from callgate.results.table import CALL_ID_COLUMNS, Dtype

COLUMNS: list[tuple[str, Dtype]] = [
    *CALL_ID_COLUMNS,
    ("tag_call_type", "string"),
    ("tag_split", "string"),
    ("task_completion", "float64"),
    ("safety_violations", "float64"),
    ("ttfa_p50_s", "float64"),
    ("reasons", "string"),
]


def paired_rows(
    cohorts: dict[str, int],
    *,
    seed: int = 0,
    rate: float = 0.8,
    flip: float = 0.05,
    drop: dict[str, int] | None = None,
    holdout: set[str] | None = None,
) -> list[dict[str, Any]]:
    """Baseline and candidate rows of paired calls: ``cohorts`` maps a call type to its calls.

    The outcome differs in ``flip`` of the calls each way; ``drop`` turns that many of a cohort's
    candidate successes into failures. Cohorts in ``holdout`` are split=holdout, others dev.
    """
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    i = 0
    for cohort, n in cohorts.items():
        u = rng.random(n)
        both = (u >= 2 * flip) & (u < rate + flip)
        base = ((u < flip) | both).astype(float)
        cand = (((u >= flip) & (u < 2 * flip)) | both).astype(float)
        k = (drop or {}).get(cohort, 0)
        cand[np.flatnonzero(cand == 1)[:k]] = 0.0
        level = rng.lognormal(0.3, 0.3, n)
        split = "holdout" if cohort in (holdout or set()) else "dev"
        for j in range(n):
            for variant, outcome in (("baseline", base[j]), ("candidate", cand[j])):
                rows.append(
                    {
                        "run_id": "r1",
                        "call_id": f"{variant}-{i}",
                        "source": "simulated",
                        "suite": "synthetic",
                        "scenario_id": f"s{i}",
                        "variant": variant,
                        "repeat": 0,
                        "seed": i,
                        "split": split,
                        "cohort_id": f"call_type={cohort}",
                        "ended_by": "agent_hangup",
                        "tag_call_type": cohort,
                        "tag_split": split,
                        "task_completion": float(outcome),
                        "safety_violations": 0.0,
                        "ttfa_p50_s": float(level[j] * rng.lognormal(0, 0.1)),
                        "reasons": "{}",
                    }
                )
            i += 1
    return rows


def write(
    path: Path, rows: list[dict[str, Any]], columns: list[tuple[str, Dtype]] = COLUMNS
) -> Path:
    fmt = path.suffix.lstrip(".")
    write_table(rows, columns, path, fmt)
    return path


def variant_file(
    tmp_path: Path, rows: list[dict[str, Any]], variant: str, suffix: str = "csv"
) -> Path:
    return write(tmp_path / f"{variant}.{suffix}", [r for r in rows if r["variant"] == variant])


POLICY = """\
schema_version: 2
alpha: 0.05
multiplicity: holm
cohorts:
  by: [call_type, split]
  min_calls: 30
  required: ["split=holdout"]
metrics:
  task_completion:
    non_inferiority_margin: 0.1
  ttfa_p50_s:
    statistic: p95
    non_inferiority_margin: 0.25
    scope: global
"""


def policy_file(tmp_path: Path, text: str = POLICY, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path
