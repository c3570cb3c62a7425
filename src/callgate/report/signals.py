"""The production signals section: trend charts per release and cohort, and the table behind them.

Shared by the report of an imported run, ``callgate signals --html`` and the web UI's signals
page. Each chart is one signal for one grouping (a tag, or a combination of tags): releases along
x in order of first call, one series per cohort value plus ``all``, each point with its interval
as a whisker. A point on fewer calls than the minimum is drawn hollow; a signal not scored is
left out, never drawn as 0. Hand-written SVG like :mod:`callgate.report.svg`; every label goes
through ``esc``.
"""

from __future__ import annotations

import math

from callgate.production.signals.model import ALL, SignalGroup, SignalInfo, SignalsReport
from callgate.report.escape import esc
from callgate.report.svg import nice_ticks

_W, _H, _L, _R, _T, _B = 350, 230, 50, 10, 28, 50
ALL_COLOUR = "#222222"
# Ten distinguishable colours: a tag+tag grouping easily has more series than the report's six.
SERIES_PALETTE = (
    "#4a6fa5", "#d9822b", "#6b8e23", "#8e44ad", "#16a085", "#c0392b", "#7f8c8d", "#b7950b",
    "#2c3e50", "#e84393",
)  # fmt: skip


def _f(x: float) -> str:
    return f"{x:.1f}"


def _tick(info: SignalInfo, t: float) -> str:
    return f"{100 * t:g}%" if info.unit == "share" else f"{t:g}"


def _unit(info: SignalInfo) -> str:
    return {"share": "", "seconds": " (s)", "currency": " (cost)"}[info.unit]


def series_colour(cohorts: list[str], cohort: str) -> str:
    if cohort == ALL:
        return ALL_COLOUR
    return SERIES_PALETTE[cohorts.index(cohort) % len(SERIES_PALETTE)]


def _short(xs: list[str]) -> list[str]:
    """Bucket dates of one year lose the year: fourteen slanted ISO dates do not fit a chart."""
    years = {x[:5] for x in xs}
    dated = all(len(x) == 10 and x[4] == "-" and x[7] == "-" for x in xs)
    return [x[5:] for x in xs] if dated and len(years) == 1 else xs


