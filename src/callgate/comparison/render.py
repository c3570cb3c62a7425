"""Terminal views of comparisons (rich tables, one per metric); the gate's is in gate/render.py.

The global slice (``all``) is always the first row of a table that also holds the cohorts: a
global delta is never shown on its own, because a flat average can hide a cohort that got worse.
"""

from __future__ import annotations

import math
from itertools import groupby
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from callgate.comparison import format as fmt
from callgate.comparison.compare import Comparison
from callgate.evaluators.base import MIN_EVENTS

_VERDICT_STYLE = {
    "better": "green",
    "worse": "red",
    "no detectable change": "",
    "too few calls to tell": "yellow",
}
TOO_FEW_EVENTS = "too few events to tell"


def verdict(c: Comparison, alpha: float, min_calls: int, min_events: int = MIN_EVENTS) -> str:
    """The comparison's verdict, or "too few events to tell" for a rate (or an event latency)
    that either side backs with fewer than ``min_events`` pooled events."""
    if c.too_few_events(min_events) is not None:
        return TOO_FEW_EVENTS
    return c.verdict(alpha, min_calls)


def comparison_row(
    c: Comparison, alpha: float, min_calls: int, min_events: int = MIN_EVENTS
) -> list[str]:
    m = c.metric
    n = str(c.n) if c.paired else f"{c.n_base}/{c.n_cand}"
    head = [escape(c.slice), n, str(c.scenarios), "yes" if c.paired else "no"]
    if c.too_few_events(min_events) is not None:
        # Each side shows its own count; neither value is shown, as no delta could be trusted.
        few = [f"too few events ({k})" for k in (c.events_base, c.events_cand)]
        return [*head, *few, "-", "-", f"[yellow]{TOO_FEW_EVENTS}[/]"]
    verdict = c.verdict(alpha, min_calls)
    style = _VERDICT_STYLE[verdict]
    if verdict == "too few calls to tell":
        verdict += f" (MDE {fmt.amount(m, c.mde(alpha / 2))})"
    return [
        *head,
        fmt.value(m, c.baseline),
        fmt.value(m, c.candidate),
        fmt.delta(m, c.delta),
        fmt.interval(m, c.ci_low, c.ci_high),
        f"[{style}]{verdict}[/]" if style else verdict,
    ]


def print_comparisons(
    console: Console,
    comps: list[Comparison],
    alpha: float,
    min_calls: int,
    min_events: int = MIN_EVENTS,
) -> None:
    for _key, group in groupby(comps, key=lambda c: (c.metric.name, c.metric.statistic)):
        rows = list(group)
        m = rows[0].metric
        better = "higher" if m.direction == "higher" else "lower"
        table = Table(
            title=f"{fmt.statistic_name(m)} ({better} is better)",
            title_justify="left",
            title_style="bold",
        )
        ci = f"{1 - alpha:.0%} CI"
        header = ("slice", "n", "scenarios", "paired", "baseline", "candidate", "delta", ci)
        for col in (*header, "verdict"):
            table.add_column(col, overflow="fold")
        for c in rows:
            table.add_row(*comparison_row(c, alpha, min_calls, min_events))
        console.print(table)


def comparison_json(
    c: Comparison, alpha: float, min_calls: int, min_events: int = MIN_EVENTS
) -> dict[str, Any]:
    def f(x: float | None) -> float | None:
        return None if x is None or not math.isfinite(x) else x

    return {
        "metric": c.metric.name,
        "statistic": c.metric.statistic,
        "direction": c.metric.direction,
        "slice": c.slice,
        "paired": c.paired,
        "n": c.n,
        "n_baseline": c.n_base,
        "n_candidate": c.n_cand,
        "scenarios": c.scenarios,
        "baseline": f(c.baseline),
        "candidate": f(c.candidate),
        "delta": f(c.delta),
        "ci_low": f(c.ci_low),
        "ci_high": f(c.ci_high),
        "confidence": c.confidence,
        "method": c.method,
        "p_worse": f(c.p_harm(0.0)) if c.n else None,
        "p_better": f(c.p_gain(0.0)) if c.n else None,
        "verdict": verdict(c, alpha, min_calls, min_events),
        "mde": f(c.mde(alpha / 2)),
        "events_baseline": c.events_base,
        "events_candidate": c.events_cand,
    }
