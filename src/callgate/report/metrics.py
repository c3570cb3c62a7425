"""Metrics as the report and the UI show them, for any metric the evaluators declare.

Nothing here names a metric: which metrics exist, which way is better, their unit and pass
threshold all come from the evaluators' declarations (:func:`callgate.results.table.
declared_metrics`), so a plugin's evaluator shows up like a built-in one. The only metrics named
by the report are the failure rule's (:data:`callgate.store.records.FAIL_METRICS`).
"""

from __future__ import annotations

from collections.abc import Mapping

from callgate.comparison import format as fmt
from callgate.comparison.compare import MetricSpec
from callgate.evaluators.base import Metric
from callgate.report.data import RunView, mean, metric_values
from callgate.report.escape import esc
from callgate.results.table import declared_metrics, ordered_metrics
from callgate.store.records import CallRow


def spec(name: str, declared: Mapping[str, Metric]) -> MetricSpec:
    m = declared.get(name)
    if m is None:  # not declared here: a plain number, direction unknown
        return MetricSpec(name, "higher")
    return MetricSpec(name, m.direction, m.kind, "mean", m.unit)


def value(name: str, x: float | None, declared: Mapping[str, Metric]) -> str:
    return fmt.value(spec(name, declared), x)


def off_threshold(
    metrics: Mapping[str, float | None], declared: Mapping[str, Metric]
) -> list[tuple[str, str]]:
    """(metric, "value (pass >= t)") for each scored metric that misses its declared threshold."""
    out = []
    for name, m in declared.items():  # only a declared metric has a threshold
        v = metrics.get(name)
        if v is None or m.passes(v) is not False:
            continue
        sign = ">=" if m.direction == "higher" else "<="
        out.append(
            (name, f"{value(name, v, declared)} (pass {sign} {value(name, m.threshold, declared)})")
        )
    return out


def metrics_table(view: RunView, declared: Mapping[str, Metric] | None = None) -> str:
    """Every metric scored in the run: which way is better and its mean per variant."""
    declared = declared_metrics() if declared is None else declared
    scored = {m for r in view.rows for m, v in r.metrics.items() if v is not None}
    names = ordered_metrics(scored, declared)
    if not names:
        return ""
    head = "".join(f"<th>{esc(v)}</th>" for v in view.variants)
    by_variant = {v: [r for r in view.rows if r.variant == v] for v in view.variants}
    rows = []
    for name in names:
        m = declared.get(name)
        better = f"{m.direction} is better" if m else "not declared here"
        means = [mean(metric_values(by_variant[v], name)) for v in view.variants]
        cells = "".join(f"<td>{esc(value(name, x, declared))}</td>" for x in means)
        title = f' title="{esc(m.description)}"' if m and m.description else ""
        rows.append(
            f'<tr data-metric="{esc(name)}"><td{title}>{esc(name)}</td>'
            f'<td class="muted small">{esc(better)}</td>{cells}</tr>'
        )
    return (
        f"<details><summary>Every metric: mean per variant ({len(names)})</summary>"
        '<table id="metrics"><thead><tr><th>metric</th><th></th>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></details>"
    )


def cohort_metrics_table(view: RunView, declared: Mapping[str, Metric] | None = None) -> str:
    """Every scored metric's mean per cohort and variant (calls scored in brackets): a change
    that hurts one cohort only (a codec, a noise, an accent) shows here even when no gate check
    is on that metric. Empty for a run of one cohort: the table above says it all."""
    cohorts = sorted({r.cohort_id for r in view.rows})
    if len(cohorts) < 2:
        return ""
    declared = declared_metrics() if declared is None else declared
    scored = {m for r in view.rows for m, v in r.metrics.items() if v is not None}
    names = ordered_metrics(scored, declared)
    groups: dict[tuple[str, str], list[CallRow]] = {}
    for r in view.rows:
        groups.setdefault((r.cohort_id, r.variant), []).append(r)
    head = "".join(f"<th>{esc(v)}</th>" for v in view.variants)
    rows = []
    for name in names:
        m = declared.get(name)
        title = f' title="{esc(m.description)}"' if m and m.description else ""
        label = f'<td rowspan="{len(cohorts)}"{title}>{esc(name)}</td>'
        for i, cohort in enumerate(cohorts):
            cells = []
            for v in view.variants:
                values = metric_values(groups.get((cohort, v), []), name)
                shown = esc(value(name, mean(values), declared))
                cells.append(f'<td>{shown} <span class="muted">({len(values)})</span></td>')
            rows.append(
                f'<tr data-metric="{esc(name)}" data-cohort="{esc(cohort)}">'
                f'{label if i == 0 else ""}<td class="mono small">{esc(cohort)}</td>'
                f"{''.join(cells)}</tr>"
            )
    return (
        f"<details><summary>Every metric per cohort: mean per variant ({len(names)} metrics, "
        f'{len(cohorts)} cohorts)</summary><table id="metrics-by-cohort"><thead><tr>'
        f"<th>metric</th><th>cohort</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"
        "</table></details>"
    )