def interval_chart(
    info: SignalInfo,
    xs: list[str],
    series: dict[str, list[SignalGroup | None]],
    *,
    svg_id: str,
    min_calls: int,
) -> str:
    """One signal: a column per x label, per series a point with its interval whisker."""
    values = [
        x
        for groups in series.values()
        for g in groups
        if g is not None
        for x in (g.signals[info.name].value, g.signals[info.name].low, g.signals[info.name].high)
        if x is not None and math.isfinite(x)
    ]
    head = (
        f'<svg id="{esc(svg_id)}" class="chart signal-chart" data-signal="{esc(info.name)}" '
        f'role="img" viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{esc(info.title)} per release</title>'
        f'<text x="4" y="16" class="panel-title">{esc(info.title)}{_unit(info)}</text>'
    )
    if not values:
        return head + f'<text x="{_L}" y="{_H / 2}" class="muted">not scored</text></svg>'
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.08 or abs(hi) * 0.1 or 0.05
    lo, hi = lo - pad, hi + pad
    if info.unit != "seconds" or lo < 0:
        lo = max(lo, 0.0)
    if info.unit == "share":
        hi = min(hi, 1.0)
    pw, ph = _W - _L - _R, _H - _T - _B
    band = pw / max(len(xs), 1)

    def py(v: float) -> float:
        return _T + (1 - (v - lo) / (hi - lo)) * ph

    out = [head]
    for t in nice_ticks(lo, hi, 5):
        out.append(
            f'<line x1="{_L}" x2="{_W - _R}" y1="{_f(py(t))}" y2="{_f(py(t))}" class="grid"/>'
            f'<text x="{_L - 4}" y="{_f(py(t) + 3)}" text-anchor="end" class="tick">'
            f"{esc(_tick(info, t))}</text>"
        )
    slanted = len(xs) > 5
    for i, label in enumerate(_short(xs)):
        cx = _L + band * (i + 0.5)
        y = _H - _B + 14
        turn = f' transform="rotate(-30 {_f(cx)} {y})"' if slanted else ""
        anchor = "end" if slanted else "middle"
        out.append(
            f'<text x="{_f(cx)}" y="{y}" text-anchor="{anchor}" class="tick"{turn}>'
            f"{esc(label)}</text>"
        )
    k = len(series)
    step = min(12.0, band * 0.7 / max(k, 1))
    names = list(series)
    for j, (cohort, groups) in enumerate(series.items()):
        c = series_colour([n for n in names if n != ALL], cohort)
        dx = (j - (k - 1) / 2) * step
        points, marks = [], []
        for i, g in enumerate(groups):
            v = g.signals[info.name] if g is not None else None
            if v is None or v.value is None:
                continue
            cx = _L + band * (i + 0.5) + dx
            points.append(f"{_f(cx)},{_f(py(v.value))}")
            tip = f"{cohort}, {xs[i]}: {info.show(v.value)}"
            tip += f" ({info.show_interval(v)})" if v.low is not None or v.high is not None else ""
            tip += f", n={v.n} calls" + (f" ({v.note})" if v.status == "few" else "")
            whisker = ""
            if v.low is not None or v.high is not None:
                # A bound the turns cannot give (a tail percentile on few turns) runs the whisker
                # to the edge of the plot, without a cap: the interval is open on that side.
                a = py(v.low) if v.low is not None else _T + ph
                b = py(v.high) if v.high is not None else _T
                whisker = (
                    f'<line x1="{_f(cx)}" x2="{_f(cx)}" y1="{_f(a)}" y2="{_f(b)}" stroke="{c}"/>'
                )
                for bound, at in ((v.low, a), (v.high, b)):
                    if bound is not None:
                        whisker += (
                            f'<line x1="{_f(cx - 3)}" x2="{_f(cx + 3)}" y1="{_f(at)}" '
                            f'y2="{_f(at)}" stroke="{c}"/>'
                        )
            fill = "#fff" if v.status == "few" else c
            marks.append(
                f'<g class="point" data-x="{esc(xs[i])}" data-status="{esc(v.status)}">'
                f"<title>{esc(tip)}</title>{whisker}"
                f'<circle cx="{_f(cx)}" cy="{_f(py(v.value))}" r="3.5" fill="{fill}" '
                f'stroke="{c}" stroke-width="1.5"/></g>'
            )
        line = (
            f'<polyline fill="none" stroke="{c}" stroke-opacity="0.45" stroke-width="1.2" '
            f'points="{" ".join(points)}"/>'
            if len(points) > 1
            else ""
        )
        out.append(f'<g class="series" data-series="{esc(cohort)}">{line}{"".join(marks)}</g>')
    out.append("</svg>")
    return "".join(out)


def _legend(cohorts: list[str]) -> str:
    items = []
    for cohort in [ALL, *cohorts]:
        c = series_colour(cohorts, cohort)
        items.append(
            f'<span class="tag"><span style="display:inline-block;width:10px;height:10px;'
            f'background:{c};border-radius:5px"></span> {esc(cohort)}</span>'
        )
    return f'<p class="legend">{"".join(items)}</p>'


def _grouping_cohorts(report: SignalsReport, grouping: str) -> list[str]:
    """The cohort labels of one grouping (``accent`` or ``accent+channel``), in report order."""
    tags = sorted(grouping.split("+"))
    out = []
    for label in report.cohorts:
        if label == ALL:
            continue
        if sorted(cond.split("=", 1)[0] for cond in label.split("&")) == tags:
            out.append(label)
    return out


