"""Run banking scenarios through a variant file and score them: what the agent-kind tests share
(the inline executor, so a test's own registrations and servers are visible to the calls)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from callgate.execution.runner import RunRequest, execute, plan
from callgate.execution.scoring import score_run
from callgate.scenarios import load_suite
from callgate.store.db import Store
from callgate.variants import load_variants

COHORT = ("voice=us-joe", "noise=clean", "channel=phone")


def run_scored(
    store_root: Path,
    variant: Path,
    scenarios: list[str],
    evaluators: list[str],
    cohort: tuple[str, ...] = COHORT,
) -> list[tuple[Any, Any]]:
    """(trace, scores) of every call, in scenario order; fails if a call or its scoring failed."""
    suite = load_suite("banking")
    request = RunRequest(
        suite, load_variants([str(variant)], suite), scenarios=scenarios, cohort=list(cohort)
    )
    p = plan(request)
    store = Store.open(store_root)
    outcome = execute(store, p, executor="inline")
    assert not outcome.failed, outcome.failed
    spec = [{"name": n} for n in evaluators]
    assert not score_run(store, p.run_id, spec, executor="inline").failed
    scores = store.scores(p.run_id)
    traces = sorted(store.calls(p.run_id), key=lambda t: scenarios.index(t.scenario_id))
    return [(t, scores[t.call_id]) for t in traces]
