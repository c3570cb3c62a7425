"""Build the per-call and per-turn results tables (documented in docs/results.md)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any, Literal

from callgate.evaluators.base import Metric, metric_index
from callgate.evaluators.suite import load_evaluators
from callgate.scenarios.model import RESERVED_TAGS
from callgate.store.reader import StoreReader
from callgate.store.records import CallRow

Dtype = Literal["string", "int64", "float64"]
Table = tuple[list[dict[str, Any]], list[tuple[str, Dtype]]]  # rows, and (column, dtype) in order

# Fixed identity columns of the call table, in order, with their dtypes.
CALL_ID_COLUMNS: list[tuple[str, Dtype]] = [
    ("run_id", "string"),
    ("call_id", "string"),
    ("source", "string"),
    ("suite", "string"),
    ("scenario_id", "string"),
    ("variant", "string"),
    ("repeat", "int64"),
    ("seed", "int64"),
    ("split", "string"),
    ("cohort_id", "string"),
    ("ended_by", "string"),
]
TAG_PREFIX = "tag_"

TURN_COLUMNS: list[tuple[str, Dtype]] = [
    ("run_id", "string"),
    ("call_id", "string"),
    ("scenario_id", "string"),
    ("variant", "string"),
    ("repeat", "int64"),
    ("cohort_id", "string"),
    ("turn", "int64"),
    ("reference", "string"),
    ("hypothesis", "string"),
    ("confidence", "float64"),
    ("asr_wer", "float64"),
    ("substitutions", "string"),
    ("deletions", "string"),
    ("insertions", "string"),
    ("entities_missed", "string"),
    ("ttfa_s", "float64"),
    ("response_latency_s", "float64"),
    ("yield_latency_s", "float64"),
    ("intended", "string"),
    ("heard", "string"),
    ("tts_wer", "float64"),
    ("tts_flags", "string"),
    ("agent_mos", "float64"),
    ("caller_mos", "float64"),
]
_JSON_TURN_FIELDS = {"substitutions", "deletions", "insertions", "entities_missed"}


def declared_metrics() -> dict[str, Metric]:
    """Every metric the evaluators declare, built-in or from a plugin, in declaration order: the
    metric columns of the results table, and what the report and UI show and judge by."""
    load_evaluators()
    return metric_index()


def metric_columns() -> list[str]:
    return list(declared_metrics())


def ordered_metrics(present: Iterable[str], declared: Iterable[str] | None = None) -> list[str]:
    """``present`` metrics in declaration order, then any the evaluators do not declare (an
    evaluator not installed here, an imported column) by name: shown, never dropped.
    ``declared``: :func:`declared_metrics` when the caller has it already (loading is not free)."""
    names = set(present)
    known = [m for m in (declared_metrics() if declared is None else declared) if m in names]
    return known + sorted(names - set(known))


CALL_COLUMNS: list[str] = [c for c, _ in CALL_ID_COLUMNS]


def call_columns(rows: list[dict[str, Any]], metrics: list[str]) -> list[tuple[str, Dtype]]:
    """Identity columns, then every cohort tag present (built-in ones first), then metrics."""
    tags = {k for r in rows for k in r if k.startswith(TAG_PREFIX)}
    builtin = [TAG_PREFIX + t for t in RESERVED_TAGS]
    ordered = [t for t in builtin if t in tags] + sorted(tags - set(builtin))
    cols: list[tuple[str, Dtype]] = list(CALL_ID_COLUMNS)
    cols += [(t, "string") for t in ordered]
    cols += [(m, "float64") for m in metrics]
    cols.append(("attribution", "string"))
    cols.append(("reasons", "string"))
    return cols


def table_row(call: CallRow, metrics: list[str]) -> dict[str, Any]:
    """A call row flattened into the columns of the results table."""
    row: dict[str, Any] = {c: getattr(call, c) for c in CALL_COLUMNS}
    for tag, value in call.cohort.items():
        row[TAG_PREFIX + tag] = value
    for m in metrics:
        v = call.metrics.get(m)
        row[m] = math.nan if v is None else float(v)
    row["attribution"] = call.cause or ""
    reasons = dict(call.reasons)
    if call.cause:
        reasons["Attribution"] = call.cause_reason
    row["reasons"] = json.dumps(reasons, sort_keys=True)
    return row


def call_rows(store: StoreReader, run_id: str) -> Table:
    """Every declared metric is a column (empty where not scored), then any metric the run's
    scores hold that no evaluator here declares (a plugin not installed now): never dropped."""
    calls = store.call_rows(run_id)
    declared = metric_columns()
    extra = sorted({m for c in calls for m in c.metrics} - set(declared))
    metrics = declared + extra
    rows = [table_row(call, metrics) for call in calls]
    return rows, call_columns(rows, metrics)


def turn_rows(store: StoreReader, run_id: str) -> Table:
    scores = store.scores(run_id)
    rows: list[dict[str, Any]] = []
    for trace in store.calls(run_id):
        sc = scores.get(trace.call_id)
        for t in sc.turns if sc else []:
            row: dict[str, Any] = {
                "run_id": trace.run_id,
                "call_id": trace.call_id,
                "scenario_id": trace.scenario_id,
                "variant": trace.variant,
                "repeat": trace.repeat,
                "cohort_id": trace.cohort_id,
                "turn": t["turn"],
            }
            for col, dtype in TURN_COLUMNS[7:]:
                value = t.get("flags" if col == "tts_flags" else col)
                if col in _JSON_TURN_FIELDS or col == "tts_flags":
                    row[col] = json.dumps(value if value is not None else [])
                elif dtype == "float64":
                    row[col] = math.nan if value is None else float(value)
                else:
                    row[col] = "" if value is None else str(value)
            rows.append(row)
    return rows, list(TURN_COLUMNS)
