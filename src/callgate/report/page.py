"""``callgate report``: one self-contained HTML file (plus report.md) for a run, with or without
the gate's decision.

Only failed calls get detail sections, regressions first, up to ``max_details``; the page says how
many were left out. Audio follows the budget rule of :mod:`callgate.report.audio`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from callgate.errors import UsageError
from callgate.files import atomic_write
from callgate.gate.model import GateReport
from callgate.report.assets import CSS, JS
from callgate.report.audio import INLINE_BUDGET, LINKED_BUDGET, AudioPlan, plan_audio
from callgate.report.calls import call_detail, failures_table
from callgate.report.data import RunView, load_run, ordered_failures
from callgate.report.escape import anchor, esc, json_for_script
from callgate.report.markdown import markdown_summary
from callgate.report.sections import (
    attribution_section,
    decision_section,
    forest_section,
    looks_section,
    summary_table,
    timing_section,
)
from callgate.report.signals import signals_section
from callgate.report.turn_taking import turn_taking_section
from callgate.results.table import declared_metrics
from callgate.store.blobs import BlobStore
from callgate.store.reader import StoreReader

if TYPE_CHECKING:
    from callgate.production.signals.model import SignalsReport

MAX_DETAILS = 100
MAX_TABLE_ROWS = 2000


@dataclass
class ReportResult:
    html: Path
    markdown: Path
    html_bytes: int
    audio: AudioPlan
    failures: int
    regressed: int
    details: int
    details_left_out: int


def page(title: str, body: str, *, data: object | None = None) -> str:
    """A complete HTML document: inline CSS and JS, nothing fetched from the network."""
    script_data = (
        f'<script type="application/json" id="report-data">{json_for_script(data)}</script>'
        if data is not None
        else ""
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # No network: a CSP that only allows what is inline and data: audio keeps it that way.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; "
        "media-src data: blob: 'self' file:\">"
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>{body}{script_data}"
        f"<script>{JS}</script></body></html>"
    )


def summary_data(view: RunView, gate: GateReport | None) -> dict[str, object]:
    """The machine-readable summary embedded in the page (and handy for scripts)."""
    failed = [r for r in view.rows if r.failed]
    return {
        "run_id": view.run.run_id,
        "decision": gate.decision if gate else None,
        "reasons": [r.message for r in gate.reasons] if gate else [],
        "baseline": view.baseline,
        "candidate": view.candidate,
        "calls": len(view.rows),
        "failed": {v: sum(1 for r in failed if r.variant == v) for v in view.variants},
        "regressed": [r.call_id for r in view.rows if r.regressed],
    }


def render(
    view: RunView,
    gate: GateReport | None,
    audio: AudioPlan,
    *,
    max_details: int = MAX_DETAILS,
    signals: SignalsReport | None = None,
) -> tuple[str, int, int]:
    """(html, detail sections written, failed calls left without one). ``signals``: an imported
    run's production signals, drawn in a section of their own."""
    failures = ordered_failures(view)
    detailed = [r for r in failures if r.call_id in view.traces][:max_details]
    shown = {r.call_id for r in detailed}

    def link(call_id: str) -> str | None:
        return f"#{anchor(call_id)}" if call_id in shown else None

    run = view.run
    spec = run.spec
    created = datetime.fromtimestamp(run.created, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    title = f"callgate report: run {run.run_id}"
    left_out = len(failures) - len(detailed)
    table_rows = failures[:MAX_TABLE_ROWS]
    declared = declared_metrics()  # once: every detail section judges by the same thresholds
    details_html = "".join(
        call_detail(
            view.traces[r.call_id],
            view.scores.get(r.call_id),
            r,
            audio_src=audio.src,
            call_link=link,
            declared=declared,
        )
        for r in detailed
    )
    audio_note = {
        "inline": "Audio is inside this file.",
        "linked": f"Audio is in the folder {esc(audio.folder.name if audio.folder else '')}/ "
        "next to this file: keep them together.",
        "none": "No audio stored for these calls.",
    }[audio.mode]
    if audio.left_out:
        audio_note += f" {audio.left_out} tracks have no player (missing, or over the size budget)."
    body = (
        '<header class="top"><b>callgate</b> report &middot; '
        '<a href="#decision-card">decision</a><a href="#cohorts">cohorts</a>'
        '<a href="#timing">timing</a><a href="#turn-taking-card">turn-taking</a>'
        '<a href="#attribution-card">attribution</a>'
        '<a href="#failures-card">failed calls</a>'
        + ('<a href="#signals">signals</a>' if signals is not None else "")
        + "</header><main>"
        f"<h1>{esc(title)}</h1>"
        f'<p class="muted">suite {esc(spec.suite or "?")} &middot; grid '
        f"{esc(spec.grid or '?')} &middot; seed {esc(str(spec.seed))} &middot; "
        f"{len(view.rows)} calls stored of {run.planned} planned &middot; created {created}</p>"
        f'<section class="card" id="decision-card"><h2>Decision</h2>'
        f"{decision_section(gate, run.run_id)}{looks_section(view.looks)}{summary_table(view)}"
        "</section>"
        f'<section class="card" id="cohorts"><h2>Per-cohort deltas</h2>{forest_section(gate)}'
        "</section>"
        f'<section class="card" id="timing"><h2>Timing</h2>{timing_section(view)}</section>'
        f'<section class="card" id="turn-taking-card"><h2>Turn-taking per cohort</h2>'
        f"{turn_taking_section(view)}</section>"
        f"{_signals_card(signals)}"
        f'<section class="card" id="attribution-card"><h2>Why calls failed</h2>'
        f"{attribution_section(view)}</section>"
        f'<section class="card" id="failures-card"><h2>Failed and regressed calls '
        f"({len(failures)})</h2>"
        '<p class="muted">Regressed: the candidate failed where its paired baseline call passed. '
        f"{len(detailed)} calls have a detail section below"
        + (f"; {left_out} more failed calls are left out (cap {max_details})" if left_out else "")
        + (
            f"; the table lists the first {MAX_TABLE_ROWS}"
            if len(failures) > MAX_TABLE_ROWS
            else ""
        )
        + f". {audio_note}</p>"
        '<input type="search" placeholder="filter the table" data-filter="failures">'
        + failures_table(table_rows, link, declared=declared)
        + "</section>"
        f"<h2>Call details</h2>{details_html}</main>"
    )
    return page(title, body, data=summary_data(view, gate)), len(detailed), left_out


def _signals_card(signals: SignalsReport | None) -> str:
    if signals is None:
        return ""
    return (
        '<section class="card" id="signals"><h2>Production signals per release and cohort</h2>'
        f"{signals_section(signals)}</section>"
    )


def _imported_signals(store: StoreReader, run_id: str) -> SignalsReport | None:
    """The signals of an imported run (every cohort tag), None for a simulated one."""
    from callgate.production.signals.compute import compute_signals
    from callgate.production.signals.model import SignalsSettings

    if store.run(run_id).spec.imported is None:
        return None
    return compute_signals(store, SignalsSettings(runs=[run_id]))


def _atomic_write(path: Path, text: str) -> None:
    try:
        atomic_write(path, text)
    except OSError as exc:
        raise UsageError(f"cannot write ({exc.strerror})", source=path) from None


def write_report(
    store: StoreReader,
    run_id: str,
    out: Path,
    gate: GateReport | None = None,
    *,
    max_details: int = MAX_DETAILS,
    inline_budget: int = INLINE_BUDGET,
    linked_budget: int = LINKED_BUDGET,
) -> ReportResult:
    """Write ``out`` (HTML), ``<stem>.md`` beside it and, above the inline budget, the audio."""
    if out.suffix.lower() == ".md":
        raise UsageError("the report is HTML: give a .html path", field="--output")
    view = load_run(
        store,
        run_id,
        baseline=gate.baseline.variant if gate else None,
        candidate=gate.candidate.variant if gate else None,
    )
    if gate is None and view.looks:
        # An adaptive run carries its own gate: the last look's.
        gate = view.looks[-1].report
    failures = ordered_failures(view)
    detailed = [r for r in failures if r.call_id in view.traces][:max_details]
    blobs = BlobStore(store.root / "blobs")
    audio = plan_audio(
        blobs,
        [
            [view.traces[r.call_id].caller_audio, view.traces[r.call_id].agent_audio]
            for r in detailed
        ],
        out,
        inline_budget=inline_budget,
        linked_budget=linked_budget,
    )
    signals = _imported_signals(store, view.run.run_id)
    html, n_details, left_out = render(view, gate, audio, max_details=max_details, signals=signals)
    _atomic_write(out, html)
    try:
        audio.copy_files()
    except OSError as exc:
        raise UsageError(f"cannot copy audio ({exc.strerror})", source=audio.folder) from None
    md_path = out.with_suffix(".md")
    _atomic_write(md_path, markdown_summary(view, gate, out.name, n_details, left_out))
    return ReportResult(
        html=out,
        markdown=md_path,
        html_bytes=out.stat().st_size,
        audio=audio,
        failures=len(failures),
        regressed=sum(1 for r in view.rows if r.regressed),
        details=n_details,
        details_left_out=left_out,
    )
