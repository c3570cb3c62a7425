"""Server-rendered pages of ``callgate serve``; the call page is the report's call detail."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from callgate.errors import UsageError
from callgate.gate.model import GateReport
from callgate.production.signals.model import SignalsReport, SignalsSettings
from callgate.report.calls import call_detail, fail_metric_cells, missed_names, status_badges
from callgate.report.data import RunView
from callgate.report.escape import esc, url_part
from callgate.report.page import page
from callgate.report.sections import (
    attribution_section,
    decision_section,
    forest_section,
    summary_table,
    timing_section,
)
from callgate.report.signals import signals_section
from callgate.report.turn_taking import turn_taking_section
from callgate.results.table import declared_metrics
from callgate.store.reader import RunRow
from callgate.store.records import FAIL_METRICS, FAILURE_CAUSES, CallRow, CallScores
from callgate.traces.model import AudioRef, CallTrace
from callgate.web.filters import OPS, STATUSES, CallFilter

MAX_ROWS = 500


def _nav(*crumbs: tuple[str, str | None]) -> str:
    parts = ['<a href="/">runs</a>'] + [
        f'<a href="{esc(href)}">{esc(label)}</a>' if href else f"<span>{esc(label)}</span>"
        for label, href in crumbs
    ]
    return '<header class="top"><b>callgate</b> &middot; ' + " &rsaquo; ".join(parts) + "</header>"


def layout(title: str, body: str, *crumbs: tuple[str, str | None]) -> str:
    return page(title, _nav(*crumbs) + f"<main>{body}</main>")


def run_href(run_id: str, **params: str) -> str:
    query = urlencode({k: v for k, v in params.items() if v})
    return f"/run/{url_part(run_id)}" + (f"?{query}" if query else "")


def call_href(run_id: str, call_id: str) -> str:
    return f"/run/{url_part(run_id)}/call/{url_part(call_id)}"


def gate_href(key: str) -> str:
    return f"/gate/{url_part(key)}"


def index_page(runs: list[RunRow], gates: list[tuple[str, Path, GateReport | str]]) -> str:
    rows = []
    for r in reversed(runs):
        created = datetime.fromtimestamp(r.created, tz=UTC).strftime("%Y-%m-%d %H:%M")
        variants = ", ".join(r.spec.variants)
        rows.append(
            f'<tr><td class="mono"><a href="{esc(run_href(r.run_id))}">{esc(r.run_id)}</a></td>'
            f"<td>{esc(r.spec.suite or '?')}</td><td>{esc(variants)}</td>"
            f"<td>{esc(r.spec.grid or '?')}</td><td>{r.stored}/{r.planned}</td>"
            f"<td>{'complete' if r.finished else 'partial'}</td><td>{created}</td></tr>"
        )
    runs_html = (
        '<table id="runs"><thead><tr><th>run</th><th>suite</th><th>variants</th><th>grid</th>'
        "<th>stored</th><th>state</th><th>created (UTC)</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
        if rows
        else '<p class="muted">No runs in this store yet.</p>'
    )
    grows = []
    for key, path, g in gates:
        if isinstance(g, str):
            grows.append(
                f'<tr><td class="mono small">{esc(path)}</td><td colspan="3" class="muted">'
                f"unreadable: {esc(g)}</td></tr>"
            )
            continue
        grows.append(
            f'<tr><td class="mono small"><a href="{esc(gate_href(key))}">{esc(path)}</a></td>'
            f'<td><span class="decision small {esc(g.decision)}">{esc(g.decision)}</span></td>'
            f"<td>{esc(g.candidate.label)} vs {esc(g.baseline.label)}</td>"
            f"<td>{len(g.reasons)}</td></tr>"
        )
    gates_html = (
        '<table id="gates"><thead><tr><th>gate.json</th><th>decision</th><th>comparison</th>'
        "<th>reasons</th></tr></thead><tbody>" + "".join(grows) + "</tbody></table>"
        if grows
        else '<p class="muted">No gate.json found (give <code>--gate DIR</code>).</p>'
    )
    signals = (
        '<p><a id="signals-link" href="/signals">Production signals</a> of the imported runs, '
        "per release and cohort</p>"
        if any(r.spec.imported is not None for r in runs)
        else ""
    )
    body = f"<h1>Runs</h1>{signals}{runs_html}<h2>Comparisons</h2>{gates_html}"
    return layout("callgate", body)


def _select(name: str, options: list[tuple[str, str]], chosen: str) -> str:
    opts = "".join(
        f'<option value="{esc(v)}"{" selected" if v == chosen else ""}>{esc(label)}</option>'
        for v, label in options
    )
    return f'<select name="{esc(name)}">{opts}</select>'


def filter_form(view: RunView, f: CallFilter, extra: dict[str, str]) -> str:
    tag_values: dict[str, set[str]] = {}
    for r in view.rows:
        for k, v in r.cohort.items():
            tag_values.setdefault(k, set()).add(v)
    metrics = sorted({m for r in view.rows for m in r.metrics})
    fields = [
        "<label>variant"
        + _select("variant", [("", "any"), *((v, v) for v in view.variants)], f.variant)
        + "</label>",
        "<label>status" + _select("status", [(s, s) for s in STATUSES], f.status) + "</label>",
        "<label>cause"
        + _select("cause", [("", "any"), *((c, c) for c in FAILURE_CAUSES)], f.cause),
        "</label>",
    ]
    for key in sorted(tag_values):
        chosen = next(iter(sorted(f.tags.get(key, set()))), "")
        opts = [("", "any")] + [(f"{key}={v}", v) for v in sorted(tag_values[key])]
        fields.append(
            f"<label>{esc(key)}" + _select("tag", opts, f"{key}={chosen}" if chosen else "")
        )
        fields.append("</label>")
    fields.append(
        "<label>metric"
        + _select("metric", [("", "none"), *((m, m) for m in metrics)], f.metric)
        + "</label><label>is"
        + _select("op", list(OPS.items()), f.op)
        + '</label><label>threshold<input name="value" type="number" step="any" size="6" '
        f'value="{"" if f.value is None else f"{f.value:g}"}"></label>'
    )
    hidden = "".join(
        f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">' for k, v in extra.items() if v
    )
    return (
        f'<form class="filters" method="get" id="filters">{"".join(fields)}{hidden}'
        '<button type="submit">filter</button></form>'
    )


def calls_table(view: RunView, rows: list[CallRow]) -> str:
    declared = declared_metrics()
    body = []
    for r in rows[:MAX_ROWS]:
        body.append(
            f'<tr data-call="{esc(r.call_id)}"><td class="mono">'
            f'<a href="{esc(call_href(r.run_id, r.call_id))}">{esc(r.call_id[:12])}</a></td>'
            f"<td>{esc(r.variant)}</td><td>{esc(r.scenario_id)}</td>"
            f'<td class="mono small">{esc(r.cohort_id)}</td><td>{status_badges(r)}</td>'
            + fail_metric_cells(r, declared)
            + f"<td class='small'>{esc(missed_names(r, declared))}</td>"
            f"<td>{r.duration_s:.1f}</td></tr>"
        )
    more = (
        f'<p class="muted">Showing the first {MAX_ROWS} of {len(rows)}: narrow the filter.</p>'
        if len(rows) > MAX_ROWS
        else ""
    )
    return (
        '<table id="calls" class="calls"><thead><tr><th>call</th><th>variant</th>'
        "<th>scenario</th><th>cohort</th><th>status</th>"
        + "".join(f"<th>{esc(m)}</th>" for m in FAIL_METRICS)
        + "<th>missed thresholds</th><th>length s</th></tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>"
        + more
    )


def run_page(view: RunView, f: CallFilter, extra: dict[str, str]) -> str:
    run_id = view.run.run_id
    rows = [r for r in view.rows if f.matches(r)]
    errors = "".join(f'<p class="badge bad">{esc(e)}</p>' for e in f.errors)
    body = (
        f"<h1>Run {esc(run_id)}</h1>"
        f'<p class="muted">suite {esc(view.run.spec.suite or "?")} &middot; '
        f"baseline: {esc(view.baseline or '-')} &middot; candidate: {esc(view.candidate or '-')}"
        "</p>"
        f'<section class="card">{summary_table(view)}</section>'
        f'<section class="card"><h2>Calls</h2>{filter_form(view, f, extra)}{errors}'
        f'<p id="match-count">{len(rows)} calls match: {esc(f.describe())}</p>'
        f"{calls_table(view, rows)}</section>"
        f'<section class="card"><h2>Why calls failed</h2>{attribution_section(view)}</section>'
        f'<section class="card"><h2>Timing</h2>{timing_section(view)}</section>'
        f'<section class="card"><h2>Turn-taking per cohort</h2>{turn_taking_section(view)}'
        "</section>"
    )
    return layout(f"run {run_id}", body, (f"run {run_id}", None))


def call_page(
    trace: CallTrace, scores: CallScores | None, row: CallRow | None, has_blob: Any
) -> str:
    def audio_src(ref: AudioRef) -> str | None:
        return f"/blob/{ref.sha256}.flac" if has_blob(ref.sha256) else None

    def link(call_id: str) -> str:
        return call_href(trace.run_id, call_id)

    body = call_detail(trace, scores, row, audio_src=audio_src, call_link=link, heading="h1")
    return layout(
        f"call {trace.call_id}",
        body,
        (f"run {trace.run_id}", run_href(trace.run_id)),
        (f"call {trace.call_id[:12]}", None),
    )


def gate_page(key: str, source: Path, gate: GateReport, known_runs: set[str]) -> str:
    links = []
    for run_id in gate.run_ids:
        if run_id not in known_runs:
            links.append(f"<li>run {esc(run_id)} (not in this store)</li>")
            continue
        params = {"base": gate.baseline.variant, "cand": gate.candidate.variant}
        links.append(
            f'<li><a href="{esc(run_href(run_id, **params))}">run {esc(run_id)}</a> &middot; '
            f'<a href="{esc(run_href(run_id, status="regressed", **params))}">regressed calls'
            "</a></li>"
        )
    body = (
        f'<h1>Comparison</h1><p class="mono muted">{esc(source)}</p>'
        f'<section class="card">{decision_section(gate, None)}'
        f"<h3>Runs</h3><ul>{''.join(links)}</ul>"
        f'</section><section class="card"><h2>Per-cohort deltas</h2>{forest_section(gate)}'
        "</section>"
    )
    return layout("comparison", body, (f"gate {key}", None))


def signals_settings(qs: dict[str, list[str]]) -> SignalsSettings:
    """The signals page's query: run, by (repeatable or comma-separated), since, until, bucket."""
    from callgate.production.signals.compute import parse_time

    def one(name: str) -> str:
        return ((qs.get(name) or [""])[-1]).strip()

    bucket = one("bucket")
    if bucket not in ("", "day", "week"):
        raise UsageError(f"{bucket!r}: use day or week", field="bucket")
    by = [t.strip() for item in qs.get("by", []) for t in item.split(",") if t.strip()]
    return SignalsSettings(
        runs=[r for r in qs.get("run", []) if r.strip()],
        by=by or None,
        since=parse_time(one("since"), "since") if one("since") else None,
        until=parse_time(one("until"), "until") if one("until") else None,
        bucket=bucket or None,
    )


