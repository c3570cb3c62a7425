"""Inline SVG charts: the per-cohort forest plot of the gate's checks and the TTFA CDFs.

Hand-written SVG (no charting library, no script) so the report opens anywhere, offline, and a
CI artifact viewer shows the charts even with JavaScript off. Every label goes through ``esc``.
"""

from __future__ import annotations

import math
from itertools import groupby

from callgate.comparison import format as fmt
from callgate.gate.model import GateCheck
from callgate.report.data import quantile
from callgate.report.escape import esc

PALETTE = ("#4a6fa5", "#d9822b", "#6b8e23", "#8e44ad", "#16a085", "#7f8c8d")
STATUS_COLOUR = {"block": "#c0392b", "open": "#b7791f", "warn": "#777777", "pass": "#2f855a"}


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values spanning [lo, hi] (1, 2, 5 x 10^k steps)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(count - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    ticks = []
    t = first
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 12))
        t += step
    return ticks


def _f(x: float) -> str:
    return f"{x:.1f}"


# -- forest plot ----------------------------------------------------------------------------------

_LABEL_W, _PLOT_W, _TEXT_W, _ROW_H, _HEAD_H = 230, 380, 260, 22, 40
_WIDTH = _LABEL_W + _PLOT_W + _TEXT_W


def _worse_margin(ch: GateCheck) -> float | None:
    """Where the margin line goes: the worst delta the policy tolerates."""
    if ch.margin is None:
        return None
    return -ch.margin if ch.direction == "higher" else ch.margin


