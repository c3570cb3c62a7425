"""A metric that only a plugin's evaluator declares goes everywhere a built-in one goes: the
results table, compare, the gate and the report; and a stored metric nobody declares is kept."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, ClassVar

import pytest

from callgate.comparison.session import select_metrics
from callgate.comparison.sides import load_side
from callgate.evaluators.base import EVALUATORS, Metric
from callgate.evaluators.suite import load_evaluators
from callgate.gate.engine import run_gate
from callgate.gate.policy import load_policy
from callgate.report.page import write_report
from callgate.results.table import call_rows
from callgate.store.db import Store
from callgate.store.reader import StoreReader
from callgate.store.records import CallScores
from factories import call

RUN = "plug0001run"
SCORE = Metric("plugin_score", "higher", "fraction", "a plugin's own score", 0.5, "rate")


class PluginScore:
    """Stands in for an evaluator an installed plugin registers by entry point."""

    name: ClassVar[str] = "PluginScore"
    metrics: ClassVar[list[Metric]] = [SCORE]


@pytest.fixture
def plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    load_evaluators()
    monkeypatch.setitem(EVALUATORS._factories, "PluginScore", PluginScore)


def make_run(root: Path, pairs: int = 40) -> Path:
    rng = random.Random(3)
    store = Store.open(root)
    store.ensure_run(RUN, {"variants": ["baseline", "candidate"]}, planned=2 * pairs)
    spec = store.set_evaluation(RUN, [{"name": "PluginScore"}])
    with store.transaction():
        for i in range(pairs):
            for variant, shift in (("baseline", 0.0), ("candidate", -0.3)):
                trace = call(
                    call_id=f"{variant[0]}{i:03d}",
                    run_id=RUN,
                    scenario_id=f"s{i}",
                    variant=variant,
                    cohort={"call_type": "x"},
                )
                metrics: dict[str, Any] = {
                    "task_completion": 1.0,
                    "plugin_score": min(1.0, max(0.0, 0.7 + shift + rng.uniform(-0.1, 0.1))),
                    "other_unknown": 2.0,
                }
                scores = CallScores(metrics=metrics, reasons={"PluginScore": "scored"})
                store.put_call(trace)
                store.put_scores(RUN, spec, trace.call_id, scores)
    store.close()
    return root


def test_a_plugin_metric_is_exported_compared_gated_and_reported(
    plugin: None, tmp_path: Path
) -> None:
    root = make_run(tmp_path / "store")
    rows, columns = call_rows(StoreReader.open(root), RUN)
    assert ("plugin_score", "float64") in columns and rows[0]["plugin_score"] > 0
    # Declared metrics first, then what the scores hold that nobody declares: kept, not dropped.
    assert [c for c, _ in columns].index("plugin_score") < [c for c, _ in columns].index(
        "other_unknown"
    )

    base = load_side(f"{RUN}:baseline", root)
    cand = load_side(f"{RUN}:candidate", root)
    specs, notes = select_metrics(base, cand, [])
    picked = {s.name: s for s in specs}
    assert picked["plugin_score"].direction == "higher" and picked["plugin_score"].kind == "rate"
    assert "other_unknown" not in picked and "other_unknown" in " ".join(notes)

    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "schema_version: 1\ncohorts: {by: [call_type], min_calls: 10}\n"
        "metrics:\n  plugin_score: {non_inferiority_margin: 0.05}\n"
    )
    _plan, decision = run_gate(load_policy(str(policy)), base, cand, resamples=200)
    assert not decision.promote and decision.reasons[0].metric == "plugin_score"

    out = tmp_path / "r.html"
    with StoreReader.open(root) as store:
        html = write_report(store, RUN, out).html.read_text(encoding="utf-8")
    assert 'data-metric="plugin_score"' in html and "higher is better" in html
    assert 'data-metric="other_unknown"' in html and "not declared here" in html


def test_without_the_plugin_its_stored_metric_is_still_a_column(tmp_path: Path) -> None:
    root = make_run(tmp_path / "store")
    _rows, columns = call_rows(StoreReader.open(root), RUN)
    names = [c for c, _ in columns]
    assert "plugin_score" in names and "other_unknown" in names
