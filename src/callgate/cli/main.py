"""``callgate``: simulate calls, then (in later commands) score, compare, gate and report.

Every user error is one line on stderr and exit code 2; a run interrupted with Ctrl-C keeps every
finished call and resumes when the same command is run again.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from callgate.cli.progress import Bar
from callgate.errors import UsageError

if TYPE_CHECKING:
    from callgate.store.db import Store

app = typer.Typer(
    help=(
        "callgate tells whether a tuned voice agent (the candidate) is really better than the one "
        "in "
        "production (the baseline): it simulates calls with real speech over degraded phone lines, "
        "cohort by cohort, offline and reproducibly.\n\n"
        "Start with `callgate demo`, then `callgate calls` to read what happened."
    ),
    no_args_is_help=True,
    # Markdown mode reflows docstring paragraphs to the terminal width.
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
    add_completion=False,
)
# Wide enough for call tables when output goes to a file or a CI log (rich assumes 80 columns).
_WIDTH = None if sys.stdout.isatty() else 160
err = Console(stderr=True, width=_WIDTH)
out = Console(width=_WIDTH)

StoreOpt = Annotated[
    Path,
    typer.Option(
        "--store", envvar="CALLGATE_STORE", help="Store folder (SQLite + audio).", show_default=True
    ),
]
DEFAULT_STORE = Path("callgate-store")


def _do_run(
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
) -> int:
    from callgate.execution import preflight
    from callgate.execution.runner import RunRequest, execute, plan
    from callgate.scenarios.load import load_suite
    from callgate.store.db import Store
    from callgate.variants.load import load_variants

    if split not in ("dev", "holdout", "all"):
        raise UsageError("must be dev, holdout or all", field="--split")
    if workers is not None and workers < 1:
        raise UsageError("must be at least 1", field="--workers")
    loaded_suite = load_suite(suite)
    loaded_variants = load_variants(variants)
    run_plan = plan(
        RunRequest(loaded_suite, loaded_variants, grid, cohort, scenario, split, repeats, seed)
    )
    preflight.check(loaded_suite, loaded_variants, run_plan)
    store = Store.open(store_dir)  # only now: bad input never creates a store or a run
    n_variants = len(loaded_variants)
    err.print(
        f"run [bold]{run_plan.run_id}[/]: {len(run_plan.jobs)} calls "
        f"({len(run_plan.jobs) // n_variants} per variant x {n_variants} variants), "
        f"suite {loaded_suite.suite.name}, grid {grid}, seed {seed}",
        highlight=False,
    )
    t0 = time.perf_counter()
    with Bar(err, "calls") as progress:

        def on_start(total: int, already: int) -> None:
            if already:
                err.print(f"resuming: {already} calls already stored", highlight=False)
            progress.start(total, already)

        def on_call(_cid: str, failure: str | None) -> None:
            progress.advance()
            if failure:
                err.print(f"[red]call failed:[/] {failure.splitlines()[0]}", highlight=False)

        outcome = execute(
            store, run_plan, executor=executor, workers=workers, on_start=on_start, on_call=on_call
        )
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
        return 130
    if evaluate and not outcome.failed:
        code = _do_evaluate(store, run_plan.run_id, workers, executor)
        if code:
            return code
    if outcome.failed:
        first = next(iter(outcome.failed.values()))
        err.print(
            f"{len(outcome.failed)} calls failed; first error:\n{first}",
            highlight=False,
            markup=False,
        )
        return 1
    return 0


@app.command()
def run(
    variant: Annotated[
        list[str],
        typer.Option(
            "--variant",
            "-v",
            help="Variant file or bundled name; repeat per variant: -v baseline -v candidate.",
        ),
    ],
    suite: Annotated[
        str, typer.Option(help="Suite file, folder or bundled suite name.")
    ] = "banking",
    grid: Annotated[
        str, typer.Option(help="Named cohort grid of the suite (e.g. default, full).")
    ] = "default",
    cohort: Annotated[
        list[str],
        typer.Option(
            "--cohort",
            "-c",
            help="Only cohorts with tag=value[,value] (repeatable, ANDed): -c accent=scottish.",
        ),
    ] = [],  # noqa: B006
    scenario: Annotated[
        list[str], typer.Option("--scenario", "-s", help="Only these scenario ids (repeatable).")
    ] = [],  # noqa: B006
    split: Annotated[str, typer.Option(help="dev, holdout or all.")] = "all",
    repeats: Annotated[
        int, typer.Option(help="Calls per scenario and cohort (different seeds).")
    ] = 1,
    seed: Annotated[
        int, typer.Option(help="Run seed: same seed and inputs give identical traces.")
    ] = 0,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: one per core).")
    ] = None,
    executor: Annotated[str, typer.Option(help="local (process pool) or inline.")] = "local",
    evaluate: Annotated[
        bool, typer.Option("--evaluate/--no-evaluate", help="Score the calls when done.")
    ] = True,
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """Simulate every (scenario, cohort, variant, repeat) call of a suite and store the traces.

    The run id is derived from the inputs: running the same command again resumes the run and
    stores each missing call exactly once.

    Example: callgate run -v baseline -v candidate --grid default -c channel=phone
    """
    raise typer.Exit(
        _do_run(
            store,
            suite,
            variant,
            grid,
            cohort,
            scenario,
            split,
            repeats,
            seed,
            workers,
            executor,
            evaluate,
        )
    )


@app.command()
def demo(
    grid: Annotated[
        str, typer.Option(help="default (minutes on 2 cores) or full (every cohort).")
    ] = "default",
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: one per core).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Run seed.")] = 0,
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """Run the bundled banking suite for the bundled baseline and candidate agents, score every
    call, gate the candidate against the baseline (default policy) and write the HTML report.

    The gate's decision is shown, not enforced: the demo exits 0 whether it says PROMOTE or BLOCK.
    """
    t0 = time.perf_counter()
    code = _do_run(
        store, "banking", ["baseline", "candidate"], grid, [], [], "all", 1, seed, workers, "local"
    )
    if code == 0:
        _demo_decision(store)
    out.print(
        f"demo finished in {time.perf_counter() - t0:.1f} s. Next: callgate calls --store {store}; "
        f"callgate serve --store {store}",
        highlight=False,
    )
    raise SystemExit(code)


def _demo_decision(store_dir: Path) -> None:
    from callgate.comparison.sides import load_side
    from callgate.gate.engine import run_gate
    from callgate.gate.outputs import write_outputs
    from callgate.gate.policy import load_policy
    from callgate.gate.report import build_report
    from callgate.report.gate import load_gate
    from callgate.report.page import write_report
    from callgate.store.db import Store

    st = Store.open(store_dir, create=False)
    run_id = _latest_demo_run(st)
    base = load_side(f"{run_id}:baseline", store_dir)
    cand = load_side(f"{run_id}:candidate", store_dir)
    plan, decision = run_gate(load_policy("default"), base, cand, seed=0, resamples=2000)
    report = build_report(plan, decision, base, cand, seed=0, resamples=2000)
    folder = store_dir / "demo"
    write_outputs(report, folder / "gate")
    out.print(f"gate (default policy): [bold]{report.decision}[/]", highlight=False)
    for reason in report.reasons:
        out.print(f"  - {reason.message}", highlight=False, markup=False)
    html = write_report(st, run_id, folder / "report.html", load_gate(folder / "gate"))
    out.print(f"report: {html.html.resolve()} (gate files in {folder / 'gate'})", highlight=False)


def _latest_demo_run(st: Store) -> str:
    """The most recent run of the bundled suite with both bundled variants."""
    runs = [r for r in st.runs() if sorted(r.spec.get("variants", {})) == ["baseline", "candidate"]]
    if not runs:
        raise UsageError("no demo run in this store", source=st.root)
    return max(runs, key=lambda r: r.finished or r.created).run_id


@app.command()
def runs(store: StoreOpt = DEFAULT_STORE) -> None:
    """List the runs in the store."""
    from rich.table import Table

    from callgate.store.db import Store

    st = Store.open(store, create=False)
    table = Table()
    for col in ("run", "suite", "variants", "grid", "seed", "stored", "state", "wall s"):
        table.add_column(col)
    for r in st.runs():
        state = "complete" if r.finished else "partial"
        table.add_row(
            r.run_id,
            r.spec["suite"],
            ",".join(r.spec["variants"]),
            r.spec["grid"],
            str(r.spec["seed"]),
            f"{r.stored}/{r.planned}",
            state,
            f"{r.wall_s:.1f}",
        )
    out.print(table)


@app.command()
def calls(
    call_id: Annotated[
        str | None, typer.Argument(help="A call id (or prefix) to show in full.")
    ] = None,
    run_id: Annotated[
        str | None, typer.Option("--run", help="Run id or prefix (default: latest).")
    ] = None,
    variant: Annotated[str | None, typer.Option(help="Only this variant.")] = None,
    scenario: Annotated[str | None, typer.Option(help="Only this scenario id.")] = None,
    timeline: Annotated[
        bool, typer.Option(help="With a call id: print every event on the virtual clock.")
    ] = False,
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """List a run's calls, or show one call's trace: what the caller said, what the agent heard,
    decided, called and said, on the virtual clock."""
    from callgate.cli.show import calls_table, print_call, print_timeline
    from callgate.store.db import Store

    st = Store.open(store, create=False)
    row = st.run(run_id) if run_id else st.latest_run()
    if call_id:
        trace = st.call(row.run_id, call_id)
        print_call(out, trace)
        if timeline:
            print_timeline(out, trace)
        return
    traces = [t for t in st.calls(row.run_id, variant) if scenario in (None, t.scenario_id)]
    out.print(calls_table(traces))
    out.print(f"{len(traces)} calls in run {row.run_id}", highlight=False)


def _do_evaluate(store: Store, run_id: str, workers: int | None, executor: str) -> int:
    from callgate.evaluators.suite import DEFAULT_EVALUATORS
    from callgate.execution.scoring import score_run
    from callgate.results.summary import print_summary

    with Bar(err, "scoring") as progress:

        def on_start(total: int, already: int) -> None:
            progress.start(total, already)

        outcome = score_run(
            store,
            run_id,
            DEFAULT_EVALUATORS,
            executor=executor,
            workers=workers,
            on_start=on_start,
            on_call=progress.advance,
        )
    if outcome.failed:
        first = next(iter(outcome.failed.items()))
        err.print(
            f"{len(outcome.failed)} calls could not be scored; first: {first[0]}: {first[1]}",
            highlight=False,
            markup=False,
        )
        return 1
    print_summary(out, store, run_id)
    return 0


@app.command()
def evaluate(
    run_id: Annotated[
        str | None, typer.Argument(help="Run id or prefix (default: latest).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: one per core).")
    ] = None,
    executor: Annotated[str, typer.Option(help="local (process pool) or inline.")] = "local",
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """Score every call of a run with the default evaluators (also done at the end of `run`).

    Scores are stored with the evaluator names and parameters; re-running only fills in what is
    missing. Prints a per-variant summary; `callgate export` writes the full table.
    """
    from callgate.store.db import Store

    st = Store.open(store, create=False)
    row = st.run(run_id) if run_id else st.latest_run()
    raise typer.Exit(_do_evaluate(st, row.run_id, workers, executor))


@app.command()
def export(
    run_id: Annotated[
        str | None, typer.Argument(help="Run id or prefix (default: latest).")
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", "-f", help="csv, parquet or jsonl (default: from -o, else csv)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write (default: results-RUN.FORMAT)."),
    ] = None,
    turns: Annotated[bool, typer.Option(help="Export the per-turn table instead.")] = False,
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """Write the results table of a scored run: one row per call (or per turn with --turns).

    Columns and dtypes are documented in docs/results.md.
    """
    from callgate.results.export import FORMATS, write_table
    from callgate.results.table import call_rows, turn_rows
    from callgate.store.db import Store

    suffix = output.suffix.lstrip(".").lower() if output is not None else ""
    if fmt is None:
        fmt = suffix if suffix in FORMATS else "csv"
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r} (csv, parquet or jsonl)", field="--format")
    if suffix in FORMATS and suffix != fmt:
        raise UsageError(f"--output ends in .{suffix} but --format is {fmt}", field="--output")
    st = Store.open(store, create=False)
    row = st.run(run_id) if run_id else st.latest_run()
    if not st.scores(row.run_id):
        raise UsageError(f"run {row.run_id} is not scored yet (run `callgate evaluate`)")
    rows, columns = (turn_rows if turns else call_rows)(st, row.run_id)
    kind = "turns" if turns else "calls"
    path = output or Path(f"results-{row.run_id}{'-turns' if turns else ''}.{fmt}")
    write_table(rows, columns, path, fmt)
    out.print(f"wrote {len(rows)} {kind} x {len(columns)} columns to {path}", highlight=False)


def _register_more() -> None:
    from callgate.cli.compare_cmds import register

    register(app)
    from callgate.cli import inspect_cmds

    inspect_cmds.register(app)


_register_more()


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        code = app(standalone_mode=False)
        # Without standalone mode click returns (not raises) the code of a typer.Exit.
        sys.exit(code if isinstance(code, int) else 0)
    except UsageError as exc:
        # Plain write, not rich: an error line must never be wrapped, whatever the terminal width.
        print(f"callgate: error: {exc.one_line()}", file=sys.stderr)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # click usage errors carry their own exit code
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise


if __name__ == "__main__":
    main()
