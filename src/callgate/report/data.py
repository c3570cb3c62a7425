"""What the report and the web UI show about a run: one light row per call, paired across variants.

Rows are the store's :class:`~callgate.store.records.CallRow` (docs/results.md): a call *failed*
when ``task_completion`` or ``tool_selection_accuracy`` is below 1 (the attribution rule), and a
paired candidate call *regressed* when its baseline twin (same scenario, cohort and repeat) did not
fail.
Only the traces of failed calls are kept in memory: they are the ones that get detail sections.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from callgate.gate.model import GateLook
from callgate.store.reader import RunRow, StoreReader
from callgate.store.records import CallRow, CallScores
from callgate.traces.model import CallTrace


@dataclass
class RunView:
    run: RunRow
    rows: list[CallRow]
    variants: list[str]
    baseline: str | None
    candidate: str | None
    traces: dict[str, CallTrace] = field(default_factory=dict)  # kept for failed calls only
    scores: dict[str, CallScores] = field(default_factory=dict)  # of those same calls, if scored
    looks: list[GateLook] = field(default_factory=list)  # an adaptive run's gate, look by look
    # Caveats evaluators attached to their scores ("evaluator: note" -> variant -> calls), e.g.
    # TTSAccuracy's judge running the agent's own ASR model. Gathered from every call's scores.
    notes: dict[str, Counter[str]] = field(default_factory=dict)

    @property
    def by_id(self) -> dict[str, CallRow]:
        return {r.call_id: r for r in self.rows}

    @property
    def scored(self) -> bool:
        return any(r.failed is not None for r in self.rows)


def pick_variants(
    variants: list[str], baseline: str | None = None, candidate: str | None = None
) -> tuple[str | None, str | None]:
    """Which variant is the baseline and which the candidate (the gate's, else by name or order)."""
    if baseline in variants and candidate in variants and baseline != candidate:
        return baseline, candidate
    if "baseline" in variants and "candidate" in variants:
        return "baseline", "candidate"
    if len(variants) >= 2:
        return variants[0], variants[1]
    return None, (variants[0] if variants else None)


def pair(rows: list[CallRow], baseline: str | None, candidate: str | None) -> None:
    """Link each baseline call to its candidate twin and flag the regressions."""
    if baseline is None or candidate is None:
        return
    base = {r.pair_key: r for r in rows if r.variant == baseline}
    for r in rows:
        if r.variant != candidate:
            continue
        b = base.get(r.pair_key)
        if b is None:
            continue
        r.partner, b.partner = b.call_id, r.call_id
        r.regressed = bool(r.failed) and b.failed is False


def load_run(
    store: StoreReader,
    run_id: str,
    *,
    baseline: str | None = None,
    candidate: str | None = None,
    keep: Callable[[CallRow], bool] | None = None,
) -> RunView:
    """Rows for every call of a run; traces and scores kept for the calls ``keep`` accepts."""
    run = store.run(run_id)
    scores = store.scores(run.run_id)
    keep = keep or (lambda r: bool(r.failed))
    rows: list[CallRow] = []
    traces: dict[str, CallTrace] = {}
    kept_scores: dict[str, CallScores] = {}
    notes: dict[str, Counter[str]] = {}
    for trace in store.calls(run.run_id):
        sc = scores.get(trace.call_id)
        row = CallRow.of(trace, sc)
        rows.append(row)
        for note in scoring_notes(sc):
            notes.setdefault(note, Counter())[trace.variant] += 1
        if keep(row):
            traces[trace.call_id] = trace
            if sc is not None:
                kept_scores[trace.call_id] = sc
    seen = list(dict.fromkeys(r.variant for r in rows))
    declared = list(run.spec.variants)
    variants = [v for v in declared if v in seen] + [v for v in seen if v not in declared]
    base, cand = pick_variants(variants, baseline, candidate)
    pair(rows, base, cand)
    looks = [GateLook.model_validate_json(x) for x in store.looks(run.run_id)]
    return RunView(run, rows, variants, base, cand, traces, kept_scores, looks, notes)


def scoring_notes(scores: CallScores | None) -> list[str]:
    """The notes each evaluator put in its details (``details[evaluator]["notes"]``), prefixed by
    the evaluator's name."""
    if scores is None:
        return []
    out = []
    for evaluator, details in scores.details.items():
        found = details.get("notes") if isinstance(details, dict) else None
        if isinstance(found, list):
            out += [f"{evaluator}: {n}" for n in found if isinstance(n, str)]
    return out


# -- aggregates -----------------------------------------------------------------------------------


def attribution_counts(rows: list[CallRow]) -> Counter[tuple[str, str, str]]:
    """Failed calls by (cohort id, variant, cause)."""
    return Counter((r.cohort_id, r.variant, r.failure_cause or "") for r in rows if r.failed)


def quantile(values: list[float], q: float) -> float | None:
    """Linear-interpolated quantile (numpy's default), None for no values."""
    if not values:
        return None
    xs = sorted(values)
    pos = q * (len(xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def metric_values(rows: list[CallRow], metric: str) -> list[float]:
    out = []
    for r in rows:
        v = r.metrics.get(metric)
        if v is not None and math.isfinite(v):
            out.append(v)
    return out


def ordered_failures(view: RunView) -> list[CallRow]:
    """Failed calls, most telling first: regressions, then the candidate's, then the rest."""

    def rank(r: CallRow) -> tuple[int, str, str, str]:
        group = 0 if r.regressed else 1 if r.variant == view.candidate else 2
        return (group, r.scenario_id, r.cohort_id, r.call_id)

    return sorted((r for r in view.rows if r.failed), key=rank)
