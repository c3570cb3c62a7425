"""The work behind `run`, `demo` and `evaluate`: plan and simulate, score, gate, report.

Kept apart from the command definitions so the CLI module only parses arguments.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callgate.cli.console import err, out
from callgate.cli.progress import Bar
from callgate.errors import UsageError
from callgate.scenarios.evaluation import EvaluationRules
from callgate.store.db import Store


@dataclass(frozen=True)
class RunDone:
    """How a run ended: its exit code, its id and the names of its variants, in order."""

    code: int
    run_id: str
    variants: list[str]


def default_suite(suite: str | None) -> str:
    """The suite a command names, or the only installed one."""
    if suite is not None:
        return suite
    from callgate.scenarios.load import installed_suites

    names = installed_suites()
    if len(names) == 1:
        return names[0]
    known = ", ".join(names) or "none"
    raise UsageError(
        f"name a suite file or an installed suite (installed: {known})", field="--suite"
    )


@dataclass(frozen=True)
class Prepared:
    """A planned run, checked before any call: bad input never creates a store or a run."""

    suite: Any  # LoadedSuite
    variants: list[Any]  # LoadedVariant
    plan: Any  # RunPlan
    store: Store

    @property
    def names(self) -> list[str]:
        return [lv.variant.name for lv in self.variants]


def prepare_run(
    store_dir: Path,
    suite: str,
    variants: list[str],
    grid: str,
    cohort: list[str],
    scenario: list[str],
    split: str,
    repeats: int,
    seed: int,
    workers: int | None,
    check: Callable[[Any], None] | None = None,
) -> Prepared:
    """Load and plan a run; ``check`` sees the plan before the store is opened (its errors leave
    nothing behind)."""
    from callgate.execution import preflight
    from callgate.execution.runner import RunRequest, plan, with_parts
    from callgate.scenarios.load import load_suite
    from callgate.store.db import Store
    from callgate.variants.load import load_variants

    if split not in ("dev", "holdout", "all"):
        raise UsageError("must be dev, holdout or all", field="--split")
    if workers is not None and workers < 1:
        raise UsageError("must be at least 1", field="--workers")
    loaded_suite = load_suite(suite)
    loaded_variants = load_variants(variants, loaded_suite)
    run_plan = plan(
        RunRequest(loaded_suite, loaded_variants, grid, cohort, scenario, split, repeats, seed)
    )
    preflight.check(loaded_suite, loaded_variants, run_plan)
    run_plan = with_parts(run_plan)  # what the preflight resolved, and where it came from
    if check is not None:
        check(run_plan)
    store = Store.open(store_dir)  # only now: bad input never creates a store or a run
    return Prepared(loaded_suite, loaded_variants, run_plan, store)


def execute_with_progress(
    p: Prepared,
    workers: int | None,
    executor: str,
    only: set[str] | None = None,
    address: str | None = None,
) -> Any:
    """Run the plan's missing calls (``only``: just these) with a progress bar; the outcome."""
    from callgate.execution.runner import execute

    with Bar(err, "calls") as progress:

        def on_start(total: int, already: int) -> None:
            if already:
                err.print(f"resuming: {already} calls already stored", highlight=False)
            progress.start(total, already)

        def on_call(_cid: str, failure: str | None) -> None:
            progress.advance()
            if failure:
                err.print(f"[red]call failed:[/] {failure.splitlines()[0]}", highlight=False)

        return execute(
            p.store,
            p.plan,
            executor=executor,
            workers=workers,
            on_start=on_start,
            on_call=on_call,
            only=only,
            address=address,
        )


def do_run(
    store_dir: Path,
    suite: str,
    variants: list[str],
    grid: str,
    cohort: list[str],
    scenario: list[str],
    split: str,
    repeats: int,
    seed: int,
    workers: int | None,
    executor: str,
    evaluate: bool = True,
    address: str | None = None,
) -> RunDone:
    p = prepare_run(
        store_dir, suite, variants, grid, cohort, scenario, split, repeats, seed, workers
    )
    run_plan, store, n_variants = p.plan, p.store, len(p.variants)

    def done(code: int) -> RunDone:
        return RunDone(code, run_plan.run_id, p.names)

    err.print(
        f"run [bold]{run_plan.run_id}[/]: {len(run_plan.jobs)} calls "
        f"({len(run_plan.jobs) // n_variants} per variant x {n_variants} variants), "
        f"suite {p.suite.suite.name}, grid {grid}, seed {seed}",
        highlight=False,
    )
    t0 = time.perf_counter()
    outcome = execute_with_progress(p, workers, executor, address=address)
    wall = time.perf_counter() - t0
    stored = len(store.stored_call_ids(run_plan.run_id))
    audio_s = sum(t.duration_s for t in store.calls(run_plan.run_id)) if outcome.done else 0.0
    out.print(
        f"run {run_plan.run_id}: {stored}/{outcome.planned} calls stored in {store.root.resolve()}",
        highlight=False,
    )
    speed = f", {audio_s / wall:.1f} s of call per wall second" if outcome.done and wall > 0 else ""
    out.print(f"took {wall:.1f} s for {outcome.done} new calls{speed}", highlight=False)
    if outcome.interrupted:
        err.print("interrupted: finished calls are stored; run the same command again to resume")
        return done(130)
    if evaluate and not outcome.failed:
        # Rules as the suite file has them now: a rule edited since the calls ran re-scores them.
        rules = p.suite.suite.evaluation
        code = do_evaluate(store, run_plan.run_id, workers, executor, rules, address=address)
        if code:
            return done(code)
    if outcome.failed:
        first = next(iter(outcome.failed.values()))
        err.print(
            f"{len(outcome.failed)} calls failed; first error:\n{first}",
            highlight=False,
            markup=False,
        )
        return done(1)
    return done(0)


