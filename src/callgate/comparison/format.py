"""Numbers as people read them: shares in %, differences of shares in points, others with units."""

from __future__ import annotations

import math

from callgate.comparison.compare import MetricSpec

_SHARE_UNITS = {"fraction", "bool", "flag"}


def is_share(m: MetricSpec) -> bool:
    return m.statistic == "mean" and (m.kind == "binary" or m.unit in _SHARE_UNITS)


def _unit(m: MetricSpec) -> str:
    return f" {m.unit}" if m.unit in ("s", "ms") else ""


def value(m: MetricSpec, x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    if is_share(m):
        return f"{100 * x:.1f}%"
    return f"{x:.3g}{_unit(m)}"


def delta(m: MetricSpec, x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    if is_share(m):
        return f"{100 * x:+.1f} pts"
    return f"{x:+.3g}{_unit(m)}"


def amount(m: MetricSpec, x: float | None) -> str:
    """A non-negative size in the metric's units (margin, MDE): no sign."""
    if x is None or not math.isfinite(x):
        return "-"
    if is_share(m):
        return f"{100 * x:.1f} pts"
    return f"{x:.3g}{_unit(m)}"


def interval(m: MetricSpec, lo: float | None, hi: float | None) -> str:
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return "-"
    return f"{delta(m, lo)} to {delta(m, hi)}"


def pvalue(p: float | None) -> str:
    if p is None or not math.isfinite(p):
        return "-"
    if p < 1e-4:
        return f"{p:.1e}"
    return f"{p:.4f}".rstrip("0").rstrip(".") if p < 1 else "1"


def statistic_name(m: MetricSpec) -> str:
    return m.name if m.statistic == "mean" else f"{m.name} ({m.statistic} over calls)"