def signals_page(report: SignalsReport, qs: dict[str, list[str]]) -> str:
    def field(name: str, label: str, hint: str) -> str:
        value = ",".join(qs.get(name, [])) if name == "by" else (qs.get(name) or [""])[-1]
        return (
            f'<label>{esc(label)}<input name="{esc(name)}" value="{esc(value)}" '
            f'placeholder="{esc(hint)}" size="18"></label>'
        )

    chosen = (qs.get("bucket") or [""])[-1]
    hidden = "".join(
        f'<input type="hidden" name="run" value="{esc(r)}">' for r in qs.get("run", [])
    )
    form = (
        '<form class="filters" method="get" id="signals-form">'
        + field("by", "by", "accent,channel or accent+channel")
        + field("since", "since", "2026-11-01")
        + field("until", "until (before)", "2026-11-15")
        + "<label>bucket"
        + _select("bucket", [("", "none"), ("day", "day"), ("week", "week")], chosen)
        + f'</label>{hidden}<button type="submit">show</button></form>'
    )
    body = (
        f"<h1>Production signals</h1>"
        f'<p class="muted">runs {esc(", ".join(report.settings.runs))}</p>'
        f'<section class="card">{form}</section>'
        f'<section class="card" id="signals"><h2>Per release and cohort</h2>'
        f"{signals_section(report)}</section>"
    )
    return layout("production signals", body, ("signals", None))


def error_page(status: int, message: str) -> str:
    return layout(f"{status}", f'<h1>{status}</h1><p class="badge bad">{esc(message)}</p>')