def do_evaluate(
    store: Store,
    run_id: str,
    workers: int | None,
    executor: str,
    rules: EvaluationRules | None = None,
    summary: bool = True,
    address: str | None = None,
) -> int:
    """Score a run's unscored calls with ``rules`` (the suite's evaluation block as the caller
    has it now), or else with the rules of the suite the run stored; ``summary``: print the
    per-cohort summary after."""
    from callgate.evaluators.suite import evaluation_spec
    from callgate.execution.scoring import score_run
    from callgate.plugins import load_plugin_modules
    from callgate.results.summary import print_summary

    spec = store.run(run_id).spec
    load_plugin_modules(spec.plugins.modules)  # evaluators the run's plugins register
    if rules is None and spec.imported is not None and spec.imported.rules is not None:
        rules = EvaluationRules.model_validate(spec.imported.rules)  # as `ingest --suite` gave
    elif rules is None:
        rules = stored_rules(run_id, spec.suite_json)
    evaluators = evaluation_spec(rules)
    with Bar(err, "scoring") as progress:

        def on_start(total: int, already: int) -> None:
            progress.start(total, already)

        outcome = score_run(
            store,
            run_id,
            evaluators,
            executor=executor,
            workers=workers,
            on_start=on_start,
            on_call=progress.advance,
            address=address,
        )
    if outcome.failed:
        first = next(iter(outcome.failed.items()))
        err.print(
            f"{len(outcome.failed)} calls could not be scored; first: {first[0]}: {first[1]}",
            highlight=False,
            markup=False,
        )
        return 1
    if summary:
        print_summary(out, store, run_id)
    return 0


def stored_rules(run_id: str, suite_json: dict[str, Any] | None) -> EvaluationRules | None:
    """The evaluation rules of the suite a run stored; a run stored before suites carried rules
    is scored without domain rules, and says so."""
    from callgate.scenarios.model import Suite

    if suite_json is None:
        return None
    if "evaluation" not in suite_json:
        err.print(
            f"run {run_id} was stored before suites carried evaluation rules: scoring it with "
            "none (no sensitive tools, hand-off or personal-data checks); run the suite again "
            "to score it with its rules",
            highlight=False,
        )
    return Suite.model_validate(suite_json).evaluation


def demo_decision(
    store_dir: Path,
    run_id: str | None = None,
    baseline: str = "baseline",
    candidate: str = "candidate",
) -> None:
    from rich.markup import escape

    from callgate.comparison.sides import load_side
    from callgate.gate.engine import run_gate
    from callgate.gate.model import load_gate
    from callgate.gate.outputs import write_outputs
    from callgate.gate.policy import load_policy
    from callgate.gate.report import build_report
    from callgate.report.page import write_report
    from callgate.store.db import Store

    st = Store.open(store_dir, create=False)
    run_id = run_id or latest_demo_run(st)
    base = load_side(f"{run_id}:{baseline}", store_dir)
    cand = load_side(f"{run_id}:{candidate}", store_dir)
    plan, decision = run_gate(load_policy("default"), base, cand, seed=0, resamples=2000)
    report = build_report(plan, decision, base, cand, seed=0, resamples=2000)
    folder = store_dir / "demo"
    write_outputs(report, folder / "gate")
    from callgate.gate.outputs import headline

    for reason in [*report.reasons, *report.undecided]:
        out.print(f"  - {reason.message}", highlight=False, markup=False)
    # The decision last, with what decided it: the line a reader of the demo looks for.
    out.print(
        f"gate (default policy): [bold]{report.decision}[/], {escape(headline(report))}",
        highlight=False,
    )
    html = write_report(st, run_id, folder / "report.html", load_gate(folder / "gate"))
    out.print(f"report: {html.html.resolve()} (gate files in {folder / 'gate'})", highlight=False)


def latest_demo_run(st: Store) -> str:
    """The most recent run with variants named ``baseline`` and ``candidate``."""
    runs = [r for r in st.runs() if sorted(r.spec.variants) == ["baseline", "candidate"]]
    if not runs:
        raise UsageError("no demo run in this store", source=st.root)
    return max(runs, key=lambda r: r.finished or r.created).run_id