def _panel(checks: list[GateCheck], top: float) -> tuple[list[str], float]:
    first = checks[0]
    spec = first.spec()  # one metric per panel

    def interval(ch: GateCheck) -> str:
        return fmt.interval(spec, ch.ci_low, ch.ci_high)

    xs = [0.0]
    for ch in checks:
        xs += [v for v in (ch.delta, ch.ci_low, ch.ci_high, _worse_margin(ch)) if v is not None]
    lo, hi = min(xs), max(xs)
    pad = (hi - lo) * 0.08 or 0.05
    lo, hi = lo - pad, hi + pad

    def x(v: float) -> float:
        return _LABEL_W + (v - lo) / (hi - lo) * _PLOT_W

    better = "higher is better" if first.direction == "higher" else "lower is better"
    left, right = ("worse", "better") if first.direction == "higher" else ("better", "worse")
    height = _HEAD_H + _ROW_H * len(checks) + 26
    bottom = top + height - 26
    out = [
        f'<g class="forest-panel" data-metric="{esc(first.metric)}">',
        f'<text x="4" y="{_f(top + 16)}" class="panel-title">{esc(first.title)} '
        f'<tspan class="muted">(delta = candidate - baseline; {better})</tspan></text>',
        f'<text x="{_f(x(lo))}" y="{_f(top + 32)}" class="muted">&#8592; {left}</text>',
        f'<text x="{_f(x(hi))}" y="{_f(top + 32)}" class="muted" text-anchor="end">'
        f"{right} &#8594;</text>",
    ]
    plot_top = top + _HEAD_H - 4
    for t in nice_ticks(lo, hi):
        out.append(
            f'<line x1="{_f(x(t))}" x2="{_f(x(t))}" y1="{_f(plot_top)}" y2="{_f(bottom)}" '
            'class="grid"/>'
            f'<text x="{_f(x(t))}" y="{_f(bottom + 14)}" text-anchor="middle" class="tick">'
            f"{esc(fmt.delta(spec, t))}</text>"
        )
    out.append(
        f'<line x1="{_f(x(0))}" x2="{_f(x(0))}" y1="{_f(plot_top)}" y2="{_f(bottom)}" '
        'class="zero"/>'
    )
    margin = _worse_margin(first)
    if margin is not None and margin != 0:
        out.append(
            f'<line x1="{_f(x(margin))}" x2="{_f(x(margin))}" y1="{_f(plot_top)}" '
            f'y2="{_f(bottom)}" class="margin-line"><title>margin: {esc(fmt.delta(spec, margin))}'
            "</title></line>"
        )
    for i, ch in enumerate(checks):
        cy = top + _HEAD_H + _ROW_H * i + _ROW_H / 2
        c = STATUS_COLOUR.get(ch.status, "#555")
        label = ("all calls" if ch.slice == "all" else ch.slice) + f" (n={ch.n})"
        weight = ' font-weight="bold"' if ch.slice == "all" else ""
        tip = f"{ch.title} [{ch.slice}]: {fmt.delta(spec, ch.delta)}, CI {interval(ch)}"
        tip += f", {ch.verdict}" if ch.verdict else ""
        row = [
            f'<g class="forest-row" data-slice="{esc(ch.slice)}" data-status="{esc(ch.status)}">'
            f"<title>{esc(tip)}</title>",
            f'<text x="4" y="{_f(cy + 4)}"{weight}>{esc(label)}</text>',
        ]
        if ch.delta is None:
            row.append(
                f'<text x="{_f(_LABEL_W + 6)}" y="{_f(cy + 4)}" class="muted">'
                f"not tested{': ' + esc(ch.note or ch.verdict) if (ch.note or ch.verdict) else ''}"
                "</text>"
            )
        else:
            if ch.ci_low is not None and ch.ci_high is not None:
                a, b = x(ch.ci_low), x(ch.ci_high)
                row.append(
                    f'<line x1="{_f(a)}" x2="{_f(b)}" y1="{_f(cy)}" y2="{_f(cy)}" stroke="{c}" '
                    'stroke-width="2"/>'
                    f'<line x1="{_f(a)}" x2="{_f(a)}" y1="{_f(cy - 5)}" y2="{_f(cy + 5)}" '
                    f'stroke="{c}" stroke-width="2"/>'
                    f'<line x1="{_f(b)}" x2="{_f(b)}" y1="{_f(cy - 5)}" y2="{_f(cy + 5)}" '
                    f'stroke="{c}" stroke-width="2"/>'
                )
            row.append(f'<circle cx="{_f(x(ch.delta))}" cy="{_f(cy)}" r="4.5" fill="{c}"/>')
            status = {"block": "BLOCK", "open": "open", "warn": "not tested"}.get(ch.status, "")
            text = f"{fmt.delta(spec, ch.delta)} [{interval(ch)}]" + (
                f" {status}" if status else ""
            )
            row.append(
                f'<text x="{_f(_LABEL_W + _PLOT_W + 8)}" y="{_f(cy + 4)}" fill="{c}">'
                f"{esc(text)}</text>"
            )
        row.append("</g>")
        out += row
    out.append("</g>")
    return out, height


def forest_plot(checks: list[GateCheck], *, max_rows: int = 60) -> str:
    """One panel per metric, one row per slice: delta with its interval, zero and margin lines."""
    if not checks:
        return ""
    parts: list[str] = []
    top = 0.0
    shown = 0
    for _, group in groupby(checks, key=lambda c: (c.metric, c.statistic)):
        rows = list(group)[: max(0, max_rows - shown)]
        if not rows:
            break
        shown += len(rows)
        body, height = _panel(rows, top)
        parts += body
        top += height + 12
    return (
        f'<svg id="forest-plot" class="chart" role="img" viewBox="0 0 {_WIDTH} {_f(top)}" '
        f'width="{_WIDTH}" height="{_f(top)}" xmlns="http://www.w3.org/2000/svg">'
        "<title>Per-cohort deltas with confidence intervals (forest plot)</title>"
        + "".join(parts)
        + "</svg>"
    )


# -- cumulative distributions ---------------------------------------------------------------------

# The legend sits right of the plot so it never covers a line.
_CDF_W, _CDF_H, _PAD_L, _PAD_B, _PAD_T, _PAD_R = 900, 300, 48, 36, 12, 356


