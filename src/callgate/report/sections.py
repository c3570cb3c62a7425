"""The overview sections of the report (also the web UI's run and comparison pages)."""

from __future__ import annotations

from collections import defaultdict

from callgate.comparison import format as fmt
from callgate.gate.model import GateLook, GateReport
from callgate.report.data import (
    RunView,
    attribution_counts,
    mean,
    metric_values,
    quantile,
)
from callgate.report.escape import esc, num, pct
from callgate.report.metrics import cohort_metrics_table, metrics_table, value
from callgate.report.svg import cdf_chart, forest_plot
from callgate.results.table import declared_metrics
from callgate.store.records import FAIL_METRICS, FAILURE_CAUSES, CallRow

CAUSES = FAILURE_CAUSES


def decision_section(gate: GateReport | None, run_id: str | None) -> str:
    if gate is None:
        return (
            '<div id="decision" class="decision NONE">no gate decision</div>'
            '<p class="muted">No gate.json was given: this page describes the run alone. '
            "<code>callgate gate BASE CAND --out DIR</code>, then <code>--gate DIR</code>, adds "
            "the decision and the per-cohort chart.</p>"
        )
    out = [
        f'<div id="decision" class="decision {esc(gate.decision)}">{esc(gate.decision)}</div>',
        f"<p>candidate <b>{esc(gate.candidate.label)}</b> vs baseline "
        f"<b>{esc(gate.baseline.label)}</b>"
        + (f" &middot; {esc(gate.pairing)}" if gate.pairing else "")
        + (f" &middot; policy <code>{esc(gate.policy)}</code>" if gate.policy else "")
        + "</p>",
    ]
    if run_id is not None and gate.run_ids and run_id not in gate.run_ids:
        out.append(
            f'<p class="badge bad">this gate.json is about run(s) {esc(", ".join(gate.run_ids))},'
            f" not run {esc(run_id)}</p>"
        )
    if gate.reasons:
        out.append('<h3>Blocking reasons</h3><ol class="reasons">')
        out += [f"<li>{esc(r.message)}</li>" for r in gate.reasons]
        out.append("</ol>")
    elif gate.decision == "PROMOTE":
        out.append("<p>Every check is shown to lose less than its margin.</p>")
    if gate.undecided:
        out.append('<h3>Still open</h3><ol class="reasons undecided">')
        out += [f"<li>{esc(r.message)}</li>" for r in gate.undecided]
        out.append("</ol>")
    if gate.warnings:
        out.append('<h3>Warnings</h3><ul class="reasons">')
        out += [f"<li>{esc(w)}</li>" for w in gate.warnings]
        out.append("</ul>")
    return "".join(out)


def looks_section(looks: list[GateLook]) -> str:
    """An adaptive run's looks: what the gate said after each batch, and where calls went."""
    if not looks:
        return ""
    rows = []
    for lk in looks:
        where = ", ".join(lk.open_slices) if lk.open_slices and not lk.stopped else ""
        stopped = {"decided": "decided", "budget": "budget reached", "looks": "last look"}
        rows.append(
            f"<tr><td>{lk.look}/{lk.looks}</td><td>{num(lk.pairs)}</td><td>{num(lk.calls)}</td>"
            f'<td><span class="decision small {esc(lk.report.decision)}">'
            f"{esc(lk.report.decision)}</span></td><td>{esc(where)}</td>"
            f"<td>{esc(stopped.get(lk.stopped, ''))}</td></tr>"
        )
    return (
        f'<h3>Looks</h3><p class="muted">An adaptive run: gated after every batch, each test at '
        f"alpha / {looks[0].looks} = {looks[0].level:g}; new calls only for the open slices.</p>"
        '<table id="looks"><thead><tr><th>look</th><th>pairs</th><th>calls</th><th>decision</th>'
        "<th>next batch for</th><th>stopped</th></tr></thead><tbody>"
        f"{''.join(rows)}</tbody></table>"
    )


