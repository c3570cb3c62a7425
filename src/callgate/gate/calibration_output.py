"""What ``callgate calibrate`` prints and writes: the table, a JSON summary, example files."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

from rich.table import Table

from callgate.comparison.sides import Side
from callgate.gate.calibrate import TARGET, CalibrationSpec, SizeResult, SyntheticRun
from callgate.gate.calibration_data import with_harm
from callgate.gate.policy import Policy
from callgate.results.table import CALL_ID_COLUMNS, TAG_PREFIX, Dtype


def _share(count: int, runs: int) -> str:
    return f"{count}/{runs} ({count / runs:.1%})"


def table(spec: CalibrationSpec, results: list[SizeResult]) -> Table:
    t = Table(title="gate calibration", title_justify="left", title_style="bold")
    t.add_column("calls per cohort", justify="right")
    t.add_column("regressed cohort (discordance)")
    t.add_column("no change: false block", justify="right")
    t.add_column("no change: undecided", justify="right")
    t.add_column("loss at the margin: false promote", justify="right")
    t.add_column(f"{spec.drop:.0%} drop: blocked naming it", justify="right")
    t.add_column(f"{spec.drop:.0%} drop: undecided", justify="right")
    for r in results:
        disc = sum(r.discordance) / len(r.discordance) if r.discordance else math.nan
        cohort = "any, at random" if r.cohort is None else r.cohort
        t.add_row(
            str(r.calls),
            f"{cohort} ({disc:.0%})",
            _share(r.aa_blocks, r.runs),
            _share(r.aa_undecided, r.runs),
            f"{_share(r.margin_promotes, r.runs)} (margin {r.margin:g})",
            _share(r.drop_caught, r.runs),
            _share(r.drop_undecided, r.runs),
        )
    return t


def summary_lines(spec: CalibrationSpec, results: list[SizeResult]) -> list[str]:
    block = max(results, key=lambda r: r.rate(r.aa_blocks))
    promote = max(results, key=lambda r: r.rate(r.margin_promotes))
    lines = []
    for what, r, count in (
        ("false-block rate (no true change)", block, block.aa_blocks),
        (
            "false-promote rate (a loss at the margin in one cohort)",
            promote,
            promote.margin_promotes,
        ),
    ):
        rate = r.rate(count)
        ok = "met" if rate <= TARGET else "NOT met"
        lines.append(
            f"{what}: at most {rate:.1%} (at {r.calls} calls per cohort; target <= "
            f"{TARGET:.0%}): {ok}"
        )
    reasons = sorted({s for r in results for s in r.aa_reasons})
    if reasons:
        lines.append(f"false blocks came from: {', '.join(reasons)}")
    return lines


def to_json(spec: CalibrationSpec, results: list[SizeResult], policy: Policy) -> dict[str, Any]:
    return {
        "schema_version": 2,
        "policy": policy.source,
        "policy_sha256": policy.sha256,
        "spec": dataclasses.asdict(spec),
        "rows": [
            {
                "calls_per_cohort": r.calls,
                "cohort": r.cohort,
                "margin": r.margin,
                "runs": r.runs,
                "discordance": sum(r.discordance) / len(r.discordance) if r.discordance else None,
                "false_block": r.rate(r.aa_blocks),
                "undecided_no_change": r.rate(r.aa_undecided),
                "promote_no_change": r.rate(r.aa_promotes),
                "false_promote": r.rate(r.margin_promotes),
                "power_at_drop": r.rate(r.drop_caught),
                "undecided_at_drop": r.rate(r.drop_undecided),
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
    """Write one run's data as results files: baseline.csv, candidate.csv (no change) and
    candidate-drop.csv (the spec's drop in the first cohort), ready for `callgate gate`."""
    from callgate.results.export import write_table

    run = SyntheticRun(policy, spec, n, 0, 0)
    base, cand = run.sides([d.cand for d in run.data])
    cands = [d.cand for d in run.data]
    cands[0] = with_harm(run.rng, run.data[0], spec.drop)
    _base, dropped = run.sides(cands)
    paths = []
    for name, side in (("baseline", base), ("candidate", cand), ("candidate-drop", dropped)):
        rows, columns = _rows(side)
        path = folder / f"{name}.csv"
        write_table(rows, columns, path, "csv")
        paths.append(path)
    return paths