def cdf_chart(
    series: dict[str, list[float]], *, unit: str = "s", svg_id: str = "ttfa-cdf", points: int = 160
) -> str:
    """Empirical CDFs, one line per series; x is clipped at the largest p99 so outliers cannot
    squash the body of the distribution (the clipped share is printed in the legend)."""
    data = {k: sorted(v) for k, v in series.items() if v}
    if not data:
        return '<p class="muted">No per-turn values to plot.</p>'
    x_max = max(quantile(v, 0.99) or 0.0 for v in data.values()) * 1.05 or 1.0
    pw, ph = _CDF_W - _PAD_L - _PAD_R, _CDF_H - _PAD_T - _PAD_B

    def px(v: float) -> float:
        return _PAD_L + min(v, x_max) / x_max * pw

    def py(p: float) -> float:
        return _PAD_T + (1 - p) * ph

    out = [
        f'<svg id="{esc(svg_id)}" class="chart" role="img" viewBox="0 0 {_CDF_W} {_CDF_H}" '
        f'width="{_CDF_W}" height="{_CDF_H}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>Cumulative distribution ({esc(unit)})</title>"
    ]
    for t in nice_ticks(0.0, x_max, 6):
        out.append(
            f'<line x1="{_f(px(t))}" x2="{_f(px(t))}" y1="{_PAD_T}" y2="{_f(py(0))}" '
            f'class="grid"/><text x="{_f(px(t))}" y="{_f(py(0) + 14)}" text-anchor="middle" '
            f'class="tick">{t:g}</text>'
        )
    for p in (0.0, 0.25, 0.5, 0.75, 0.95, 1.0):
        out.append(
            f'<line x1="{_PAD_L}" x2="{_f(_PAD_L + pw)}" y1="{_f(py(p))}" y2="{_f(py(p))}" '
            f'class="grid"/><text x="{_PAD_L - 4}" y="{_f(py(p) + 4)}" text-anchor="end" '
            f'class="tick">{p:.0%}</text>'
        )
    out.append(
        f'<text x="{_f(_PAD_L + pw / 2)}" y="{_CDF_H - 4}" text-anchor="middle" class="muted">'
        f"{esc(unit)}</text>"
    )
    for i, (name, xs) in enumerate(data.items()):
        n = len(xs)
        # Down-sample to a fixed number of quantiles: the file stays small at any run size.
        idx = sorted({round(j * (n - 1) / max(points - 1, 1)) for j in range(min(points, n))})
        pts = [f"{_f(_PAD_L)},{_f(py(0))}"]
        for j in idx:
            pts.append(f"{_f(px(xs[j]))},{_f(py(j / n))}")
            pts.append(f"{_f(px(xs[j]))},{_f(py((j + 1) / n))}")
        c = colour(i)
        out.append(
            f'<polyline class="cdf-line" data-series="{esc(name)}" fill="none" stroke="{c}" '
            f'stroke-width="2" points="{" ".join(pts)}"><title>{esc(name)}</title></polyline>'
        )
        clipped = sum(1 for v in xs if v > x_max)
        p50, p95 = quantile(xs, 0.5), quantile(xs, 0.95)
        stats = f"p50 {p50:.2f} {unit}, p95 {p95:.2f} {unit}, n={n}" + (
            f", {clipped} beyond the axis" if clipped else ""
        )
        ly = _PAD_T + 14 + 34 * i
        lx = _PAD_L + pw + 16
        out.append(
            f'<rect x="{_f(lx)}" y="{_f(ly - 7)}" width="12" height="4" fill="{c}"/>'
            f'<text x="{_f(lx + 16)}" y="{_f(ly - 1)}" class="legend">{esc(name)}</text>'
            f'<text x="{_f(lx + 16)}" y="{_f(ly + 13)}" class="tick">{esc(stats)}</text>'
        )
    out.append("</svg>")
    return "".join(out)