def forest_section(gate: GateReport | None) -> str:
    if gate is None or not gate.checks:
        return '<p class="muted">No gate checks: the per-cohort chart needs a gate.json.</p>'
    return (
        f'<p class="muted">Each row: the candidate minus the baseline in one slice, with its '
        f"{gate.confidence:.0%} interval; the black line is no change, the dashed red line the "
        "policy's margin. Red rows block the candidate, amber rows are still open.</p>"
        + forest_plot(gate.checks)
        + checks_table(gate)
    )


def checks_table(gate: GateReport) -> str:
    rows = []
    for c in gate.checks:
        m = c.spec()
        rows.append(
            f'<tr data-status="{esc(c.status)}"><td>{esc(c.title)}</td><td>{esc(c.slice)}</td>'
            f"<td>{num(c.n)}</td><td>{'' if c.scenarios is None else num(c.scenarios)}</td>"
            f"<td>{esc(fmt.value(m, c.baseline))}</td>"
            f"<td>{esc(fmt.value(m, c.candidate))}</td><td>{esc(fmt.delta(m, c.delta))}</td>"
            f"<td>{esc(fmt.interval(m, c.ci_low, c.ci_high))}</td>"
            f"<td>{esc(fmt.delta(m, c.margin))}</td><td>{esc(c.verdict)}</td>"
            f"<td>{esc(c.status)}{' (' + esc(c.note) + ')' if c.note else ''}"
            f"{'' if c.extra_calls is None else f'; ~{c.extra_calls} more calls'}</td></tr>"
        )
    return (
        f"<details><summary>Every check ({len(gate.checks)})</summary><table><thead><tr>"
        "<th>metric</th><th>slice</th><th>n</th><th>scenarios</th><th>baseline</th><th>candidate</th><th>delta</th>"
        "<th>interval</th><th>margin</th><th>verdict</th><th>gate</th></tr></thead><tbody>"
        f"{''.join(rows)}</tbody></table></details>"
    )


def _by_variant(view: RunView) -> dict[str, list[CallRow]]:
    groups: dict[str, list[CallRow]] = {v: [] for v in view.variants}
    for r in view.rows:
        groups.setdefault(r.variant, []).append(r)
    return groups


def summary_table(view: RunView) -> str:
    """Calls, failures and regressions per variant, the failure rule's metrics and TTFA; every
    other metric is in :func:`callgate.report.metrics.metrics_table` beside it."""
    declared = declared_metrics()
    rows = []
    for variant, calls in _by_variant(view).items():
        scored = [r for r in calls if r.failed is not None]
        failed = sum(1 for r in scored if r.failed)
        regressed = sum(1 for r in calls if r.regressed)
        ttfa = [t for r in calls for t in r.ttfa]
        role = (
            " (baseline)"
            if variant == view.baseline
            else " (candidate)"
            if variant == view.candidate
            else ""
        )
        rows.append(
            f"<tr><td><b>{esc(variant)}</b>{role}</td><td>{len(calls)}</td><td>{len(scored)}</td>"
            f"<td>{failed} ({pct(failed / len(scored) if scored else None)})</td>"
            f"<td>{regressed if variant == view.candidate else ''}</td>"
            + "".join(
                f"<td>{esc(value(m, mean(metric_values(calls, m)), declared))}</td>"
                for m in FAIL_METRICS
            )
            + f"<td>{num(quantile(ttfa, 0.5))}</td><td>{num(quantile(ttfa, 0.95))}</td></tr>"
        )
    return (
        '<table id="summary"><thead><tr><th>variant</th><th>calls</th><th>scored</th>'
        "<th>failed</th><th>regressed</th>"
        + "".join(f"<th>{esc(m)}</th>" for m in FAIL_METRICS)
        + "<th>TTFA p50 s</th><th>TTFA p95 s</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
        + notes_section(view)
        + metrics_table(view, declared)
        + cohort_metrics_table(view, declared)
    )


