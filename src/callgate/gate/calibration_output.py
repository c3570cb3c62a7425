"""What ``callgate calibrate`` prints and writes: the table, a JSON summary, example files."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
from rich.table import Table

from callgate.comparison.sides import Side
from callgate.gate.calibrate import CalibrationSpec, SizeResult, cohort_names, synthetic_sides
from callgate.gate.policy import Policy
from callgate.results.table import CALL_ID_COLUMNS, TAG_PREFIX, Dtype

AA_TARGET = 0.05  # at most this share of A/A runs may block (the acceptance)


def _share(count: int, runs: int) -> str:
    return f"{count}/{runs} ({count / runs:.1%})"


def table(spec: CalibrationSpec, results: list[SizeResult]) -> Table:
    t = Table(title="gate calibration", title_justify="left", title_style="bold")
    t.add_column("calls per cohort", justify="right")
    t.add_column("A/A false blocks", justify="right")
    t.add_column(f"{spec.drop:.0%} drop: blocked naming the cohort", justify="right")
    t.add_column(f"smallest drop caught {spec.power:.0%} of the time", justify="right")
    for r in results:
        mde = "not reached" if r.mde is None else f"{r.mde:.1%} ({r.mde_calls} calls)"
        t.add_row(
            str(r.calls),
            _share(r.aa_blocks, r.runs),
            f"{r.drop_calls} calls: {_share(r.caught_at_drop, r.runs)}",
            mde,
        )
    return t


def summary_lines(spec: CalibrationSpec, results: list[SizeResult]) -> list[str]:
    worst = max(results, key=lambda r: r.aa_rate)
    largest = max(results, key=lambda r: r.calls)
    lines = [
        f"A/A false-block rate: at most {worst.aa_rate:.1%} (at {worst.calls} calls per cohort; "
        f"target <= {AA_TARGET:.0%}): {'met' if worst.aa_rate <= AA_TARGET else 'NOT met'}",
        f"power for a {spec.drop:.0%} drop in one cohort at {largest.calls} calls per cohort: "
        f"{largest.power_at_drop:.1%} (target >= {spec.power:.0%}): "
        f"{'met' if largest.power_at_drop >= spec.power else 'NOT met'}",
    ]
    reasons = sorted({s for r in results for s in r.aa_reasons})
    if reasons:
        lines.append(f"A/A blocks came from: {', '.join(reasons)}")
    return lines


def to_json(spec: CalibrationSpec, results: list[SizeResult], policy: Policy) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "policy": policy.source,
        "policy_sha256": policy.sha256,
        "spec": dataclasses.asdict(spec),
        "sizes": [
            {
                "calls_per_cohort": r.calls,
                "runs": r.runs,
                "aa_blocks": r.aa_blocks,
                "aa_rate": r.aa_rate,
                "drop_calls": r.drop_calls,
                "caught_at_drop": r.caught_at_drop,
                "power_at_drop": r.power_at_drop,
                "mde_calls": r.mde_calls,
                "mde": r.mde,
                "first_catch": r.first_catch,
            }
            for r in results
        ],
    }


def _rows(side: Side) -> tuple[list[dict[str, Any]], list[tuple[str, Dtype]]]:
    metric_names = list(side.metrics)
    columns: list[tuple[str, Dtype]] = [(c, d) for c, d in CALL_ID_COLUMNS if c in side.text]
    columns += [(c, "string") for c in side.text if c.startswith(TAG_PREFIX)]
    columns += [(m, "float64") for m in metric_names]
    rows = []
    for i in range(side.n):
        row: dict[str, Any] = {c: side.text[c][i] for c in side.text}
        row["repeat"] = int(row["repeat"])
        for m in metric_names:
            v = float(side.metrics[m][i])
            row[m] = v if math.isfinite(v) else None
        rows.append(row)
    return rows, columns


def save_example(policy: Policy, spec: CalibrationSpec, n: int, folder: Path) -> list[Path]:
    """Write one run's data as results files: baseline.csv, candidate.csv (A/A) and
    candidate-drop.csv (the spec's drop in cohort c01), ready for `callgate gate`."""
    from callgate.results.export import write_table

    rng = np.random.default_rng([spec.seed, n, 0])
    base, cand = synthetic_sides(policy, spec, n, rng)
    outcome = policy.specs[spec.metric]
    good, bad = (1.0, 0.0) if outcome.direction == "higher" else (0.0, 1.0)
    values = cand.metrics[spec.metric].copy()
    cohort = cohort_names(spec.cohorts)[0]
    where = np.flatnonzero((cand.text[TAG_PREFIX + spec.tag] == cohort) & (values == good))
    values[rng.permutation(where)[: round(spec.drop * n)]] = bad
    dropped = Side(cand.label, cand.origin, cand.variant, cand.text, {**cand.metrics})
    dropped.metrics[spec.metric] = values
    paths = []
    for name, side in (("baseline", base), ("candidate", cand), ("candidate-drop", dropped)):
        rows, columns = _rows(side)
        path = folder / f"{name}.csv"
        write_table(rows, columns, path, "csv")
        paths.append(path)
    return paths
