"""report.md: the report's summary as Markdown, short enough for a pull-request comment."""

from __future__ import annotations

from callgate.gate.model import GateReport
from callgate.report.data import RunView, mean, metric_values, ordered_failures
from callgate.report.data import quantile as q
from callgate.report.escape import num, pct
from callgate.report.metrics import value
from callgate.report.sections import note_lines
from callgate.results.table import declared_metrics
from callgate.store.records import FAIL_METRICS, FAILURE_CAUSES

MAX_LISTED = 10


def md(text: object) -> str:
    """Text for a Markdown table cell. Markdown renders inline HTML, so <, > and & are escaped
    like in the HTML report; pipes would split the cell and newlines end the row."""
    s = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return s.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
        *("| " + " | ".join(r) + " |" for r in rows),
        "",
    ]


def _role(view: RunView, variant: str) -> str:
    role = (
        "baseline" if variant == view.baseline else "candidate" if variant == view.candidate else ""
    )
    return f" ({role})" if role and role != variant else ""


def markdown_summary(
    view: RunView, gate: GateReport | None, html_name: str, details: int, left_out: int
) -> str:
    run = view.run.run_id
    if gate is None:
        lines = [f"## callgate report: run `{run}` (no gate decision)", ""]
    else:
        icon = {"PROMOTE": "✅", "BLOCK": "❌", "UNDECIDED": "⏸️"}.get(gate.decision, "❔")
        lines = [
            f"## callgate report: run `{run}`: {icon} **{gate.decision}**",
            "",
            f"Candidate `{md(gate.candidate.label)}` vs baseline `{md(gate.baseline.label)}`"
            + (f": {md(gate.pairing)}." if gate.pairing else "."),
            "",
        ]
        if gate.reasons:
            lines += ["### Blocking reasons", ""]
            lines += [f"{i}. {md(r.message)}" for i, r in enumerate(gate.reasons, 1)] + [""]
        if gate.undecided:
            lines += ["### Still open", ""]
            lines += [f"{i}. {md(r.message)}" for i, r in enumerate(gate.undecided, 1)] + [""]
        if gate.warnings:
            lines += ["### Warnings", ""] + [f"- {md(w)}" for w in gate.warnings] + [""]
    declared = declared_metrics()
    rows = []
    for v in view.variants:
        calls = [r for r in view.rows if r.variant == v]
        scored = [r for r in calls if r.failed is not None]
        failed = sum(1 for r in scored if r.failed)
        ttfa = [t for r in calls for t in r.ttfa]
        rows.append(
            [
                md(v) + _role(view, v),
                str(len(calls)),
                f"{failed} ({pct(failed / len(scored) if scored else None)})",
                str(sum(1 for r in calls if r.regressed)) if v == view.candidate else "",
                *(value(m, mean(metric_values(calls, m)), declared) for m in FAIL_METRICS),
                num(q(ttfa, 0.5)),
                num(q(ttfa, 0.95)),
            ]
        )
    if not view.scored:
        lines += ["The run is not scored yet: run `callgate evaluate` first.", ""]
    if notes := note_lines(view):
        lines += ["### Scoring notes", ""] + [f"- {md(n)}" for n in notes] + [""]
    lines += ["### Calls", ""]
    lines += _table(
        ["variant", "calls", "failed", "regressed", *FAIL_METRICS, "TTFA p50 s", "p95 s"],
        rows,
    )
    causes = [
        [md(v)]
        + [
            str(sum(1 for r in view.rows if r.variant == v and r.failure_cause == c))
            for c in FAILURE_CAUSES
        ]
        for v in view.variants
    ]
    if any(r.failed for r in view.rows):
        lines += ["### Why calls failed", "", *_table(["variant", *FAILURE_CAUSES], causes)]
    regressed = [r for r in ordered_failures(view) if r.regressed]
    if regressed:
        lines += [f"### Regressed calls ({len(regressed)})", ""]
        lines += _table(
            ["call", "scenario", "cohort", "cause", "reason"],
            [
                [
                    f"`{r.call_id[:12]}`",
                    md(r.scenario_id),
                    md(r.cohort_id),
                    md(r.failure_cause or ""),
                    md(r.cause_reason),
                ]
                for r in regressed[:MAX_LISTED]
            ],
        )
        if len(regressed) > MAX_LISTED:
            lines += [f"... and {len(regressed) - MAX_LISTED} more in the HTML report.", ""]
    more = f", {left_out} failed calls left out" if left_out else ""
    lines += [
        f"Full report: `{md(html_name)}` (charts, {details} call details with audio and "
        f"timeline{more}).",
        "",
    ]
    return "\n".join(lines)
