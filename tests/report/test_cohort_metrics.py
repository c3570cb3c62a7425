"""The report's table of every metric per cohort: a metric a new evaluator declares shows up per
cohort and variant without the report naming it."""

from __future__ import annotations

import re

from callgate.report.data import RunView
from callgate.report.metrics import cohort_metrics_table
from callgate.report.sections import summary_table
from callgate.store.reader import RunRow
from callgate.store.records import CallRow, CallScores
from callgate.store.run_spec import RunSpec
from factories import call


def row(cid: str, cohort: str, variant: str, mos: float | None) -> CallRow:
    trace = call(call_id=cid, cohort_id=cohort, variant=variant)
    scores = CallScores(metrics={"agent_audio_mos": mos, "my_own_score": 1.0}, reasons={})
    return CallRow.of(trace, scores)


def view(rows: list[CallRow]) -> RunView:
    run = RunRow("r1", 0.0, RunSpec(), len(rows), None, 0.0, len(rows))
    variants = list(dict.fromkeys(r.variant for r in rows))
    return RunView(run, rows, variants, variants[0], variants[-1])


def cells(html: str, metric: str, cohort: str) -> list[str]:
    match = re.search(
        rf'<tr data-metric="{metric}" data-cohort="{re.escape(cohort)}">(.*?)</tr>', html
    )
    assert match, (metric, cohort)
    return [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", match.group(1))]


def test_every_metric_is_shown_per_cohort_and_variant() -> None:
    phone, lossy = "channel=phone", "channel=phone-lossy"
    rows = [
        row("a", phone, "baseline", 3.1),
        row("b", phone, "baseline", 3.0),
        row("c", phone, "candidate", 3.05),
        row("d", lossy, "baseline", 2.9),
        row("e", lossy, "candidate", 2.5),
        row("f", lossy, "candidate", None),  # not scored: left out of the mean and the count
    ]
    html = cohort_metrics_table(view(rows))
    assert cells(html, "agent_audio_mos", phone) == [
        "agent_audio_mos",
        phone,
        "3.05 (2)",
        "3.05 (1)",
    ]
    assert cells(html, "agent_audio_mos", lossy) == [lossy, "2.9 (1)", "2.5 (1)"]
    # A metric no evaluator declares is shown too (after the declared ones), never dropped.
    assert cells(html, "my_own_score", lossy)[-1] == "1 (2)"
    assert html.index('data-metric="agent_audio_mos"') < html.index('data-metric="my_own_score"')
    assert 'id="metrics-by-cohort"' in summary_table(view(rows))


def test_one_cohort_needs_no_cohort_table() -> None:
    rows = [row("a", "channel=phone", "baseline", 3.1), row("b", "channel=phone", "cand", 3.0)]
    assert cohort_metrics_table(view(rows)) == ""
