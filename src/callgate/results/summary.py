"""A terminal summary of a scored run: key metrics per variant and per cohort."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from callgate.evaluators.cost import cost_per_completed
from callgate.results.table import call_rows, turn_rows
from callgate.store.reader import StoreReader
from callgate.store.records import CAUSES

KEY_METRICS = [
    ("task_completion", "task done", "{:.0%}"),
    ("tool_selection_accuracy", "tools right", "{:.0%}"),
    ("asr_wer", "ASR WER", "{:.3f}"),
    ("asr_entity_accuracy", "entities", "{:.0%}"),
    ("tts_wer", "TTS WER", "{:.3f}"),
    ("transferred", "to human", "{:.0%}"),
    ("safety_violations", "safety", "{:.2f}"),
]


def _mean(values: list[float]) -> float | None:
    vals = [v for v in values if not math.isnan(v)]
    return sum(vals) / len(vals) if vals else None


Groups = dict[tuple[str, ...], list[dict[str, Any]]]


def _table(
    title: str, groups: Groups, ttfa: dict[tuple[str, ...], list[float]], keys: list[str]
) -> Table:
    table = Table(title=title, title_justify="left")
    for k in keys:
        table.add_column(k)
    table.add_column("calls", justify="right")
    for _, label, _ in KEY_METRICS:
        table.add_column(label, justify="right")
    # Percentiles over every answered turn of the slice, not an average of per-call percentiles.
    table.add_column("TTFA p50/p95 s", justify="right")
    table.add_column("cost/completed", justify="right")
    for key in sorted(groups):
        rows = groups[key]
        cells = []
        for metric, _, fmt in KEY_METRICS:
            m = _mean([r[metric] for r in rows])
            cells.append("-" if m is None else fmt.format(m))
        cpc = cost_per_completed(
            [r["cost_per_call"] for r in rows if not math.isnan(r["cost_per_call"])],
            [r["task_completion"] == 1.0 for r in rows],
        )
        t = ttfa.get(key, [])
        pct = f"{np.percentile(t, 50):.2f}/{np.percentile(t, 95):.2f}" if t else "-"
        table.add_row(*key, str(len(rows)), *cells, pct, "-" if cpc is None else f"{cpc:.4f}")
    return table


def print_summary(console: Console, store: StoreReader, run_id: str) -> None:
    rows, _ = call_rows(store, run_id)
    by_variant: Groups = defaultdict(list)
    by_cohort: Groups = defaultdict(list)
    for r in rows:
        by_variant[(r["variant"],)].append(r)
        by_cohort[(r["cohort_id"].replace("|", " "), r["variant"])].append(r)
    ttfa_v: dict[tuple[str, ...], list[float]] = defaultdict(list)
    ttfa_c: dict[tuple[str, ...], list[float]] = defaultdict(list)
    for t in turn_rows(store, run_id)[0]:
        if not math.isnan(t["ttfa_s"]):
            ttfa_v[(t["variant"],)].append(t["ttfa_s"])
            ttfa_c[(t["cohort_id"].replace("|", " "), t["variant"])].append(t["ttfa_s"])
    title = f"run {run_id}: per variant (means over calls)"
    console.print(_table(title, by_variant, ttfa_v, ["variant"]))
    console.print(_table("per cohort", by_cohort, ttfa_c, ["cohort", "variant"]))
    console.print(_attribution_table(by_cohort))
    console.print(
        "Per-cohort means are descriptive only; `callgate export` writes every call.",
        highlight=False,
    )


def _attribution_table(groups: Groups) -> Table:
    """Why calls failed, per cohort and variant (see docs/results.md, attribution)."""
    table = Table(title="failed calls by cause (oracle replay)", title_justify="left")
    for col in ("cohort", "variant", "failed", *CAUSES):
        table.add_column(col, justify="left" if col in ("cohort", "variant") else "right")
    for key in sorted(groups):
        found = [r["attribution"] for r in groups[key] if r["attribution"]]
        if not found:
            continue
        shares = [f"{found.count(c)} ({found.count(c) / len(found):.0%})" for c in CAUSES]
        table.add_row(*key, str(len(found)), *shares)
    return table