def _charts(
    report: SignalsReport,
    groups: list[SignalGroup],
    xs: list[str],
    key: str,
    cohorts: list[str],
    slug: str,
) -> str:
    """One chart per signal; ``key`` is the group field along x (release or bucket)."""
    index = {(getattr(g, key), g.cohort): g for g in groups}
    series = {c: [index.get((x, c)) for x in xs] for c in [ALL, *cohorts]}
    return (
        '<div class="cols">'
        + "".join(
            interval_chart(
                info,
                xs,
                series,
                svg_id=f"signals-{slug}-{info.name}",
                min_calls=report.settings.min_calls,
            )
            for info in report.signals
        )
        + "</div>"
    )


def _slug(grouping: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in grouping)


def signals_section(report: SignalsReport) -> str:
    """Trend charts per grouping, bucket trends when asked, and every group's numbers."""
    s = report.settings
    releases = [r.release for r in report.releases]
    spans = ", ".join(f"{r.release} from {r.first_started_at:%Y-%m-%d}" for r in report.releases)
    parts = [
        f'<p class="muted">{report.calls} imported calls; releases in order of their first call '
        f"({esc(spans)}). "
        f"Each point: a signal for one release and cohort, with its {s.confidence:.0%} interval; "
        f"hollow points rest on fewer than {s.min_calls} calls. Rates over calls use a Wilson "
        "interval; percentiles, the cost ratio and the low-confidence share are clustered by "
        f"call. Low confidence: ASR confidence below {s.low_confidence:g}.</p>"
    ]
    for grouping in s.by or []:
        cohorts = _grouping_cohorts(report, grouping)
        parts.append(
            f'<div class="signal-grouping" data-grouping="{esc(grouping)}">'
            f"<h3>by {esc(grouping.replace('+', ' and '))}</h3>{_legend(cohorts)}"
            + _charts(report, report.groups, releases, "release", cohorts, _slug(grouping))
            + "</div>"
        )
    if not s.by:
        parts.append(_legend([]) + _charts(report, report.groups, releases, "release", [], ALL))
    if report.buckets:
        buckets = sorted({g.bucket for g in report.buckets if g.bucket})
        parts.append(
            f'<div class="signal-grouping" data-grouping="{esc(s.bucket or "bucket")}">'
            f"<h3>per {esc(s.bucket or 'bucket')}, all calls</h3>"
            + _charts(report, report.buckets, buckets, "bucket", [], s.bucket or "bucket")
            + "</div>"
        )
    parts.append(signals_table(report))
    return "".join(parts)


def signals_table(report: SignalsReport) -> str:
    head = "".join(f"<th>{esc(i.title)}</th>" for i in report.signals)
    rows = []
    for g in [*report.groups, *report.buckets]:
        cells = []
        for info in report.signals:
            v = g.signals[info.name]
            flag = (
                f' class="muted" title="{esc(v.status)}: {esc(v.note)}"' if v.status != "ok" else ""
            )
            cells.append(
                f"<td{flag}>{esc(info.show(v.value))}<br><span class='small muted'>"
                f"{esc(info.show_interval(v))}<br>n={v.n}</span></td>"
            )
        where = g.release if g.release is not None else f"{report.settings.bucket} {g.bucket}"
        rows.append(
            f'<tr><td>{esc(where)}</td><td class="mono small">{esc(g.cohort)}</td>'
            f"<td>{g.calls}</td>{''.join(cells)}</tr>"
        )
    return (
        f"<details><summary>Every release and cohort ({len(rows)} groups)</summary>"
        '<table id="signals-table"><thead><tr><th>release</th><th>cohort</th><th>calls</th>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></details>"
    )


def signals_page(report: SignalsReport) -> str:
    """``callgate signals --html``: a standalone page holding the section alone."""
    from callgate.report.page import page  # here: page.py draws this section in the run report

    title = "callgate production signals"
    body = (
        f'<header class="top"><b>callgate</b> production signals</header><main>'
        f"<h1>{esc(title)}</h1>"
        f'<section class="card" id="signals"><h2>Signals per release and cohort</h2>'
        f"{signals_section(report)}</section></main>"
    )
    return page(title, body, data=report.model_dump(mode="json"))