def note_lines(view: RunView) -> list[str]:
    """Each evaluator's note with how many calls of each variant carry it."""
    totals = {v: len(calls) for v, calls in _by_variant(view).items()}
    out = []
    for note, per_variant in sorted(view.notes.items()):
        where = ", ".join(
            f"{v} {per_variant[v]} of {totals.get(v, 0)} calls"
            for v in view.variants
            if per_variant.get(v)
        )
        out.append(f"{note}: {where}")
    return out


def notes_section(view: RunView) -> str:
    """Caveats the evaluators attached to their scores, such as a TTS judge that runs the agent's
    own ASR model: the numbers above mean less than they seem for those calls."""
    lines = note_lines(view)
    if not lines:
        return ""
    return (
        '<div id="scoring-notes"><h3>Scoring notes</h3><ul class="reasons">'
        + "".join(f"<li>{esc(line)}</li>" for line in lines)
        + "</ul></div>"
    )


def timing_section(view: RunView) -> str:
    series = {v: [t for r in calls for t in r.ttfa] for v, calls in _by_variant(view).items()}
    per_cohort: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in view.rows:
        per_cohort[(r.cohort_id, r.variant)] += r.ttfa
    cohorts = sorted({c for c, _ in per_cohort})
    head = "".join(f"<th>{esc(v)} p50</th><th>{esc(v)} p95</th>" for v in view.variants)
    body = []
    for c in cohorts:
        cells = "".join(
            f"<td>{num(quantile(per_cohort.get((c, v), []), 0.5))}</td>"
            f"<td>{num(quantile(per_cohort.get((c, v), []), 0.95))}</td>"
            for v in view.variants
        )
        body.append(f'<tr><td class="mono small">{esc(c)}</td>{cells}</tr>')
    return (
        '<p class="muted">Time to first audio per answered turn: from the end of the caller\'s '
        "speech to the agent's first audible sample (seconds).</p>"
        + cdf_chart(series, unit="s", svg_id="ttfa-cdf")
        + "<details><summary>Per cohort</summary><table><thead><tr><th>cohort</th>"
        + head
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table></details>"
    )


def attribution_section(view: RunView) -> str:
    counts = attribution_counts(view.rows)
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for r in view.rows:
        totals[(r.cohort_id, r.variant)] += 1
    if not counts:
        scored = view.scored
        return f'<p class="muted">{"No failed calls." if scored else "The run is not scored."}</p>'
    peak = max(counts.values())
    head = "".join(f"<th>{esc(c)}</th>" for c in CAUSES)
    body = []
    for cohort, variant in sorted(totals, key=lambda k: (k[0], view.variants.index(k[1]))):
        failed = sum(counts.get((cohort, variant, c), 0) for c in CAUSES)
        cells = []
        for c in CAUSES:
            n = counts.get((cohort, variant, c), 0)
            bar = f'<span class="bar" style="width:{round(40 * n / peak)}px"></span> ' if n else ""
            cells.append(f"<td>{bar}{n or ''}</td>")
        body.append(
            f'<tr><td class="mono small">{esc(cohort)}</td><td>{esc(variant)}</td>'
            f"<td>{totals[(cohort, variant)]}</td><td>{failed}</td>{''.join(cells)}</tr>"
        )
    for variant in view.variants:
        sums = "".join(
            f"<td><b>{sum(n for (_, v, c), n in counts.items() if v == variant and c == cause)}"
            "</b></td>"
            for cause in CAUSES
        )
        failed = sum(n for (_, v, _c), n in counts.items() if v == variant)
        calls = sum(n for (_, v), n in totals.items() if v == variant)
        body.append(
            f"<tr><td><b>all cohorts</b></td><td>{esc(variant)}</td><td>{calls}</td>"
            f"<td><b>{failed}</b></td>{sums}</tr>"
        )
    return (
        '<p class="muted">Failed calls by cause (docs/results.md, "Failure attribution"): the '
        "policy replayed on what the caller really said tells policy faults from ASR, timing "
        'and TTS ones.</p><table id="attribution"><thead><tr><th>cohort</th><th>variant</th>'
        f"<th>calls</th><th>failed</th>{head}</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>"
    )
